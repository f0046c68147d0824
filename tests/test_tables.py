"""Tables: the per-column likelihood against closed forms, the labour generator, the CSV route with its bad
inputs, and one tiny trained table grid scored by every metric and drawn for the report."""

import hashlib
import json
import math

import keras
import numpy as np
import pytest

from conftest import run_in_process, write_preset
from vaebench.data import get_dataset
from vaebench.data.columns import Column, encode, raw_values
from vaebench.data.labour import Labour
from vaebench.grid import load_preset
from vaebench.metrics.likelihood import elbo_and_iwae, reconstruction
from vaebench.metrics.spec import METRICS
from vaebench.models import MODELS
from vaebench.models.likelihoods import BERNOULLI, ColumnLikelihood, likelihood_from_config
from vaebench.models.probability import bernoulli_log_likelihood
from vaebench.pictures.spec import PICTURES_VERSION
from vaebench.pictures.tables import SCATTER_RECORDS
from vaebench.results.experiments import load_experiments
from vaebench.results.files import write_json
from vaebench.results.layout import LATENTS_FILE, LOCK_FILE, PICTURES_DIR, PICTURES_FILE
from vaebench.site import build_site

COLUMNS = (Column("height", "numeric", (), 170.0, 10.0), Column("colour", "categorical", ("red", "green", "blue")),
           Column("smoker", "binary", ("no", "yes")))


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


def _closed_form(x, outputs):
    """log N(x0; o0, 1) + log softmax(o1..o3)[category] + log Bernoulli(x4; sigmoid(o4)), by hand."""
    gaussian = -0.5 * math.log(2 * math.pi) - 0.5 * (x[0] - outputs[0]) ** 2
    category = int(np.argmax(x[1:4]))
    softmax = outputs[1 + category] - math.log(sum(math.exp(o) for o in outputs[1:4]))
    p = 1 / (1 + math.exp(-outputs[4]))
    bernoulli = math.log(p) if x[4] == 1 else math.log(1 - p)
    return gaussian + softmax + bernoulli


def test_column_likelihood_is_the_sum_of_each_column_closed_form():
    x = encode(COLUMNS, {"height": np.array([180.0, 155.0]), "colour": np.array([2, 0]), "smoker": np.array([1, 0])})
    np.testing.assert_allclose(x[0], [1.0, 0, 0, 1, 1])
    outputs = np.array([[0.5, 0.1, -1.0, 2.0, 0.3], [-1.2, 1.5, 0.0, -0.5, -2.0]], np.float32)
    likelihood = ColumnLikelihood(COLUMNS)
    expected = [_closed_form(x[i].astype(np.float64), outputs[i].astype(np.float64)) for i in range(2)]
    np.testing.assert_allclose(_np(likelihood.log_likelihood(x, outputs)), expected, rtol=1e-5)
    means = likelihood.mean(outputs)
    np.testing.assert_allclose(means[:, 1:4].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(means[:, 0], outputs[:, 0], rtol=1e-6)
    scores = reconstruction(likelihood, x, outputs)
    assert scores["bce"] == pytest.approx(-np.mean(expected), rel=1e-5)
    assert scores["mse"] == pytest.approx(np.mean((means - x) ** 2))


def test_bernoulli_likelihood_keeps_the_image_numbers_and_configs_round_trip():
    x = np.array([[1.0, 0.0, 0.5]], np.float32)
    logits = np.array([[2.0, -1.0, 0.0]], np.float32)
    np.testing.assert_array_equal(_np(BERNOULLI.log_likelihood(x, logits)), _np(bernoulli_log_likelihood(x, logits)))
    assert likelihood_from_config(None) is BERNOULLI
    restored = likelihood_from_config(json.loads(json.dumps(ColumnLikelihood(COLUMNS).config())))
    assert restored.columns == COLUMNS
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        likelihood_from_config({"kind": "poisson"})


def test_iwae_with_one_sample_equals_the_elbo_when_the_posterior_is_the_prior():
    # q(z|x) = p(z) makes log p(z) − log q(z|x) = 0 and KL = 0: IWAE_1 and ELBO are both log p(x|z) of the same sample
    likelihood = ColumnLikelihood(COLUMNS)
    x = encode(COLUMNS, {"height": np.array([175.0]), "colour": np.array([1]), "smoker": np.array([0])})
    weights = np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 5)
    bounds = elbo_and_iwae(likelihood, x, np.zeros((1, 2)), np.zeros((1, 2)), lambda z: z @ weights, 1,
                           np.random.default_rng(3))
    assert bounds["elbo_kl"] == 0.0
    assert bounds["iwae"] == pytest.approx(bounds["elbo"], abs=1e-5)  # float32 log-densities
    z = np.random.default_rng(3).standard_normal((1, 2)).astype(np.float32)
    assert bounds["elbo_recon"] == pytest.approx(_closed_form(x[0], (z @ weights)[0].astype(np.float64)), rel=1e-5)


def test_training_loss_reads_the_same_likelihood():
    dataset = Labour()
    model = MODELS["ae"].create("mlp", dataset.shape, 3, likelihood=ColumnLikelihood(dataset.columns))
    x = dataset.render(dataset.sample_factors(8, np.random.default_rng(0)), np.random.default_rng(1))
    outputs = model(x)["logits"]
    assert float(_np(model.reconstruction_nll(x, outputs))) == pytest.approx(
        -_np(ColumnLikelihood(dataset.columns).log_likelihood(x, outputs)).mean(), rel=1e-6)


def test_labour_is_a_factor_grid_rendered_from_its_factors_and_a_noise_stream():
    dataset = get_dataset("labour")
    assert dataset.factor_sizes == (5, 4, 6, 4, 3) and dataset.grid_size == 1440 and dataset.has_factors
    assert dataset.num_classes == 2 and len(dataset.columns) == 14 and dataset.shape == (34,)
    assert {c.kind for c in dataset.columns} == {"numeric", "categorical", "binary"}
    factors = dataset.sample_factors(500, np.random.default_rng(0))
    assert factors.shape == (500, 5) and (factors < np.array(dataset.factor_sizes)).all() and (factors >= 0).all()
    first = dataset.render(factors, np.random.default_rng(7))
    np.testing.assert_array_equal(first, dataset.render(factors, np.random.default_rng(7)))
    assert not np.array_equal(first, dataset.render(factors, np.random.default_rng(8)))
    np.testing.assert_array_equal(dataset.labels_for(factors), dataset.labels_for(factors.copy()))
    values = raw_values(dataset.columns, first)
    # the lookups are noisy copies of their factor: the industry code matches the sector in about 90 % + 10 %/6 of records
    assert 0.85 < np.mean(values["industry_code"] == factors[:, 2]) < 0.97
    assert np.corrcoef(values["age"], factors[:, 0])[0, 1] > 0.9
    sample = dataset.sample(10, np.random.default_rng(0))
    assert sample.images.shape == (10, 34) and sample.labels.shape == (10,) and sample.factors.shape == (10, 5)


def test_bundled_tables_have_labels_and_no_factors():
    wine, cancer = get_dataset("wine"), get_dataset("breast_cancer")
    assert (wine.shape, wine.num_classes, cancer.shape, cancer.num_classes) == ((13,), 3, (30,), 2)
    assert not wine.has_factors
    test = wine.sample(1000, np.random.default_rng(0), split="test")
    assert len(np.unique(test.images, axis=0)) == 36  # a fifth of 178 records, held out


def test_models_that_do_not_fit_tables_are_refused(tmp_path, capsys):
    for argv, message in ((["--models", "seq_vae"], "model seq_vae trains on sequences, which dataset 'labour' does not provide"),
                          (["--models", "shared_vae"], "model shared_vae trains on two views"),
                          (["--models", "vae", "--families", "conv"], "model vae cannot use the conv family; accepted for it: mlp (on tables)")):
        code, _, err = run_in_process(["run", "grid", "--dataset", "labour", *argv, "--results", tmp_path / "r"], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def _write_csv(path, rows=40, edit=None):
    """A small table: a numeric, a text categorical, a binary column, a label and two factor columns on a full grid."""
    rng = np.random.default_rng(0)
    lines = ["size,colour,smoker,kind,shape,place"]
    for i in range(rows):
        shape, place = i % 2, (i // 2) % 2
        lines.append(f"{10 * shape + rng.normal():.3f},{('red', 'green', 'blue')[place + shape]},{i % 3 == 0:d},"
                     f"{'ab'[shape]},{shape},{('north', 'south')[place]}")
    if edit:
        lines = edit(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != LOCK_FILE}


def _replace(line_no, text):
    def edit(lines):
        lines[line_no] = text
        return lines
    return edit


BAD_CSV = [
    ("missing", None, [], "not found; expected a CSV file with a header row"),
    ("empty", lambda lines: [], [], "is empty; expected a header row"),
    ("text in numbers", _replace(3, "abc,red,1,a,0,north"), [], "line 4: column 'size' has the non-numeric value 'abc' among numbers"),
    ("missing value", _replace(5, ",red,1,a,0,north"), [], "line 6: column 'size' has no value"),
    ("single value", lambda lines: lines[:1] + [line.rsplit(",", 1)[0] + ",north" for line in lines[1:]], [],
     "column 'place' of"),
    ("no such label", None, ["--label-column", "price"], "--label-column 'price' is not a column of"),
    ("no such factor", None, ["--factor-columns", "shape,age"], "--factor-columns 'age' is not a column of"),
    ("no such categorical", None, ["--categorical", "hue"], "--categorical 'hue' is not a column of"),
    ("too few rows", lambda lines: lines[:11], [], "has 10 records; at least 20 are needed"),
    ("continuous factor", None, ["--factor-columns", "size"], "factor column 'size' of"),
    ("options without a file", None, [], "describe a CSV file: pass it with --dataset csv --data-path FILE.csv"),
]


@pytest.mark.parametrize("case, edit, options, message", BAD_CSV, ids=[case[0] for case in BAD_CSV])
def test_bad_csv_input_is_one_line_exit_2_and_touches_nothing(case, edit, options, message, tmp_path, capsys):
    results = tmp_path / "results"
    write_json(results / "keep.json", {"kept": True})
    before = _digest(results)
    path = tmp_path / "missing.csv" if case == "missing" else _write_csv(tmp_path / "t.csv", edit=edit)
    argv = ["run", "grid", "--dataset", "csv", "--data-path", path, "--models", "vae", "--results", results, *options]
    if case == "options without a file":
        argv = ["run", "grid", "--dataset", "wine", "--label-column", "kind", "--results", results]
    code, out, err = run_in_process(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0] and "Traceback" not in out + err
    assert _digest(results) == before


def _preset(path, **keys):
    return write_preset(path, **{"dataset": "labour", "families": ["mlp"], "latent_dims": [3], "steps": 20, **keys})


@pytest.mark.slow
def test_table_grid_trains_scores_every_metric_and_draws_its_pages(tmp_path, capsys):
    results = tmp_path / "results"
    preset = _preset(tmp_path / "t.toml", dataset=["labour", "wine"])
    code, _, err = run_in_process(["run", "grid", "--preset", preset, "--results", results], capsys)
    assert code == 0, err
    csv_path = _write_csv(tmp_path / "t.csv", rows=60)
    code, _, err = run_in_process(["run", "grid", "--preset", preset, "--dataset", "csv", "--data-path", csv_path,
                                   "--label-column", "kind", "--factor-columns", "shape,place", "--models", "branched_vae",
                                   "--results", results], capsys)
    assert code == 0, err
    keys = [key for metric in METRICS.values() for key in metric.keys]
    cells = {e.name: e for e in load_experiments(results)}
    assert set(cells) == {"labour/vae/mlp/z3/s0", "wine/vae/mlp/z3/s0", "csv/branched_vae-classifier_weight1/mlp/z3/s0"}
    for name, experiment in cells.items():
        scores = experiment.metrics.scores
        assert set(scores) == set(keys), name
        assert all(isinstance(v, (int, float)) or v.startswith("n/a: ") for v in scores.values()), scores
        assert isinstance(scores["recon_bce"], float) and isinstance(scores["iwae_log_px"], float)
        assert scores["iwae_log_px"] >= scores["elbo"] - 1e-6
        card = experiment.record.card
        assert card.data_kind == "tables" and card.likelihood["kind"] == "columns"
    assert isinstance(cells["labour/vae/mlp/z3/s0"].metrics.scores["mig"], float)
    assert cells["wine/vae/mlp/z3/s0"].metrics.scores["mig"] == "n/a: no ground-truth factors"
    csv_scores = cells["csv/branched_vae-classifier_weight1/mlp/z3/s0"].metrics.scores
    assert isinstance(csv_scores["mig"], float) and isinstance(csv_scores["classifier_accuracy"], float)
    csv_columns = {c["name"]: c["kind"] for c in cells["csv/branched_vae-classifier_weight1/mlp/z3/s0"].record.card.likelihood["columns"]}
    assert csv_columns == {"size": "numeric", "colour": "categorical", "smoker": "binary"}

    out = cells["labour/vae/mlp/z3/s0"].path / PICTURES_DIR  # drawn by run grid after scoring
    meta = json.loads((out / PICTURES_FILE).read_text())
    assert meta["kind"] == "tables" and meta["version"] == PICTURES_VERSION and [c["name"] for c in meta["columns"]] == [c.name for c in Labour().columns]
    for column in meta["columns"]:
        assert column["quality_name"] == ("R²" if column["kind"] == "numeric" else "accuracy")
        assert column["kind"] == "numeric" or 0.0 <= column["quality"] <= 1.0
    assert len(meta["strength"]) == 3 and sorted(meta["order"]) == [0, 1, 2]
    informative = [i for i in meta["order"] if meta["strength"][i] >= 0.05]
    assert [t["latent"] for t in meta["traversals"]] == informative
    for traversal in meta["traversals"]:
        assert len(traversal["columns"]["age"]) == 13
        occupation = np.array(traversal["columns"]["occupation"])
        assert occupation.shape == (13, 8) and np.allclose(occupation.sum(axis=1), 1.0, atol=1e-4)
    import pandas as pd

    table = pd.read_csv(out / LATENTS_FILE)
    assert len(table) == SCATTER_RECORDS
    assert {"age", "occupation", "union_member", "label", "sector"} <= set(table.columns)
    assert set(table["union_member"]) <= {"no", "yes"}

    index = build_site(results, tmp_path / "site")  # two datasets of one kind: a study each, beside an overview
    page = (index.parent / "results-labour" / "cells" / "labour__vae__mlp__z3__s0.html").read_text()
    for section in ('id="columns"', 'id="column-quality"', 'id="table-traversals"', 'id="codes"', "R² 0.", "accuracy 0."):
        assert section in page, section
    assert "neither its weights nor the pictures" not in page
    specs = (index.parent / "assets" / "cell_specs.js").read_text()  # the scatter specs the cell pages share
    assert '"title":"age"' in specs and "age (index)" not in specs  # a numeric column colours by its value, not an index
    assert "−3 … +3 in prior units, the prior being N(0, 1)" in page
    csv_page = (index.parent / "results-csv" / "cells" / "csv__branched_vae-classifier_weight1__mlp__z3__s0.html").read_text()
    assert 'id="columns"' in csv_page  # a user's CSV is not read again: the page comes from the stored pictures


@pytest.mark.parametrize("dataset, message", [([], "bad dataset []"), (["labour", "labour"], "bad dataset ['labour', 'labour']"),
                                              (["labour", 3], "bad dataset ['labour', 3]")])
def test_a_preset_dataset_list_is_validated(dataset, message, tmp_path):
    from vaebench.errors import VaebenchError

    with pytest.raises(VaebenchError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_preset(str(_preset(tmp_path / "p.toml", dataset=dataset)))


def test_an_autoencoders_table_traversal_spans_its_codes(tmp_path):
    """Without a prior, a latent goes ±3 standard deviations of its codes around their mean, as on image pages."""
    from vaebench.metrics.sampling import encode
    from vaebench.models.likelihoods import likelihood_for
    from vaebench.pictures.tables import LATENT_RECORDS, draw_table_pictures

    dataset = Labour()
    likelihood = likelihood_for(dataset.columns)
    model_class = MODELS["ae"]
    model = model_class.create("mlp", dataset.shape, 3, seed=0, likelihood=likelihood)
    draw_table_pictures(model.encoder, model.decoder, model_class.card("ae", {}, likelihood), dataset, tmp_path)
    meta = json.loads((tmp_path / PICTURES_FILE).read_text())
    held_out = dataset.sample(LATENT_RECORDS, np.random.default_rng(0), split="test")  # the records the drawer encodes
    codes = encode(model.encoder, held_out.images)[0]
    assert meta["gaussian"] is False and meta["traversals"]
    for traversal in meta["traversals"]:
        z = codes[:, traversal["latent"]]
        expected = z.mean() + np.linspace(-3, 3, 13) * z.std()
        np.testing.assert_allclose(traversal["values"], expected, rtol=1e-2, atol=1e-3)
