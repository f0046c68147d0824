"""A run under hostile conditions: Ctrl-C from a terminal, data that changed since training, awkward CSV
files, more scoring workers than cores. Each case: what the user sees, and that nothing finished is lost."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import VAEBENCH, run_in_process, run_vaebench, write_preset
from vaebench import store
from vaebench.data.tables import MAX_COLUMNS, read_csv_table
from vaebench.errors import VaebenchError
from vaebench.scoring_pool import usable_cores

CELLS = ["dsprites32/vae/conv/z2/s0", "dsprites32/vae/conv/z2/s1"]


def _csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, row)) for row in rows)]) + "\n", encoding="utf-8")
    return path


# --- Ctrl-C --------------------------------------------------------------------------

def _start(preset, results, *extra):
    """`vaebench run grid` in its own process group, as a terminal starts it."""
    command = [*VAEBENCH, "run", "grid", "--preset", preset, "--results", results, *map(str, extra)]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, process, seconds=600):
    deadline = time.monotonic() + seconds
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), "the first cell never finished"


def _stop_with_ctrl_c(process, presses=1, within=90):
    for _ in range(presses):
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.2)
    try:
        out, err = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"still running {within} s after Ctrl-C")
    return process.returncode, out, err


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, len(usable_cores()) + 1])
def test_ctrl_c_stops_the_grid_keeps_finished_cells_and_the_same_command_resumes(tmp_path, workers):
    preset = write_preset(tmp_path / "p.toml", seeds=[0, 1], steps=3000, log_every=10)
    results = tmp_path / "r"
    first, second = (results / name for name in CELLS)
    process = _start(preset, results, "--score-workers", workers)
    _wait_for(first / store.PARAMS_FILE, process)
    finished = {path.name: path.read_bytes() for path in first.iterdir() if path.is_file()}
    code, out, err = _stop_with_ctrl_c(process)
    assert code == 130, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: 1 of 2 cells are trained") and "run the same command again" in last, err[-2000:]
    assert "Traceback" not in err
    for name, content in finished.items():
        assert (first / name).read_bytes() == content, f"{name} of the finished cell changed"
    assert store.cell_status(first) == store.CellStatus.DONE and store.cell_status(second) == store.CellStatus.PENDING
    if workers:
        cores = len(usable_cores())
        assert err.count(f"--score-workers {workers} is more than the {cores} cores") == 1
        assert f"scoring in {cores} worker processes" in out
        children = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert not children, f"scoring workers outlived the run: {children}"


@pytest.mark.slow
def test_a_second_ctrl_c_exits_at_once_leaving_a_readable_store(tmp_path):
    preset = write_preset(tmp_path / "p.toml", seeds=[0, 1], steps=3000, log_every=10)
    results = tmp_path / "r"
    process = _start(preset, results, "--score-workers", 0)
    _wait_for(results / CELLS[0] / store.PARAMS_FILE, process)
    code, _, _ = _stop_with_ctrl_c(process, presses=2, within=20)
    assert code == 130
    assert sorted(store.read_grid(results)) == CELLS
    assert [store.cell_status(results / name) for name in CELLS] == [store.CellStatus.DONE, store.CellStatus.PENDING]


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
