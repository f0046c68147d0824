"""score_cell: every key written, n/a where a metric cannot apply, the grid cache, resume and force."""

import json

import numpy as np
import pytest

from fake_data import Squares
from vaebench import store
from vaebench.data.base import ArrayDataset
from vaebench.errors import VaebenchError
from vaebench.metrics import DEFAULT_SETTINGS, METRICS, NO_CLASSIFIER, NO_FACTORS, NOT_TWO_VIEW, metric_names, score_cell
from vaebench.metrics.sampling import CodeLookup
from vaebench.models.networks import conv_decoder, conv_encoder

SMALL = {"num_train": 200, "num_test": 100, "dci_num_train": 200, "dci_num_test": 100, "dci_trees": 5,
         "beta_vae_points_train": 60, "beta_vae_points_eval": 30, "factor_vae_variance_samples": 200,
         "factor_vae_votes_train": 60, "factor_vae_votes_eval": 30, "heldout": 64, "iwae_samples": 4}
ALL_KEYS = {key for metric in METRICS.values() for key in metric.keys}


def _cell(tmp_path, gaussian=True, latent_dim=3):
    store.save_keras(conv_encoder((16, 16, 1), latent_dim, gaussian=gaussian), tmp_path / "encoder.keras")
    store.save_keras(conv_decoder((16, 16, 1), latent_dim), tmp_path / "decoder.keras")
    return tmp_path


def test_every_key_for_a_factor_dataset(tmp_path):
    record = score_cell(_cell(tmp_path), Squares(), SMALL)
    assert set(record["scores"]) == ALL_KEYS
    not_applicable = {"classifier_accuracy": NO_CLASSIFIER, "cross_recon_a_from_b": NOT_TWO_VIEW, "cross_recon_b_from_a": NOT_TWO_VIEW}
    for key, value in record["scores"].items():
        if key in not_applicable:  # a plain VAE has no classifier branch and no second view
            assert value == not_applicable[key]
        else:
            assert isinstance(value, (int, float)) and np.isfinite(value), key
    assert record["scores"]["iwae_log_px"] >= record["scores"]["elbo"] - 1.0
    assert record["settings"]["dci"] == {"dci_num_train": 200, "dci_num_test": 100, "dci_trees": 5, "seed": 0}
    assert set(record["seconds"]) == set(metric_names())
    assert json.loads((tmp_path / "metrics.json").read_text()) == record


def test_a_dataset_without_factors_gets_explicit_na(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 16, 16, 1)).astype(np.float32)
    digits_like = ArrayDataset("digits", (images, rng.integers(0, 3, 40)), (images, rng.integers(0, 3, 40)), 3)
    scores = score_cell(_cell(tmp_path), digits_like, SMALL)["scores"]
    for name, metric in METRICS.items():
        for key in metric.keys:
            if metric.needs == "factors":
                assert scores[key] == NO_FACTORS, key
            elif key in ("classifier_accuracy", "cross_recon_a_from_b", "cross_recon_b_from_a"):
                assert scores[key].startswith("n/a: "), key
            else:
                assert isinstance(scores[key], (int, float)), key


def test_a_deterministic_encoder_gets_na_for_the_elbo(tmp_path):
    scores = score_cell(_cell(tmp_path, gaussian=False), Squares(), SMALL)["scores"]
    assert scores["elbo"] == scores["iwae_log_px"] == "n/a: deterministic encoder"
    assert isinstance(scores["recon_bce"], float) and isinstance(scores["mig"], float)


def test_scoring_resumes_and_force_recomputes(tmp_path):
    _cell(tmp_path)
    first = score_cell(tmp_path, Squares(), SMALL, metrics=["mig", "reconstruction"])
    assert set(first["seconds"]) == {"mig", "reconstruction"}
    again = score_cell(tmp_path, Squares(), SMALL)
    assert again["seconds"]["mig"] == first["seconds"]["mig"]  # not recomputed
    assert set(again["seconds"]) == set(metric_names())
    forced = score_cell(tmp_path, Squares(), SMALL, metrics=["mig"], force=True)
    assert forced["scores"]["mig"] == pytest.approx(first["scores"]["mig"])  # same seed, same value


def test_unknown_metric_and_bad_settings(tmp_path):
    _cell(tmp_path)
    with pytest.raises(VaebenchError, match="unknown metric 'fid'; accepted: reconstruction"):
        score_cell(tmp_path, Squares(), SMALL, metrics=["fid"])
    with pytest.raises(VaebenchError, match="unknown metric setting 'samples'"):
        score_cell(tmp_path, Squares(), {"samples": 3})
    with pytest.raises(VaebenchError, match="bad metric setting num_train = 0"):
        score_cell(tmp_path, Squares(), {"num_train": 0})
    assert not (tmp_path / "metrics.json").exists()


def test_the_cache_encodes_each_grid_point_at_most_once(tmp_path):
    import keras

    encoder = conv_encoder((16, 16, 1), 2)
    dataset = Squares()
    lookup = CodeLookup(dataset, encoder, np.random.default_rng(0))
    factors = dataset.sample_factors(500, np.random.default_rng(1)).reshape(5, 100, 2)
    codes = lookup(factors)
    assert codes.shape == (5, 100, 2) and lookup.encoded == len(np.unique(dataset.grid_index(factors.reshape(-1, 2))))
    assert lookup.encoded <= dataset.grid_size
    again = lookup(dataset.sample_factors(300, np.random.default_rng(2)))
    assert lookup.encoded <= dataset.grid_size and again.shape == (300, 2)
    direct = keras.ops.convert_to_numpy(encoder(dataset.render(factors[0]))[0])
    np.testing.assert_allclose(codes[0], direct, rtol=1e-5, atol=1e-5)


def test_defaults_are_the_published_settings():
    assert DEFAULT_SETTINGS["num_train"] == 10_000 and DEFAULT_SETTINGS["num_test"] == 5_000
    assert DEFAULT_SETTINGS["beta_vae_points_train"] == 10_000 and DEFAULT_SETTINGS["factor_vae_votes_eval"] == 5_000
    assert DEFAULT_SETTINGS["bins"] == 20 and DEFAULT_SETTINGS["batch_size"] == 64 and DEFAULT_SETTINGS["iwae_samples"] == 100
    assert DEFAULT_SETTINGS["dci_trees"] == 100
