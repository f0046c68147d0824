"""score_cell: every key written, n/a where a metric cannot apply, the grid cache, resume and force, streams."""

import json
import pickle
import shutil
from dataclasses import replace

import numpy as np
import pytest

from fake_data import NoisySquares, Squares
from vaebench.data.base import ArrayDataset
from vaebench.errors import VaebenchError
from vaebench.results.files import read_json, save_keras, write_json
from vaebench.results.layout import METRICS_FILE, PARAMS_FILE
from vaebench.results.records import read_metrics, write_metrics
from vaebench.metrics import (DEFAULT_SETTINGS, FAST_SETTINGS, METRICS, NO_CLASSIFIER, NO_FACTORS, NOT_TWO_VIEW, SCORES, metric_names,
                              resolve_settings, score_cell)
from vaebench.metrics import scoring
from vaebench.metrics.sampling import CodeLookup, padded_size, predict
from vaebench.models import get_model_class
from vaebench.models.networks import conv_decoder, conv_encoder

ALL_KEYS = {key for metric in METRICS.values() for key in metric.keys}


def _cell(tmp_path, gaussian=True, latent_dim=3, collapsed=False):
    encoder = conv_encoder((16, 16, 1), latent_dim, gaussian=gaussian)
    if collapsed:  # every code the same: a dead representation
        encoder.set_weights([np.zeros_like(w) for w in encoder.get_weights()])
    save_keras(encoder, tmp_path / "encoder.keras")
    save_keras(conv_decoder((16, 16, 1), latent_dim), tmp_path / "decoder.keras")
    model = "vae" if gaussian else "ae"
    write_json(tmp_path / PARAMS_FILE, {"name": f"squares/{model}/conv/z{latent_dim}/s0", "model": model, "status": "done",
                                                   "card": get_model_class(model).card(model, {}).to_json()})
    return tmp_path


def test_every_key_for_a_factor_dataset(tmp_path):
    record = score_cell(_cell(tmp_path), Squares(), FAST_SETTINGS)
    assert set(record.scores) == ALL_KEYS
    not_applicable = {"classifier_accuracy": NO_CLASSIFIER, "cross_recon_a_from_b": NOT_TWO_VIEW, "cross_recon_b_from_a": NOT_TWO_VIEW}
    for key, value in record.scores.items():
        if key in not_applicable:  # a plain VAE has no classifier branch and no second view
            assert value == not_applicable[key]
        else:
            assert isinstance(value, (int, float)) and np.isfinite(value), key
    assert record.scores["iwae_log_px"] >= record.scores["elbo"] - 1.0
    assert record.settings["dci"] == {key: FAST_SETTINGS[key] for key in ("dci_num_train", "dci_num_test", "dci_trees", "seed")}
    assert set(record.seconds) == set(metric_names())
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"scores": record.scores, "settings": record.settings,
                                                                   "seconds": record.seconds, "matrices": record.matrices}


def test_mig_and_dci_keep_their_latents_by_factors_matrices(tmp_path):
    dataset = Squares()
    record = score_cell(_cell(tmp_path), dataset, FAST_SETTINGS)
    assert set(record.matrices) == {name for name, metric in METRICS.items() if metric.matrix}
    for name, matrix in record.matrices.items():
        assert matrix["label"] == METRICS[name].matrix
        assert matrix["rows"] == ["z0", "z1", "z2"] and matrix["columns"] == list(dataset.factor_names)
        values = np.array(matrix["values"])
        assert values.shape == (3, len(dataset.factor_names)) and (values >= 0).all() and (values <= 1 + 1e-9).all()
    np.testing.assert_allclose(np.array(record.matrices["dci"]["values"]).sum(axis=0), 1.0, atol=1e-4)
    # rescoring one metric replaces its matrix and keeps the other's
    again = score_cell(tmp_path, dataset, FAST_SETTINGS, metrics=["mig"], force=True)
    assert again.matrices == record.matrices


def test_rescoring_keeps_the_fingerprint_of_the_data_scored(tmp_path):
    """A cell scored on changed data records that data's fingerprint; scoring a metric again must keep it, or the
    next run compares the data with the training data's fingerprint and refuses the data the cell was scored on."""
    cell = _cell(tmp_path)
    score_cell(cell, Squares(), FAST_SETTINGS, metrics=["mig"])
    write_metrics(cell, replace(read_metrics(cell), data="fingerprint of the data scored"))
    score_cell(cell, Squares(), FAST_SETTINGS, metrics=["mig"], force=True)
    assert read_metrics(cell).data == "fingerprint of the data scored"


def test_a_dataset_without_factors_gets_explicit_na(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 16, 16, 1)).astype(np.float32)
    digits_like = ArrayDataset("digits", (images, rng.integers(0, 3, 40)), (images, rng.integers(0, 3, 40)), 3)
    scores = score_cell(_cell(tmp_path), digits_like, FAST_SETTINGS).scores
    for name, metric in METRICS.items():
        for key in metric.keys:
            if metric.needs == "factors":
                assert scores[key] == NO_FACTORS, key
            elif key in ("classifier_accuracy", "cross_recon_a_from_b", "cross_recon_b_from_a"):
                assert scores[key].startswith("n/a: "), key
            else:
                assert isinstance(scores[key], (int, float)), key


def test_a_deterministic_encoder_gets_na_for_the_elbo(tmp_path):
    scores = score_cell(_cell(tmp_path, gaussian=False), Squares(), FAST_SETTINGS).scores
    assert scores["elbo"] == scores["iwae_log_px"] == "n/a: deterministic encoder"
    assert isinstance(scores["recon_bce"], float) and isinstance(scores["mig"], float)


def test_scoring_resumes_and_force_recomputes(tmp_path):
    _cell(tmp_path)
    first = score_cell(tmp_path, Squares(), FAST_SETTINGS, metrics=["mig", "reconstruction"])
    assert set(first.seconds) == {"mig", "reconstruction"}
    again = score_cell(tmp_path, Squares(), FAST_SETTINGS)
    assert again.seconds["mig"] == first.seconds["mig"]  # not recomputed
    assert set(again.seconds) == set(metric_names())
    forced = score_cell(tmp_path, Squares(), FAST_SETTINGS, metrics=["mig"], force=True)
    assert forced.scores["mig"] == pytest.approx(first.scores["mig"])  # same seed, same value


def test_an_unknown_metric_is_refused_before_anything_is_written(tmp_path):
    _cell(tmp_path)
    with pytest.raises(VaebenchError, match="unknown metric 'fid'; accepted: reconstruction"):
        score_cell(tmp_path, Squares(), FAST_SETTINGS, metrics=["fid"])
    assert not (tmp_path / "metrics.json").exists()


def test_the_cache_encodes_each_grid_point_at_most_once(tmp_path):
    import keras

    encoder = conv_encoder((16, 16, 1), 2)
    dataset = Squares()
    lookup = CodeLookup(dataset, encoder, reads_labels=False)
    factors = dataset.sample_factors(500, np.random.default_rng(1)).reshape(5, 100, 2)
    codes = lookup(factors, np.random.default_rng(0))
    assert codes.shape == (5, 100, 2) and lookup.encoded == len(np.unique(dataset.grid_index(factors.reshape(-1, 2))))
    assert lookup.encoded <= dataset.grid_size
    again = lookup(dataset.sample_factors(300, np.random.default_rng(2)), np.random.default_rng(0))
    assert lookup.encoded <= dataset.grid_size and again.shape == (300, 2)
    direct = keras.ops.convert_to_numpy(encoder(dataset.render(factors[0]))[0])
    np.testing.assert_allclose(codes[0], direct, rtol=1e-5, atol=1e-5)



def test_predict_pads_to_a_few_batch_sizes_and_returns_exactly_the_rows_asked_for():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(1)(inputs)])
    rows = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    expected = [np.asarray(o) for o in model(rows)]
    for n in (1, 31, 33, 300):
        got = predict(model, rows[:n], batch_size=128)
        assert [g.shape for g in got] == [(n, 2), (n, 1)]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e[:n], rtol=1e-5, atol=1e-6)
    assert [padded_size(n, 128) for n in (1, 32, 33, 64, 65, 128)] == [32, 32, 64, 64, 128, 128]
    assert padded_size(20, 16) == 16  # never above the batch size

def test_defaults_are_the_published_settings():
    assert DEFAULT_SETTINGS["num_train"] == 10_000 and DEFAULT_SETTINGS["num_test"] == 5_000
    assert DEFAULT_SETTINGS["beta_vae_points_train"] == 10_000 and DEFAULT_SETTINGS["factor_vae_votes_eval"] == 5_000
    assert DEFAULT_SETTINGS["bins"] == 20 and DEFAULT_SETTINGS["batch_size"] == 64 and DEFAULT_SETTINGS["iwae_samples"] == 100
    assert DEFAULT_SETTINGS["dci_trees"] == 100


def test_one_metric_at_a_time_or_in_any_order_gives_the_same_scores(tmp_path):
    """On a dataset whose rendering is random, scores do not depend on which metrics ran before (a resumed kill)."""
    names = ["reconstruction", "elbo", "mig", "beta_vae", "factor_vae", "dci", "sap"]  # those drawing random samples
    cell = _cell(tmp_path / "cell")
    together, one_by_one, reversed_order = (shutil.copytree(cell, tmp_path / copy) for copy in ("a", "b", "c"))
    together = score_cell(together, NoisySquares(), FAST_SETTINGS, metrics=names).scores
    for name in names:  # a fresh score_cell per metric, as after a kill between metrics
        score_cell(one_by_one, NoisySquares(), FAST_SETTINGS, metrics=[name])
    reversed_order = score_cell(reversed_order, NoisySquares(), FAST_SETTINGS, metrics=names[::-1]).scores
    assert read_json(one_by_one / METRICS_FILE)["scores"] == together
    assert reversed_order == together


def test_every_score_a_metric_writes_is_declared_in_the_spec(tmp_path, monkeypatch):
    assert set(scoring.COMPUTE) == set(METRICS)
    written = score_cell(_cell(tmp_path), Squares(), FAST_SETTINGS).scores
    assert set(written) == set(SCORES)
    for score in SCORES.values():
        assert score.label and score.higher_is_better in (True, False, None), score.key
    monkeypatch.setitem(scoring.COMPUTE, "sap", lambda ctx: {"sap_score": 0.5})
    with pytest.raises(RuntimeError, match="metric sap computed .'sap_score'.*declares .'sap'"):
        score_cell(tmp_path, Squares(), FAST_SETTINGS, metrics=["sap"], force=True)


def test_a_non_finite_score_is_stored_as_na_and_scoring_goes_on(tmp_path, monkeypatch):
    monkeypatch.setitem(scoring.COMPUTE, "mig", lambda ctx: {"mig": float("inf")})
    record = score_cell(_cell(tmp_path), Squares(), FAST_SETTINGS, metrics=["mig", "sap"])
    assert record.scores["mig"] == "n/a: not finite (inf)"
    assert isinstance(record.scores["sap"], float)
    assert read_metrics(tmp_path) == record


def test_a_collapsed_encoder_is_scored_without_stopping(tmp_path):
    record = score_cell(_cell(tmp_path, collapsed=True), Squares(), FAST_SETTINGS)
    scores = record.scores
    assert scores["gaussian_tc"].startswith("n/a: not finite (inf): singular covariance of the codes")
    assert scores["active_units"] == 0
    assert scores["dci_disentanglement"] < 1e-9 and scores["dci_completeness"] < 1e-9
    assert scores["modularity"] == 0.0 and scores["mig"] == 0.0
    assert set(record.seconds) == set(metric_names())


class OneRow(Squares):
    """Squares whose y factor never varies."""

    factor_sizes = (4, 1)


def test_a_metric_refusing_its_input_is_stored_as_na(tmp_path):
    scores = score_cell(_cell(tmp_path), OneRow(), FAST_SETTINGS, metrics=["mig", "dci", "reconstruction"]).scores
    assert scores["mig"] == "n/a: factor 1 has a single value; every factor must vary"
    assert scores["dci_disentanglement"] == scores["dci_informativeness_test"] == scores["mig"]
    assert isinstance(scores["recon_bce"], float)


def test_resolve_settings_names_what_is_wrong():
    with pytest.raises(VaebenchError, match="unknown metric setting 'num_trian'; accepted: num_train, num_test"):
        resolve_settings({"num_trian": 100})
    with pytest.raises(VaebenchError, match="bad metric setting num_train = 0: expected an integer ≥ 1"):
        resolve_settings({"num_train": 0})
    with pytest.raises(VaebenchError, match="bad metric setting bins = 2.5"):
        resolve_settings({"bins": 2.5})
    assert resolve_settings({"seed": 0, "num_train": 7}) == {**DEFAULT_SETTINGS, "num_train": 7}
    assert resolve_settings({"counts": "fast", "num_train": 7}) == {**FAST_SETTINGS, "num_train": 7}
    assert resolve_settings({"counts": "standard"}) == DEFAULT_SETTINGS
    with pytest.raises(VaebenchError, match="bad metric counts = 'quick': expected one of 'standard', 'fast'"):
        resolve_settings({"counts": "quick"})


def test_fast_settings_are_valid_and_never_above_the_standard_ones():
    from vaebench.metrics import SETTINGS, resolve_settings

    assert resolve_settings(FAST_SETTINGS) == FAST_SETTINGS
    assert all(FAST_SETTINGS[name] <= setting.default for name, setting in SETTINGS.items())
    assert FAST_SETTINGS["seed"] == DEFAULT_SETTINGS["seed"] and FAST_SETTINGS["heldout"] < DEFAULT_SETTINGS["heldout"]


def test_resolved_settings_are_immutable_and_a_metric_reads_only_the_ones_its_spec_declares():
    settings = resolve_settings({"num_train": 7})
    with pytest.raises(TypeError):
        settings["num_train"] = 8
    mig = settings.for_metric("mig")
    assert dict(mig) == settings.recorded("mig") == {"num_train": 7, "bins": 20, "seed": 0}
    # metrics.json lists a metric's settings in its spec's order, as it always did
    assert list(settings.recorded("beta_vae")) == ["beta_vae_points_train", "beta_vae_points_eval", "batch_size", "seed"]
    with pytest.raises(KeyError, match="metric mig read the setting 'num_test', which its spec does not declare"):
        mig["num_test"]
    assert pickle.loads(pickle.dumps(settings)) == settings and hash(settings) == hash(resolve_settings({"num_train": 7}))


def test_a_metric_reading_a_setting_its_spec_does_not_declare_fails(tmp_path, monkeypatch):
    """metrics.json records a metric's declared settings as its protocol; a metric must depend on nothing else."""
    def mig_reading_dci_trees(ctx):
        return {"mig": float(ctx.settings["dci_trees"])}

    monkeypatch.setitem(scoring.COMPUTE, "mig", mig_reading_dci_trees)
    with pytest.raises(KeyError, match="metric mig read the setting 'dci_trees', which its spec does not declare"):
        score_cell(_cell(tmp_path), Squares(), FAST_SETTINGS, metrics=["mig"])


def test_the_spec_loads_without_keras():
    import subprocess
    import sys

    code = ("import sys, vaebench.cli; from vaebench.metrics import resolve_settings, DEFAULT_SETTINGS, METRICS; "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'keras was imported'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
