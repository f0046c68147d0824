"""The results store: atomic writes, grid bookkeeping, and the query API."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent

from vaebench.errors import VaebenchError
from vaebench.results import files
from vaebench.results.experiments import load_experiments, metrics_frame
from vaebench.results.files import atomic_path, check_writable, replace_cell_dir, reset_cell_dir, write_json
from vaebench.results.layout import METRICS_FILE, PARAMS_FILE, PICTURES_FILE
from vaebench.results.lock import remove_leftovers
from vaebench.results.records import (ImagePictures, Metrics, TablePictures, read_grid, read_metrics, read_params,
                                      read_pictures_file, record_cells, write_metrics, write_params, write_pictures_file)


def test_atomic_write_leaves_old_file_when_writer_crashes(tmp_path):
    path = tmp_path / "params.json"
    write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text('{"a": 2, "half')
            raise RuntimeError("killed mid-write")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]


def test_write_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "x.json", {"a": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_record_cells_merges_and_refuses_conflicts(tmp_path):
    a, b = "d/vae/conv/z2/s0", "d/vae/conv/z2/s1"
    record_cells(tmp_path, {a: {"steps": 1}})
    record_cells(tmp_path, {b: {"steps": 1}})
    assert set(read_grid(tmp_path).cells) == {a, b}
    before = (tmp_path / "grid.json").read_bytes()
    with pytest.raises(VaebenchError, match=f"already holds cell {a} with other settings \\(steps\\)"):
        record_cells(tmp_path, {a: {"steps": 2}})
    assert (tmp_path / "grid.json").read_bytes() == before


def test_corrupt_grid_file_is_a_clear_error(tmp_path):
    (tmp_path / "grid.json").write_text("{not json")
    with pytest.raises(VaebenchError, match="corrupt results file"):
        read_grid(tmp_path)


def test_unwritable_results_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VaebenchError, match="cannot be written"):
        check_writable(blocker / "results")


def _cell(root, name, status="done", **params):
    path = root / name
    path.mkdir(parents=True)
    if status == "failed":
        params.setdefault("failure", {"reason": "loss became nan at step 3", "step": 3})
    write_json(path / "params.json", {"name": name, "status": status, "hparams": params.pop("hparams", {}), **params})
    return path


def test_load_experiments_filters_and_frames(tmp_path):
    _cell(tmp_path, "d/vae/conv/z2/s0", model="vae", latent_dim=2, seed=0)
    _cell(tmp_path, "d/vae/conv/z4/s0", model="vae", latent_dim=4, seed=0)
    b = _cell(tmp_path, "d/beta_vae-beta4/conv/z4/s0", model="beta_vae", latent_dim=4, seed=0, hparams={"beta": 4.0})
    _cell(tmp_path, "d/ae/conv/z4/s0", status="failed", model="ae", latent_dim=4, seed=0)
    write_json(b / "metrics.json", {"scores": {"mig": 0.25, "elbo": "n/a: deterministic encoder"}})

    assert [e.name for e in load_experiments(tmp_path)] == [
        "d/beta_vae-beta4/conv/z4/s0", "d/vae/conv/z2/s0", "d/vae/conv/z4/s0"]
    assert [e.name for e in load_experiments(tmp_path, where={"latent_dim": 4, "model": "vae"})] == ["d/vae/conv/z4/s0"]
    assert [e.name for e in load_experiments(tmp_path, where={"beta": 4.0})] == ["d/beta_vae-beta4/conv/z4/s0"]
    assert len(load_experiments(tmp_path, where={"model": ["vae", "ae"]}, include_failed=True)) == 3

    frame = metrics_frame(load_experiments(tmp_path))
    assert len(frame) == 2
    row = frame.set_index("metric").loc["mig"]
    assert row["value"] == 0.25 and row["model"] == "beta_vae" and row["hp_beta"] == 4.0
    assert frame.set_index("metric").loc["elbo", "note"] == "n/a: deterministic encoder"


def test_load_experiments_on_missing_dir(tmp_path):
    with pytest.raises(VaebenchError, match="does not exist"):
        load_experiments(tmp_path / "nope")


def test_reset_cell_dir_removes_leftovers_only_inside_the_cell(tmp_path):
    cell = tmp_path / "c"
    (cell / "logs").mkdir(parents=True)
    (cell / "history.csv").write_text("half")
    (cell / ".encoder.keras.abc.tmp.keras").write_text("half")
    sibling = tmp_path / "other.txt"
    sibling.write_text("keep")
    reset_cell_dir(cell)
    assert list(cell.iterdir()) == [] and sibling.read_text() == "keep"


def test_a_killed_snapshot_write_leaves_a_temporary_that_the_next_command_removes(tmp_path):
    """A kill -9 while a snapshot's weights are written leaves vaebench's temporary file in the snapshot's folder."""
    name = "d/vae/conv/z2/s0"
    snapshot = tmp_path / name / "snapshots" / "step100"
    snapshot.mkdir(parents=True)
    leftover, kept = snapshot / ".encoder.keras.abcd1234.tmp.keras", snapshot / "notes.txt"
    leftover.write_text("half")
    kept.write_text("a user's")
    record_cells(tmp_path, {name: {}})
    assert remove_leftovers(tmp_path) == [leftover] and kept.read_text() == "a user's"



def _die_after_one_file(path, ignore_errors=False):
    """shutil.rmtree killed by -9 once it has deleted one file: what a kill leaves half done."""
    files = [f for f in sorted(Path(path).rglob("*")) if f.is_file()]
    if files:
        files[0].unlink()
        raise KeyboardInterrupt("killed while deleting")


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "move-aside"])
def test_replacing_a_cell_dir_never_leaves_half_of_either_version(tmp_path, monkeypatch, exchange):
    name = "d/vae/conv/z2/s0"
    cell = tmp_path / name
    replace_cell_dir(cell, lambda staging: [(staging / n).write_text("old") for n in ("a", "b")])
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    monkeypatch.setattr(files.shutil, "rmtree", _die_after_one_file)
    with pytest.raises(KeyboardInterrupt):
        replace_cell_dir(cell, lambda staging: [(staging / n).write_text("new") for n in ("a", "b")])
    assert {f.name: f.read_text() for f in cell.iterdir()} == {"a": "new", "b": "new"}
    monkeypatch.undo()
    record_cells(tmp_path, {name: {}})
    assert [p.name for p in remove_leftovers(tmp_path)] and [p.name for p in cell.parent.iterdir()] == ["s0"]

@pytest.mark.parametrize("matrices", [
    [1, 2],
    {"mig": {"rows": ["z0"], "columns": ["shape"]}},
    {"mig": {"rows": ["z0", "z1"], "columns": ["shape"], "values": [[0.5]]}},
    {"mig": {"rows": ["z0"], "columns": ["shape", "scale"], "values": [[0.5]]}},
    {"dci": {"rows": ["z0"], "columns": ["shape"], "values": [["0.5"]]}},
    {"dci": {"rows": ["z0"], "columns": ["shape"], "values": [[float("nan")]]}},
])
def test_a_corrupt_matrix_in_metrics_json_is_named(tmp_path, matrices):
    (tmp_path / METRICS_FILE).write_text(json.dumps({"scores": {}, "settings": {}, "seconds": {}, "matrices": matrices}))
    with pytest.raises(VaebenchError, match="'matrices' must map metric names"):
        read_metrics(tmp_path)


def test_a_well_formed_matrix_is_read_back(tmp_path):
    record = {"scores": {"mig": 0.1}, "settings": {}, "seconds": {},
              "matrices": {"mig": {"label": "x", "rows": ["z0", "z1"], "columns": ["shape"], "values": [[0.25], [0]]}}}
    write_json(tmp_path / METRICS_FILE, record)
    assert read_metrics(tmp_path) == Metrics(**record)


@pytest.mark.parametrize("record", [
    {"scores": {"mig": 0.5}, "settings": {}, "seconds": {}},  # a chance row: no matrices
    {"scores": {"mig": "n/a: why"}, "settings": {"mig": {"seed": 0}}, "seconds": {"mig": 1.5}, "matrices": {},
     "data": "sha256:abc"},  # scored on other data than it trained on
], ids=["without-matrices", "with-data"])
def test_a_metrics_record_is_written_back_byte_for_byte(tmp_path, record):
    write_json(tmp_path / METRICS_FILE, record)
    stored = (tmp_path / METRICS_FILE).read_bytes()
    write_metrics(tmp_path, read_metrics(tmp_path))
    assert (tmp_path / METRICS_FILE).read_bytes() == stored


def test_every_committed_params_file_is_read_and_written_back_byte_for_byte(tmp_path):
    stored = sorted(REPO.glob(f"results/**/{PARAMS_FILE}"))
    assert len(stored) > 50
    for path in stored:
        record = read_params(path.parent)
        write_params(tmp_path, record)
        assert (tmp_path / PARAMS_FILE).read_bytes() == path.read_bytes(), path


def test_a_params_file_from_before_likelihoods_and_checkpoints_is_read_and_written_back_byte_for_byte(tmp_path):
    """Cells trained before cards named their likelihood and before scores along training (the first published
    dSprites grid) still load, and rewriting their record changes nothing."""
    params = json.loads(next(REPO.glob(f"results/study/**/{PARAMS_FILE}")).read_text())
    del params["card"]["likelihood"], params["checkpoints"]
    write_json(tmp_path / "old" / PARAMS_FILE, params)
    record = read_params(tmp_path / "old")
    assert record.card.likelihood is None
    write_params(tmp_path, record)
    assert (tmp_path / PARAMS_FILE).read_bytes() == (tmp_path / "old" / PARAMS_FILE).read_bytes()


CELL = {"name": "dsprites32/vae/conv/z2/s0", "status": "done", "hparams": {}, "dataset": "dsprites", "image_size": 32,
        "model": "vae", "family": "conv", "latent_dim": 2, "seed": 0, "steps": 10, "batch_size": 8,
        "learning_rate": 0.001, "log_every": 5}
CARD = {"model": "vae", "data_kind": "images", "reads_labels": False, "gaussian": True,
        "networks": ["encoder", "decoder"], "hparams": {}}


@pytest.mark.parametrize("change, problem", [
    ({"latent_dim": "2"}, "'latent_dim' must be an integer, found '2'"),
    ({"seed": True}, "'seed' must be an integer, found True"),
    ({"learning_rate": "fast"}, "'learning_rate' must be a number, found 'fast'"),
    ({"precision": 16}, "'precision' must be a string, found 16"),
    ({"environment": {"keras": 3}}, "'environment' must map names to version strings"),
    ({"card": {**CARD, "data_kind": "pictures"}}, "unknown card data_kind 'pictures'; expected one of images, sequences, two_views, tables"),
    ({"card": {**CARD, "gaussian": "yes"}}, "'card.gaussian' must be true or false, found 'yes'"),
    ({"card": {key: value for key, value in CARD.items() if key != "networks"}}, "'card.networks' must be a list, found None"),
    ({"status": "failed", "failure": {"reason": "nan", "step": "3"}}, "'failure.step' must be an integer, found '3'"),
    ({"status": "failed"}, "a failed cell needs a 'failure' object with its 'reason'"),
], ids=lambda value: str(value)[:30])
def test_a_params_file_with_a_bad_field_is_one_line_naming_it(tmp_path, change, problem):
    write_json(tmp_path / PARAMS_FILE, {**CELL, **change})
    with pytest.raises(VaebenchError) as error:
        read_params(tmp_path)
    assert str(error.value) == f"corrupt results file {tmp_path / PARAMS_FILE}: {problem}"


def test_a_params_record_is_typed_and_written_back_byte_for_byte(tmp_path):
    """A failed table cell as training writes it: a card with its likelihood, no image size, a failure with its step."""
    stored = {**CELL, "image_size": None, "status": "failed", "failure": {"reason": "loss became nan at step 3", "step": 3},
              "card": {**CARD, "data_kind": "tables", "likelihood": {"kind": "columns"}}, "precision": "tf32",
              "environment": {"keras": "3.15.1"}, "data": {"sha256": "abc"}}
    write_json(tmp_path / PARAMS_FILE, stored)
    before = (tmp_path / PARAMS_FILE).read_bytes()
    record = read_params(tmp_path)
    assert (record.card.data_kind, record.card.networks, record.failure.step, record.image_size) == ("tables", ("encoder", "decoder"), 3, None)
    assert record.trained_precision == "tf32" and read_params(tmp_path / "none") is None
    write_params(tmp_path, record)
    assert (tmp_path / PARAMS_FILE).read_bytes() == before


def test_every_committed_pictures_file_is_read_and_written_back_byte_for_byte(tmp_path):
    stored = sorted(REPO.glob(f"results/**/{PICTURES_FILE}"))
    assert len(stored) > 50  # older folders without "kind" among them
    for path in stored:
        record = read_pictures_file(path.parent, 2)
        assert isinstance(record, TablePictures if "results/tables/" in path.as_posix() else ImagePictures)
        write_pictures_file(tmp_path, record)
        assert (tmp_path / PICTURES_FILE).read_bytes() == path.read_bytes(), path


TABLE_PICTURES = {"version": 2, "kind": "tables", "likelihood": "log p(x|z) is a sum over the columns.",
                  "columns": [{"name": "größe", "kind": "numeric", "categories": [], "std": 2.5, "quality": 0.9,
                               "quality_name": "R²"}],
                  "strength": [1.5, 0.01], "strength_name": "mean KL to the prior (nats)", "gaussian": True, "order": [0, 1],
                  "traversal_record": {"größe": 1.25}, "traversals": [{"latent": 0, "strength": 1.5, "values": [-3.0, 3.0],
                                                                      "columns": {"größe": [0.5, 2.0]}}]}


def test_a_table_pictures_file_keeps_its_characters_and_an_image_one_its_escapes(tmp_path):
    """The two writers' formats: a table's compact with its names unescaped, an image's indented and ASCII only."""
    write_pictures_file(tmp_path, TablePictures.from_json(TABLE_PICTURES, tmp_path))
    assert (tmp_path / PICTURES_FILE).read_text() == json.dumps(TABLE_PICTURES, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert read_pictures_file(tmp_path, 2).columns[0]["quality_name"] == "R²"
    image = json.loads(next(REPO.glob(f"results/study/**/{PICTURES_FILE}")).read_text())
    image["prior_caption"] = "codes drawn from the prior N(0, I) · σ = 1"
    write_pictures_file(tmp_path, ImagePictures.from_json(image, tmp_path))
    assert (tmp_path / PICTURES_FILE).read_text() == json.dumps(image, indent=1) + "\n"
    assert "\\u03c3" in (tmp_path / PICTURES_FILE).read_text()
    assert read_pictures_file(tmp_path, 3) is None and read_pictures_file(tmp_path / "none", 2) is None  # older, none


@pytest.mark.parametrize("change, problem", [
    ({"order": [0, "1"]}, "each item of 'order' must be an integer"),
    ({"gaussian": None}, "'gaussian' must be true or false, found None"),
    ({"kind": "pictures"}, "unknown kind 'pictures'; expected one of images, sequences, two_views, tables"),
    ({"tile": {"height": 64}}, "'tile' must be {\"height\", \"width\", \"gutter\"} in pixels"),
    ({"strength_name": 3}, "'strength_name' must be a string, found 3"),
], ids=["order", "gaussian", "kind", "tile", "strength_name"])
def test_an_image_pictures_file_with_a_bad_field_is_one_line_naming_it(tmp_path, change, problem):
    image = json.loads(next(REPO.glob(f"results/study/**/{PICTURES_FILE}")).read_text())
    (tmp_path / PICTURES_FILE).write_text(json.dumps({**image, **change}))
    with pytest.raises(VaebenchError) as error:
        read_pictures_file(tmp_path, 2)
    assert str(error.value) == f"corrupt results file {tmp_path / PICTURES_FILE}: {problem}"


def test_a_table_pictures_file_without_its_traversals_latents_is_one_line(tmp_path):
    (tmp_path / PICTURES_FILE).write_text(json.dumps({**TABLE_PICTURES, "traversals": [{"strength": 1.5}]}))
    with pytest.raises(VaebenchError, match="each item of 'traversals' must be an object with its 'latent'"):
        read_pictures_file(tmp_path, 2)
