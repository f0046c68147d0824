"""A run under hostile conditions: Ctrl-C from a terminal, data that changed since training, awkward CSV
files, more scoring workers than cores. Each case: what the user sees, and that nothing finished is lost."""

import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import VAEBENCH, run_in_process, run_vaebench, write_preset
from vaebench.data.tables import MAX_COLUMNS, read_csv_table
from vaebench.errors import VaebenchError
from vaebench.results.layout import METRICS_FILE, PARAMS_FILE
from vaebench.results.records import (CellStatus, cell_status, read_grid, read_metrics, read_params, write_metrics,
                                      write_params)
from vaebench.run.scoring_pool import usable_cores

#: the Ctrl-C tests' two cells: mlp, so that the first trains its 1,000 steps in seconds (the second is still
#: training when Ctrl-C comes)
CELLS = ["dsprites32/vae/mlp/z2/s0", "dsprites32/vae/mlp/z2/s1"]


def _csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, row)) for row in rows)]) + "\n", encoding="utf-8")
    return path


# --- Ctrl-C --------------------------------------------------------------------------

def _start(preset, results, *extra):
    """`vaebench run grid` in its own process group, as a terminal starts it."""
    command = [*VAEBENCH, "run", "grid", "--preset", preset, "--no-references", "--results", results, *map(str, extra)]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _group(process):
    return subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()


def _wait_for(path, process, seconds=600):
    deadline = time.monotonic() + seconds
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


def _stop_with_ctrl_c(process, presses=1, within=90, to_group=True):
    """SIGINT as a terminal sends it (to the whole process group), or to the main process only."""
    for _ in range(presses):
        if to_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGINT)
        time.sleep(0.2)
    try:
        out, err = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"still running {within} s after Ctrl-C")
    return process.returncode, out, err


@pytest.mark.slow
@pytest.mark.parametrize("workers, to_group", [(0, True), (len(usable_cores()) + 1, True), (len(usable_cores()) + 1, False)])
def test_ctrl_c_stops_the_grid_keeps_finished_cells_and_says_how_to_resume(tmp_path, workers, to_group):
    preset = write_preset(tmp_path / "p.toml", families=["mlp"], seeds=[0, 1], steps=1000, log_every=10)
    results = tmp_path / "r"
    first, second = (results / name for name in CELLS)
    process = _start(preset, results, "--score-workers", workers)
    _wait_for(first / PARAMS_FILE, process)
    finished = {path.name: path.read_bytes() for path in first.iterdir() if path.is_file()}
    code, out, err = _stop_with_ctrl_c(process, to_group=to_group)
    assert code == 130, err[-2000:]
    last = (err.strip().splitlines() or [""])[-1]
    assert last.startswith("interrupted: 1 of 2 cells are trained") and "run the same command again" in last, err[-2000:]
    assert "Traceback" not in err
    for name, content in finished.items():
        assert (first / name).read_bytes() == content, f"{name} of the finished cell changed"
    assert cell_status(first) == CellStatus.DONE and cell_status(second) == CellStatus.PENDING
    if workers:
        cores = len(usable_cores())
        assert err.count(f"--score-workers {workers} is more than the {cores} cores") == 1
        assert f"scoring in {cores} worker processes" in out
        deadline = time.monotonic() + 10  # multiprocessing's resource tracker exits just after the run
        while _group(process) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group(process), f"processes of the run outlived it by 10 s: {_group(process)}"


@pytest.mark.slow
def test_a_second_ctrl_c_exits_at_once_leaving_a_readable_store(tmp_path):
    preset = write_preset(tmp_path / "p.toml", families=["mlp"], seeds=[0, 1], steps=1000, log_every=10)
    results = tmp_path / "r"
    process = _start(preset, results, "--score-workers", 0)
    _wait_for(results / CELLS[0] / PARAMS_FILE, process)
    code, _, _ = _stop_with_ctrl_c(process, presses=2, within=20)
    assert code == 130
    assert sorted(read_grid(results).cells) == CELLS
    assert [cell_status(results / name) for name in CELLS] == [CellStatus.DONE, CellStatus.PENDING]


@pytest.mark.slow
def test_ctrl_c_stops_a_pack_between_compiled_calls_and_stores_none_of_it(tmp_path):
    pytest.importorskip("jax")
    preset = write_preset(tmp_path / "p.toml", families=["mlp"], seeds=[0, 1], steps=100000, log_every=10)
    results = tmp_path / "r"
    members = [results / name for name in CELLS]
    command = [*VAEBENCH, "run", "grid", "--preset", preset, "--results", results, "--pack", "2", "--score-workers", "0",
               "--no-references"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "KERAS_BACKEND": "jax"})
    _wait_for(members[1], process, seconds=300)  # the pack makes its members' dirs, then builds and trains
    time.sleep(5)
    code, out, err = _stop_with_ctrl_c(process)
    assert code == 130, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("interrupted: 0 of 2 cells are trained"), err[-2000:]
    assert all(cell_status(member) == CellStatus.PENDING for member in members)


# --- CSV files ---------------------------------------------------------------------------

def _records(n=30):
    return [(20 + i, i % 3, "ab"[i % 2]) for i in range(n)]


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffage,score,kind\n".encode() + "".join(f"{a},{b},{c}\n" for a, b, c in _records()).encode())
    table = read_csv_table(path, label_column="kind")
    assert [column.name for column in table.columns] == ["age", "score"]


@pytest.mark.parametrize("huge", ["1e308", "-1.7e308"])
def test_values_that_overflow_once_standardised_are_refused_before_anything_is_written(tmp_path, capsys, huge):
    rows = [(huge if i % 3 == 0 else i, i % 3, "ab"[i % 2]) for i in range(30)]
    path = _csv(tmp_path / "huge.csv", ["size", "score", "kind"], rows)
    code, _, err = run_in_process(["run", "grid", "--preset", write_preset(tmp_path / "p.toml"), "--dataset", "csv",
                                   "--data-path", path, "--models", "vae", "--families", "mlp",
                                   "--results", tmp_path / "r"], capsys)
    assert code == 2 and err.count("\n") == 1 and "'size'" in err and "overflows" in err, err
    assert not (tmp_path / "r").exists()


def test_a_csv_with_more_columns_than_the_limit_is_refused_at_once(tmp_path):
    width = MAX_COLUMNS + 1
    path = _csv(tmp_path / "wide.csv", [f"c{i}" for i in range(width)],
                [[(row * 7 + column) % 11 for column in range(width)] for row in range(30)])
    started = time.monotonic()
    with pytest.raises(VaebenchError) as refused:
        read_csv_table(path)
    assert time.monotonic() - started < 10
    assert str(refused.value) == f"data file {path} has {width} columns; at most {MAX_COLUMNS} are accepted"


@pytest.mark.parametrize("kind", ["pipe", "device", "folder"])
def test_a_data_path_that_is_no_regular_file_says_what_stands_there(tmp_path, kind):
    """A pipe or a device would be read forever; neither is "not found"."""
    path = {"pipe": tmp_path / "pipe.csv", "device": Path("/dev/zero"), "folder": tmp_path}[kind]
    if kind == "pipe":
        os.mkfifo(path)
    said = "is a folder" if kind == "folder" else "is not a regular file (a pipe, socket or device)"
    with pytest.raises(VaebenchError) as refused:
        read_csv_table(path)
    assert str(refused.value) == f"data file {path} {said}; expected a CSV file with a header row"


@pytest.mark.parametrize("spellings", [["1", "1.0", "1.00"], ["2", "2e0", "+2"]])
def test_a_numeric_column_of_one_value_spelt_several_ways_is_a_single_value_column(tmp_path, spellings):
    rows = [(20 + i, spellings[i % len(spellings)], "ab"[i % 2]) for i in range(30)]
    path = _csv(tmp_path / "one.csv", ["age", "flag", "kind"], rows)
    with pytest.raises(VaebenchError, match="column 'flag' of .* takes a single value"):
        read_csv_table(path)
    assert [column.name for column in read_csv_table(path, categorical=("flag",)).columns] == ["age", "flag", "kind"]


def test_a_preset_family_a_table_cannot_use_is_replaced_in_one_line_and_a_named_one_refused(tmp_path, capsys):
    """README's Tables: tables train with mlp; a preset's conv gives way, saying so; --families conv is refused."""
    data = _table(tmp_path / "table.csv")
    blocker = tmp_path / "blocker"
    blocker.write_text("stops the run before it trains")
    argv = ["run", "grid", "--preset", write_preset(tmp_path / "p.toml", families=["conv"]), "--dataset", "csv",
            "--data-path", data, "--results", blocker]
    code, out, err = run_in_process(argv, capsys)
    assert code == 2 and "is not a folder" in err, err
    assert out.strip() == "the conv family of preset p cannot train on dataset csv: its cells train with mlp", out
    code, out, err = run_in_process([*argv, "--families", "conv"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot use the conv family" in err and out == "", err


# --- data that changed since training -----------------------------------------------------

def _table(path, rows=30, extra_column=False, shift=0):
    header = ["age", "score", "kind", *(["height"] if extra_column else [])]
    return _csv(path, header, [(20 + (i * 7 + shift) % 23, i % 3, "ab"[i % 2], *([150 + i] if extra_column else []))
                               for i in range(rows)])


def _snapshot(results):
    return {path: path.read_bytes() for path in sorted(results.rglob("*")) if path.is_file()
            and not path.name.startswith(".vaebench.lock")}


@pytest.mark.slow
def test_scoring_on_changed_data_is_refused_unless_allowed_and_then_recorded(tmp_path):
    import hashlib

    data = _table(tmp_path / "table.csv")
    preset = write_preset(tmp_path / "p.toml", dataset="csv", models=["vae"], families=["mlp"], steps=20)
    results = tmp_path / "r"
    common = ["--preset", preset, "--results", results]
    trained = run_vaebench("run", "grid", *common, "--dataset", "csv", "--data-path", data, "--score-workers", 0, "--no-references")
    assert trained.returncode == 0, trained.stderr[-2000:]
    (cell,) = [path.parent for path in results.rglob(PARAMS_FILE)]
    recorded = read_params(cell).data
    assert recorded["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest() and recorded["size"] == data.stat().st_size
    assert read_metrics(cell).data is None

    _table(data, shift=5)  # same columns, other values
    before = _snapshot(results)
    for command in (["evaluate", *common, "--data-path", data, "--force"],
                    ["run", "grid", *common, "--dataset", "csv", "--data-path", data, "--score-workers", 0]):
        refused = run_vaebench(*command)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr[-2000:]
        assert "other data" in refused.stderr and "--allow-changed-data" in refused.stderr
        assert _snapshot(results) == before, f"{command[0]} changed the results while refusing"

    allowed = run_vaebench("evaluate", *common, "--data-path", data, "--allow-changed-data")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert read_metrics(cell).data["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert read_metrics(cell).scores != json.loads(before[cell / METRICS_FILE])["scores"]
    again = run_vaebench("evaluate", *common, "--data-path", data)  # now scored on this data: nothing to refuse
    assert again.returncode == 0, again.stderr[-2000:]

    _table(data, extra_column=True)
    before = _snapshot(results)
    wider = run_vaebench("evaluate", *common, "--data-path", data, "--allow-changed-data")
    assert wider.returncode == 2 and wider.stderr.count("\n") == 1 and "cannot score this data" in wider.stderr, wider.stderr
    assert _snapshot(results) == before

    # results stored before fingerprints were recorded are scored as before
    write_params(cell, dataclasses.replace(read_params(cell), data=None))
    write_metrics(cell, dataclasses.replace(read_metrics(cell), data=None))
    _table(data, shift=9)
    older = run_vaebench("evaluate", *common, "--data-path", data)
    assert older.returncode == 0, older.stderr[-2000:]


class _Killed(Exception):
    """Stands in for a kill part-way through a scoring."""


def _kill_at(monkeypatch, metric, call):
    """Make the ``call``-th computation of ``metric`` (1: the cell's, 2: its first snapshot's) stop the command."""
    from vaebench.metrics import scoring

    calls = []

    def killed(context):
        calls.append(context.cell_dir)
        if len(calls) == call:
            raise _Killed(metric)
        return compute(context)

    compute = scoring.COMPUTE[metric]
    monkeypatch.setitem(scoring.COMPUTE, metric, killed)


def _command(argv, capsys):
    """:func:`conftest.run_in_process` as a command of its own process: the data files read afresh."""
    from vaebench.run import plan

    plan._dataset.cache_clear()
    return run_in_process(argv, capsys)


@dataclasses.dataclass
class CsvGrid:
    """A trained CSV grid (two mlp cells, each with a snapshot at step 10) and the files it was made with."""

    results: object
    data: object
    preset: object

    @property
    def common(self) -> list:
        return ["--preset", self.preset, "--results", self.results]

    @property
    def cells(self) -> list:
        return sorted(path.parent for path in self.results.rglob(PARAMS_FILE) if "snapshots" not in path.parts)


@pytest.fixture(scope="module")
def _trained_csv_grid(tmp_path_factory):
    import sys

    from vaebench.cli import main

    root = tmp_path_factory.mktemp("csv-grid")
    grid = CsvGrid(root / "r", _table(root / "table.csv"),
                   write_preset(root / "p.toml", dataset="csv", families=["mlp"], seeds=[0, 1], steps=20,
                                checkpoints="[checkpoints]\ncount = 0\nsnapshots = [10]\n"))
    old, sys.argv = sys.argv, ["vaebench", "run", "grid", *map(str, grid.common), "--dataset", "csv", "--data-path",
                               str(grid.data), "--score-workers", "0", "--no-references"]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = old
    assert exit_info.value.code == 0
    return grid


@pytest.fixture
def csv_grid(_trained_csv_grid, tmp_path):
    """A copy of the trained CSV grid of its own, for a test to change."""
    import shutil

    shutil.copytree(_trained_csv_grid.results.parent, tmp_path / "grid")
    return CsvGrid(*(tmp_path / "grid" / path.name for path in dataclasses.astuple(_trained_csv_grid)))


def _command(argv, capsys):
    """:func:`conftest.run_in_process` as a command of its own process: the data files read afresh."""
    from vaebench.run import plan

    plan._dataset.cache_clear()
    return run_in_process(argv, capsys)


def test_an_interrupted_rescoring_on_changed_data_leaves_no_mix_of_two_data_scores(csv_grid, capsys, monkeypatch):
    """A cell's metrics.json (and each snapshot's) is replaced whole by a rescoring on changed data, so a kill leaves
    the old scores or the new ones; a folder still scored on other data is refused, or rescored when allowed."""
    import hashlib

    results, data, common = csv_grid.results, csv_grid.data, csv_grid.common
    cell = csv_grid.cells[0]
    snapshot = cell / "snapshots" / "step10"
    trained = _snapshot(results)
    original = data.read_bytes()
    _table(data, shift=5)
    rescore = ["evaluate", *common, "--data-path", data, "--force", "--allow-changed-data"]

    with monkeypatch.context() as patch:
        _kill_at(patch, "unsupervised", call=1)  # reconstruction and elbo are rescored on the new data by then
        with pytest.raises(_Killed):
            _command(rescore, capsys)
    assert _snapshot(results) == trained, "a killed rescoring left a mix of old and new scores"
    data.write_bytes(original)
    code, _, err = _command(["evaluate", *common, "--data-path", data], capsys)
    assert code == 0, err
    assert _snapshot(results) == trained

    _table(data, shift=5)
    with monkeypatch.context() as patch:
        _kill_at(patch, "unsupervised", call=2)  # the first cell is rescored, its snapshot not yet
        with pytest.raises(_Killed):
            _command(rescore, capsys)
    assert read_metrics(cell).data["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert (snapshot / METRICS_FILE).read_bytes() == trained[snapshot / METRICS_FILE]
    for data_now in (data.read_bytes(), original):  # the snapshot is of the first data, the cell of the second
        data.write_bytes(data_now)
        code, _, err = _command(["evaluate", *common, "--data-path", data], capsys)
        assert code == 2 and err.count("\n") == 1 and "--allow-changed-data" in err, err
    _table(data, shift=5)
    code, _, err = _command(rescore[:-2] + ["--allow-changed-data"], capsys)  # the same command, not forced
    assert code == 0, err
    assert read_metrics(snapshot).data == read_metrics(cell).data is not None
    assert read_metrics(snapshot).scores != json.loads(trained[snapshot / METRICS_FILE])["scores"]


@pytest.mark.parametrize("damage", ["emptied history", "truncated snapshot weights"])
def test_evaluate_force_reads_every_file_it_needs_before_it_changes_one(csv_grid, capsys, damage):
    """A damaged file of the second cell: refused in one line naming it, and no cell's metrics.json rescored first."""
    damaged = {"emptied history": csv_grid.cells[1] / "history.csv",
               "truncated snapshot weights": csv_grid.cells[1] / "snapshots" / "step10" / "decoder.keras"}[damage]
    damaged.write_bytes(b"" if damage == "emptied history" else damaged.read_bytes()[:100])
    before = _snapshot(csv_grid.results)
    code, _, err = _command(["evaluate", *csv_grid.common, "--data-path", csv_grid.data, "--force"], capsys)
    assert code == 2 and err.count("\n") == 1 and f"corrupt results file {damaged}" in err, err
    assert _snapshot(csv_grid.results) == before


@pytest.mark.parametrize("references", [True, False])
def test_a_ray_run_scores_the_calibration_rows_as_a_local_run_does(csv_grid, capsys, monkeypatch, references):
    """The rows are scored after the cells under every executor (by the driver under Ray), unless --no-references."""
    pytest.importorskip("ray")
    from vaebench.run import ray_executor

    trained = []
    monkeypatch.setattr(ray_executor, "run_grid_on_ray", lambda plan, results, *args, **kwargs: trained.append(results))
    code, out, err = _command(["run", "grid", *csv_grid.common, "--dataset", "csv", "--data-path", csv_grid.data,
                               "--executor", "ray", *([] if references else ["--no-references"])], capsys)
    assert code == 0 and trained == [csv_grid.results], err
    rows = sorted(path.parent.relative_to(csv_grid.results).as_posix()
                  for path in (csv_grid.results / "references").rglob(METRICS_FILE))
    # a table without factors has no factor rows (PCA, random) and no mean image: the untrained VAE's
    assert rows == (["references/csv/untrained/mlp/z2/s0", "references/csv/untrained/mlp/z2/s1"] if references else []), out

