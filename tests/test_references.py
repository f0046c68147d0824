"""Calibration rows: chance levels, known answers of each representation, storage, resume, the Keras-free reader, merge."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import run_vaebench, write_preset
from test_reliability import results_digest
from vaebench import load_experiments, load_references
from vaebench.data import get_dataset
from vaebench.data.base import FactorDataset
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, load_preset
from vaebench.metrics.published import PUBLISHED
from vaebench.metrics.spec import FAST_SETTINGS, METRICS, SCORES, chance_level, resolve_settings
from vaebench.results.files import write_json
from vaebench.results.layout import METRICS_FILE, REFERENCES_DIR, is_cell_name, reference_name
from vaebench.results.lock import remove_leftovers
from vaebench.results.records import read_metrics, record_cells, write_metrics

#: more samples than the fast counts where a test bounds an estimator's value, still seconds per row
BOUNDED = resolve_settings({**FAST_SETTINGS, "num_train": 1000, "num_test": 500, "beta_vae_points_train": 200,
                            "beta_vae_points_eval": 200, "factor_vae_variance_samples": 1000, "factor_vae_votes_train": 200,
                            "factor_vae_votes_eval": 200, "dci_num_train": 300, "dci_num_test": 150, "dci_trees": 5})


def _cell(dataset: str, image_size=None, family="conv", latent_dim=2, seed=0) -> Cell:
    return Cell(dataset, image_size, "vae", (), family, latent_dim, seed, 30, 32, 1e-3, 10)


class Ramps(FactorDataset):
    """16×16 images whose left half is a/7 and right half 0.4·b/7: every pixel linear in one of two factors."""

    name = "ramps"
    shape = (16, 16, 1)
    factor_names = ("a", "b")
    factor_sizes = (8, 8)

    def render(self, factors, rng=None):
        images = np.zeros((len(factors), 16, 16, 1), np.float32)
        images[:, :, :8] = (factors[:, 0] / 7)[:, None, None, None]
        images[:, :, 8:] = (0.4 * factors[:, 1] / 7)[:, None, None, None]
        return images


class Coins(FactorDataset):
    """16×16 images of independent fair-coin pixels (one dummy factor): any model's NLL is at least 256·ln 2."""

    name = "coins"
    shape = (16, 16, 1)
    factor_names = ("dummy",)
    factor_sizes = (2,)
    deterministic = False

    def render(self, factors, rng=None):
        return (rng.random((len(factors), 16, 16, 1)) < 0.5).astype(np.float32)


def test_chance_level_is_one_over_the_number_of_dsprites_factors():
    dsprites = get_dataset("dsprites", 32)
    assert len(dsprites.factor_sizes) == 5
    named = {key for key, score in SCORES.items() if score.names_factor}
    assert named == {"beta_vae_train", "beta_vae_eval", "factor_vae_train", "factor_vae_eval"}
    for key in SCORES:
        assert chance_level(key, 5) == (0.2 if key in named else None)


def test_chance_row_is_stored_from_the_spec(tmp_path):
    from vaebench.run.references import Row, score_row

    assert score_row(Row("chance", _cell("dsprites", 32)), get_dataset("dsprites", 32), tmp_path) is True
    frame = load_references(tmp_path)
    assert set(frame["reference"]) == {"chance"} and set(frame["dataset"]) == {"dsprites32"}
    assert dict(zip(frame["metric"], frame["value"])) == {key: 0.2 for key, s in SCORES.items() if s.names_factor}
    assert score_row(Row("chance", _cell("dsprites", 32)), get_dataset("dsprites", 32), tmp_path) is False


def test_random_code_scores_chance_and_no_information(tmp_path):
    from vaebench.run.references import Row, score_row

    dataset = get_dataset("dsprites", 32)
    assert score_row(Row("random", _cell("dsprites", 32, latent_dim=4)), dataset, tmp_path, BOUNDED)
    scores = load_references(tmp_path).set_index("metric")["value"]
    assert set(scores.index) == {key for name in ("mig", "beta_vae", "factor_vae", "dci", "sap", "modularity")
                                 for key in METRICS[name].keys}
    chance = 1 / len(dataset.factor_sizes)
    assert abs(scores["beta_vae_eval"] - chance) < 0.15
    assert abs(scores["factor_vae_eval"] - chance) < 0.15
    assert scores["mig"] < 0.05 and scores["sap"] < 0.05 and scores["dci_disentanglement"] < 0.2
    assert scores["factor_vae_active"] == 4  # N(0, I) codes: every latent active


def test_random_code_is_a_function_of_the_observation_and_of_nothing_else():
    from vaebench.run.references import REPRESENTATIONS, Row

    dataset = get_dataset("dsprites", 32)
    encoder, _, _ = REPRESENTATIONS["random"](Row("random", _cell("dsprites", 32, latent_dim=3)), dataset, {"seed": 0})
    images = dataset.render(dataset.sample_factors(50, np.random.default_rng(0)))
    codes = encoder.predict_on_batch(images)
    assert codes.shape == (50, 3)
    np.testing.assert_array_equal(encoder.predict_on_batch(images[::-1]), codes[::-1])
    assert abs(codes.mean()) < 0.5 and 0.5 < codes.std() < 1.5
    other, _, _ = REPRESENTATIONS["random"](Row("random", _cell("dsprites", 32, latent_dim=3, seed=1)), dataset, {"seed": 0})
    assert not np.allclose(other.predict_on_batch(images), codes)  # another seed, another code


def test_pca_of_pixels_linear_in_the_factors_disentangles_them_and_random_codes_do_not(tmp_path):
    from vaebench.run.references import Row, score_row

    dataset = Ramps()
    for kind in ("pca", "random"):
        assert score_row(Row(kind, _cell("ramps", family="mlp")), dataset, tmp_path, BOUNDED)
    frame = load_references(tmp_path)
    pca = frame[frame["reference"] == "pca"].set_index("metric")["value"]
    noise = frame[frame["reference"] == "random"].set_index("metric")["value"]
    assert pca["dci_disentanglement"] > 0.8 and pca["dci_completeness"] > 0.8 and pca["mig"] > 0.8
    assert pca["beta_vae_eval"] > 0.9
    assert noise["dci_disentanglement"] < 0.3 and noise["mig"] < 0.1


def test_mean_image_of_fair_coin_pixels_costs_ln2_per_pixel(tmp_path):
    from vaebench.run.references import Row, score_row

    assert score_row(Row("mean_image", _cell("coins", family="mlp")), Coins(), tmp_path, BOUNDED)
    scores = load_references(tmp_path).set_index("metric")["value"]
    assert set(scores.index) == {"recon_bce", "recon_mse"}
    assert scores["recon_bce"] == pytest.approx(256 * math.log(2), rel=0.02)
    assert scores["recon_mse"] == pytest.approx(0.25, rel=0.02)


def test_rows_are_stored_reloaded_resumed_and_not_recomputed(tmp_path):
    from vaebench.run.plan import make_plan
    from vaebench.run.references import ROW_METRICS, compute_references

    preset = load_preset(str(write_preset(tmp_path / "grid.toml")))
    results = tmp_path / "results"
    assert compute_references(make_plan(preset), results) == 5
    frame = load_references(results)
    assert sorted(set(frame["reference"])) == ["chance", "mean_image", "pca", "random", "untrained"]
    for (reference, family, latent_dim, seed), rows in frame.groupby(["reference", "family", "latent_dim", "seed"],
                                                                      dropna=False):
        if reference in ROW_METRICS:
            assert set(rows["metric"]) == {key for name in ROW_METRICS[reference] for key in METRICS[name].keys}
        assert (family == "conv") == (reference == "untrained")
        if reference in ("pca", "random", "untrained"):
            assert (latent_dim, seed) == (2, 0)
        else:
            assert pd.isna(latent_dim) and pd.isna(seed)
    untrained = read_metrics(results / reference_name("dsprites32", "untrained", "conv", 2, 0))
    row = frame[frame["reference"] == "untrained"].set_index("metric")
    assert row.loc["recon_bce", "value"] == untrained.scores["recon_bce"]
    assert row.loc["classifier_accuracy", "note"] == untrained.scores["classifier_accuracy"]
    assert load_experiments(results) == []  # rows are never cells, and no cell may be named like one
    assert not is_cell_name("references/vae/conv/z2/s0") and is_cell_name("dsprites32/vae/conv/z2/s0")

    before = results_digest(results)
    assert compute_references(make_plan(preset), results) == 0
    assert results_digest(results) == before

    pca_dir = results / reference_name("dsprites32", "pca", latent_dim=2, seed=0)
    record = read_metrics(pca_dir)
    mig = record.scores.pop("mig")
    del record.seconds["mig"]
    write_metrics(pca_dir, record)
    assert compute_references(make_plan(preset), results) == 1
    assert read_metrics(pca_dir).scores["mig"] == mig  # the same streams give the same number

    leftover, staging = pca_dir / ".metrics.json.abcd1234.tmp", pca_dir.parent / ".s0.staging-abcd1234"
    leftover.write_text("{")
    (staging / "inner").mkdir(parents=True)
    assert set(remove_leftovers(results)) == {leftover, staging}
    assert read_metrics(pca_dir).scores["mig"] == mig


def test_reader_needs_no_keras_and_refuses_a_foreign_row(tmp_path):
    row = tmp_path / reference_name("dsprites32", "pca", latent_dim=4, seed=1)
    write_json(row / METRICS_FILE, {"scores": {"mig": 0.01, "sap": "n/a: why"}, "settings": {}, "seconds": {}})
    script = ("import sys, json; from vaebench import load_references; f = load_references(sys.argv[1]); "
              "print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax')), "
              "f.to_dict('records')], default=str))")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded, records = json.loads(run.stdout.strip().splitlines()[-1])
    assert loaded == []
    assert [(r["dataset"], r["reference"], r["latent_dim"], r["seed"], r["metric"]) for r in records] == [
        ("dsprites32", "pca", 4, 1, "mig"), ("dsprites32", "pca", 4, 1, "sap")]
    assert records[0]["value"] == 0.01 and records[1]["note"] == "n/a: why"
    write_json(tmp_path / REFERENCES_DIR / "dsprites32" / "nonsense" / METRICS_FILE, {"scores": {}})
    with pytest.raises(VaebenchError, match="is not a calibration row"):
        load_references(tmp_path)


def test_merge_copies_reference_rows_the_fullest_copy_winning(tmp_path):
    from vaebench.run.shards import merge_results

    name = reference_name("dsprites32", "random", latent_dim=2, seed=0)
    other = reference_name("dsprites32", "random", latent_dim=2, seed=1)
    shards = [tmp_path / "a", tmp_path / "b"]
    for shard in shards:
        record_cells(shard, {})
    write_json(shards[0] / name / METRICS_FILE, {"scores": {"mig": 0.1}, "settings": {}, "seconds": {"mig": 1}})
    write_json(shards[1] / name / METRICS_FILE,
               {"scores": {"mig": 0.1, "sap": 0.0}, "settings": {}, "seconds": {"mig": 1, "sap": 1}})
    write_json(shards[1] / other / METRICS_FILE, {"scores": {"mig": 0.2}, "settings": {}, "seconds": {}})
    into = tmp_path / "merged"
    merge_results(shards, into)
    assert read_metrics(into / name) == read_metrics(shards[1] / name)
    assert read_metrics(into / other) == read_metrics(shards[1] / other)
    before = results_digest(into)
    merge_results(shards, into)
    assert results_digest(into) == before


def test_published_values_name_spec_scores_and_their_source():
    assert PUBLISHED
    for value in PUBLISHED:
        assert value.metric in SCORES and value.source.startswith("Lin et al. 2020, Table 1")
        assert 0 < value.value <= (value.high or value.value) <= 1
    assert {v.text for v in PUBLISHED if v.model == "FactorVAE" and v.metric == "beta_vae_eval"} == {"0.79–0.85"}


@pytest.mark.slow
def test_run_grid_scores_the_rows_after_its_cells_and_no_references_skips_them(tmp_path):
    preset, results = write_preset(tmp_path / "grid.toml"), tmp_path / "results"
    run = run_vaebench("run", "grid", "--preset", preset, "--results", results)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "calibration rows: 5 scored, 0 already stored" in run.stdout
    assert sorted(set(load_references(results)["reference"])) == ["chance", "mean_image", "pca", "random", "untrained"]
    assert [e.name for e in load_experiments(results)] == ["dsprites32/vae/conv/z2/s0"]
    listing = run_vaebench("list", "--results", results)
    assert listing.returncode == 0 and "1 done, 0 failed, 0 pending" in listing.stdout
    site = run_vaebench("build-site", "--results", results, "--out", tmp_path / "site")
    assert site.returncode == 0, site.stderr[-3000:]
    assert len(list((tmp_path / "site" / "cells").glob("*.html"))) == 1
    import shutil

    shutil.rmtree(results / REFERENCES_DIR)
    rerun = run_vaebench("run", "grid", "--preset", preset, "--results", results, "--no-references")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "0 to train" in rerun.stdout and not (results / REFERENCES_DIR).exists()
