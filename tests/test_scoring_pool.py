"""Scoring in worker processes: the same scores as inline, killed workers, Ctrl-C, an orphaned pool, the CLI."""

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from conftest import VAEBENCH, run_in_process
from pool_jobs import die, fail, record_pid_then_sleep
from vaebench.grid import load_preset
from vaebench.metrics import FAST_SETTINGS, metric_names
from vaebench.results.files import read_json
from vaebench.results.layout import METRICS_FILE, PARAMS_FILE
from vaebench.results.records import CellStatus, cell_status, record_cells
from vaebench.run.plan import make_plan
from vaebench.run.runner import run_grid, train_cells
from vaebench.run.scoring_pool import RETRIES, ScoringPool, ScoringWorkerError, auto_workers

# no calibration rows: their partial metrics.json files would read as a cell half scored
TWO_CELLS = ["run", "grid", "--preset", "smoke", "--models", "vae", "--latent-dims", "2,3", "--steps", "20", "--no-references"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _pids(pids_dir: Path, name: str) -> list[int]:
    return [int(path.name.rsplit("-", 1)[1]) for path in pids_dir.glob(f"{name}-*")]


# --- the pool itself ---------------------------------------------------------------------------

def test_a_killed_worker_loses_only_its_job_which_runs_again(tmp_path):
    with ScoringPool(2) as pool:
        pool.submit("slow", record_pid_then_sleep, str(tmp_path), "slow", 3.0)
        pool.submit("quick", record_pid_then_sleep, str(tmp_path), "quick", 0.0)
        assert _wait_until(lambda: _pids(tmp_path, "slow"), 120), "the slow job never started"
        first = _pids(tmp_path, "slow")[0]
        os.kill(first, signal.SIGKILL)
        assert pool.finish() == {}
    assert len(_pids(tmp_path, "slow")) == 2 and first in _pids(tmp_path, "slow")
    assert len(_pids(tmp_path, "quick")) == 1


def test_a_job_whose_worker_keeps_dying_is_reported_after_bounded_retries_and_the_rest_go_on(tmp_path):
    counts = []
    with ScoringPool(1, counts.append) as pool:
        pool.submit("doomed", die, str(tmp_path), "doomed")
        pool.submit("fine", record_pid_then_sleep, str(tmp_path), "fine", 0.0)
        not_done = pool.finish()
    assert list(not_done) == ["doomed"] and f"died {RETRIES + 1} times" in not_done["doomed"]
    assert "exit code -9" in not_done["doomed"]
    assert len(_pids(tmp_path, "doomed")) == RETRIES + 1 and len(_pids(tmp_path, "fine")) == 1
    assert dataclasses.astuple(counts[-1]) == (1, 0, 0, 1)  # done, running, waiting, not done


def test_an_error_inside_a_worker_is_raised_with_its_traceback():
    with pytest.raises(ScoringWorkerError, match=r"(?s)scoring broken failed in a worker.*KeyError: 'no such key'"):
        with ScoringPool(1) as pool:
            pool.submit("broken", fail, "no such key")
            pool.finish()


def test_leaving_the_pool_early_stops_its_workers_at_once(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with ScoringPool(1) as pool:
            pool.submit("long", record_pid_then_sleep, str(tmp_path), "long", 600.0)
            assert _wait_until(lambda: _pids(tmp_path, "long"), 120)
            raise KeyboardInterrupt
    assert not _alive(_pids(tmp_path, "long")[0])


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    parent = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "from pool_jobs import record_pid_then_sleep\n"
              "from vaebench.run.scoring_pool import ScoringPool\n"
              "if __name__ == '__main__':\n"
              "    with ScoringPool(1) as pool:\n"
              f"        pool.submit('long', record_pid_then_sleep, {str(tmp_path)!r}, 'long', 600.0)\n"
              "        pool.finish()\n")
    script = tmp_path / "parent.py"
    script.write_text(parent)
    process = subprocess.Popen([sys.executable, str(script)])
    try:
        assert _wait_until(lambda: _pids(tmp_path, "long"), 120), "the job never started"
    finally:
        process.kill()
        process.wait()
    assert _wait_until(lambda: not _alive(_pids(tmp_path, "long")[0]), 10), "the worker outlived its parent"


def test_auto_workers_leave_a_cpu_only_host_scoring_inline():
    assert auto_workers(accelerator=False, cores=2) == 0
    assert auto_workers(accelerator=False, cores=64) == 0
    assert auto_workers(accelerator=True, cores=16) == 15
    assert auto_workers(accelerator=True, cores=1) == 1


# --- a grid scored by the pool -----------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_cells(tmp_path_factory):
    """Three tiny cells, trained but not scored, and the preset that made them."""
    preset = dataclasses.replace(load_preset("smoke").with_overrides(models=["vae"], latent_dims=[2, 3, 4], steps=20),
                                 metric_settings=FAST_SETTINGS)
    root = tmp_path_factory.mktemp("trained") / "results"
    record_cells(root, {cell.name: cell.to_params() for cell in preset.cells()})
    for cell in preset.cells():
        train_cells([cell], root)
        assert cell_status(root / cell.name) == CellStatus.DONE
    return preset, root


def _scores_and_settings(root: Path) -> dict:
    return {path.parent.relative_to(root).as_posix(): {k: v for k, v in read_json(path).items() if k != "seconds"}
            for path in sorted(root.rglob(METRICS_FILE))}


@pytest.mark.slow
def test_two_workers_score_exactly_like_inline_scoring(trained_cells, tmp_path):
    preset, trained = trained_cells
    outcomes = {}
    for workers in (0, 2):
        root = tmp_path / f"workers{workers}"
        shutil.copytree(trained, root)
        run_grid(make_plan(preset), root, Console(file=open(os.devnull, "w")), score_workers=workers)
        outcomes[workers] = _scores_and_settings(root)
    assert len(outcomes[0]) == 3
    assert all(set(record["settings"]) == set(metric_names()) for record in outcomes[0].values())
    assert outcomes[2] == outcomes[0]


# --- the command line ---------------------------------------------------------------------------

def _scoring_workers_of(pid: int) -> list[int]:
    """Children of ``pid`` started by multiprocessing's spawn method."""
    children = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"spawn_main" in command:
            children.append(int(proc.name))
    return children


@pytest.mark.slow
def test_cli_with_score_workers_survives_a_killed_worker_and_scores_every_cell(tmp_path):
    results = tmp_path / "results"
    process = subprocess.Popen([*VAEBENCH, *TWO_CELLS, "--score-workers", "2", "--results", str(results)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def mid_scoring():
        for path in results.rglob(METRICS_FILE):
            if 0 < len(read_json(path)["seconds"]) < len(metric_names()):
                return True
        return process.poll() is not None

    assert _wait_until(mid_scoring, 600) and process.poll() is None, "never saw a cell half scored"
    killed = _scoring_workers_of(process.pid)
    assert len(killed) == 2
    for pid in killed:
        os.kill(pid, signal.SIGKILL)

    def new_workers():
        return [pid for pid in _scoring_workers_of(process.pid) if pid not in killed]

    _wait_until(lambda: len(new_workers()) == 2 or process.poll() is not None, 60)
    replacements = new_workers()
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out[-2000:] + err[-3000:]
    assert err == ""  # no backend start-up noise from the workers, no traceback
    assert "scoring in 2 worker processes" in out and "not scored" not in out
    assert "2 done, 0 failed, 0 pending" in out
    for path in results.rglob(PARAMS_FILE):
        assert set(read_json(path.parent / METRICS_FILE)["seconds"]) == set(metric_names())
    assert len(replacements) == 2, "killed workers were not replaced"
    assert not [pid for pid in killed + replacements if _alive(pid)], "workers outlived the run"


def test_cli_refuses_bad_score_workers_before_writing_anything(tmp_path, capsys):
    for extra, message in [(["--score-workers", "-1"], "bad --score-workers -1"),
                           (["--score-workers", "2", "--executor", "ray"], "--score-workers is for --executor local")]:
        code, _, err = run_in_process([*TWO_CELLS, *extra, "--results", tmp_path / "r"], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
        assert not (tmp_path / "r").exists()
