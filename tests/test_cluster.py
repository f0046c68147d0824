"""Beyond one process: Ray tasks (shared file system or not, a worker killed mid-cell, fractional GPUs), shards and merge.

Every route must give the same cells as the local executor: the same
params.json (apart from timings and the environment) and the same scores.
"""

import dataclasses
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from conftest import VAEBENCH, run_in_process, run_vaebench
from vaebench import load_experiments
from vaebench.errors import VaebenchError
from vaebench.grid import load_preset
from vaebench.metrics import FAST_SETTINGS
from vaebench.results.files import write_json, write_text
from vaebench.results.layout import HISTORY_FILE, PARAMS_FILE
from vaebench.results.records import read_grid, record_cells
from vaebench.run.shards import parse_shard, shard_cells

#: the grid these tests distribute: the session's smoke grid at z = 2 (its cells are compared with the smoke grid's,
#: not trained twice locally) without calibration rows (these tests compare cells); two cells suffice for a killed
#: worker's retry, three for three shards
SMOKE_AT_Z2 = ["run", "grid", "--preset", "smoke", "--latent-dims", "2", "--no-references"]
TWO_CELLS = [*SMOKE_AT_Z2, "--models", "vae,beta_vae"]
THREE_CELLS = [*SMOKE_AT_Z2, "--models", "ae,vae,beta_vae"]
VOLATILE = {"environment", "wall_seconds", "finished_at", "images_per_second"}


def _outcome(root: Path) -> dict:
    """Cell name -> (params without timings/environment, scores)."""
    def steady(params: dict) -> dict:
        kept = {k: v for k, v in params.items() if k not in VOLATILE}
        if "checkpoints" in kept:  # the seconds its checkpoints took are a timing too
            kept["checkpoints"] = {k: v for k, v in kept["checkpoints"].items() if k != "seconds"}
        return kept
    return {e.name: (steady(e.record.to_json()), e.scores) for e in load_experiments(root)}


def _assert_same_cells(root: Path, reference: Path, count: int) -> None:
    got = _outcome(root)
    expected = {name: value for name, value in _outcome(reference).items() if name in got}
    assert sorted(got) == sorted(expected) and len(got) == count
    for name, (params, scores) in got.items():
        assert params == expected[name][0], name
        assert scores.keys() == expected[name][1].keys(), name
        for key, value in scores.items():
            if isinstance(value, str):  # "n/a: …"
                assert value == expected[name][1][key], (name, key)
            else:
                assert value == pytest.approx(expected[name][1][key], rel=1e-5, abs=1e-6), (name, key)


def _tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _ray_task_pids() -> list[int]:
    """Processes whose title says they are training a vaebench pack right now."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::train_task"):
            pids.append(int(proc.name))
    return pids


@pytest.mark.slow
@pytest.mark.ray
def test_ray_without_a_shared_file_system_retries_a_worker_killed_mid_cell_and_matches_local(smoke_results, tmp_path):
    """Workers return each cell's files to the driver; the shared-file-system route is the quarter-GPU test's."""
    results = tmp_path / "ray"
    process = subprocess.Popen([*VAEBENCH, *TWO_CELLS, "--executor", "ray", "--no-shared-fs", "--results", str(results)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.time() + 240
    while killed is None and time.time() < deadline and process.poll() is None:
        pids = _ray_task_pids()
        if pids:
            time.sleep(1.0)  # let the task get into training
            try:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
            except ProcessLookupError:
                continue
        time.sleep(0.1)
    out, err = process.communicate(timeout=600)
    assert killed is not None, "never saw a Ray worker running a cell: " + err[-2000:]
    assert process.returncode == 0, out[-2000:] + err[-3000:]
    assert "via Ray (1 CPU, 0 GPU per training task)" in out
    assert "2 done, 0 failed, 0 pending" in out
    assert not [p for p in results.rglob("*") if ".tmp" in p.name or ".staging-" in p.name]
    _assert_same_cells(results, smoke_results, 2)


@pytest.mark.slow
@pytest.mark.ray
def test_ray_places_four_quarter_gpu_cells_on_one_gpu_at_once_and_scores_without_gpus(tmp_path):
    import ray

    from vaebench.environment import backend
    from vaebench.run.plan import make_plan
    from vaebench.run.ray_executor import RayOptions, run_grid_on_ray

    preset = dataclasses.replace(load_preset("smoke").with_overrides(models=["vae"], latent_dims=[2, 3, 4, 5], steps=20),
                                 metric_settings=FAST_SETTINGS)
    # Ray schedules by resource counts, so a declared GPU places tasks exactly as a real one would
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"KERAS_BACKEND": backend(), "TF_CPP_MIN_LOG_LEVEL": "2"}})
    training_at_once, done = [], threading.Event()

    def watch():
        while not done.is_set():
            training_at_once.append(len(_ray_task_pids()))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    out = io.StringIO()
    try:
        run_grid_on_ray(make_plan(preset), tmp_path / "results", Console(file=out, width=200), RayOptions(gpus_per_cell=0.25))
    finally:
        done.set()
        watcher.join()
        ray.shutdown()
    assert "via Ray (1 CPU, 0.25 GPU per training task)" in out.getvalue()
    assert max(training_at_once) == 4, f"at most {max(training_at_once)} of the four quarter-GPU cells trained at once"
    experiments = load_experiments(tmp_path / "results")
    assert len(experiments) == 4 and all(e.status == "done" and e.scores for e in experiments)


def test_ray_missing_is_a_one_line_error_saying_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds where Ray is not installed
    code, _, err = run_in_process([*TWO_CELLS, "--executor", "ray", "--results", tmp_path / "r"], capsys)
    assert code == 2
    assert err.strip() == "error: --executor ray needs Ray, which is not installed: pip install 'vaebench[ray]'"
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_three_shards_at_once_then_merge_equal_the_single_run(smoke_results, tmp_path):
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    runs = [subprocess.Popen([*VAEBENCH, *THREE_CELLS, "--shard", f"{k}/3", "--results", str(shard)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # as a job array runs them
            for k, shard in enumerate(shards, start=1)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-3000:]
    assert [len(read_grid(shard).cells) for shard in shards] == [1, 1, 1]
    merged = tmp_path / "merged"
    run = run_vaebench("merge", *shards, "--into", merged)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "3 cells copied" in run.stdout
    assert len(read_grid(merged).cells) == 3
    _assert_same_cells(merged, smoke_results, 3)
    before = _tree_digest(merged)
    again = run_vaebench("merge", *shards, "--into", merged)
    assert again.returncode == 0 and "0 cells copied, 3 already there" in again.stdout
    assert _tree_digest(merged) == before


def _fake_results(root: Path, cells: dict[str, dict], finished: dict[str, str]) -> Path:
    """A results dir written by hand: grid.json, and params.json + a history (its one row's loss column says
    ``marker``, telling runs apart) for finished cells."""
    record_cells(root, cells)
    for name, marker in finished.items():
        write_json(root / name / PARAMS_FILE, {**cells[name], "status": "done"})
        write_text(root / name / HISTORY_FILE, f"step,loss\n10,{marker}\n")
    return root


def test_merge_refuses_conflicts_and_writes_nothing(tmp_path):
    a_params = {"name": "d/vae/conv/z2/s0", "steps": 10, "hparams": {}}
    target = _fake_results(tmp_path / "target", {"d/vae/conv/z2/s0": a_params}, {"d/vae/conv/z2/s0": "run A"})
    different_params = _fake_results(tmp_path / "other-params", {"d/vae/conv/z2/s0": {**a_params, "steps": 20}}, {})
    different_files = _fake_results(tmp_path / "other-files", {"d/vae/conv/z2/s0": a_params,
                                                                "d/vae/conv/z4/s0": {**a_params, "name": "d/vae/conv/z4/s0"}},
                                    {"d/vae/conv/z2/s0": "run B", "d/vae/conv/z4/s0": "new"})
    not_results = tmp_path / "plain"
    not_results.mkdir()
    before = _tree_digest(target)
    for source, message in [(different_params, "has different parameters in"),
                            (different_files, "is finished in both"),
                            (not_results, "is not a results dir"),
                            (tmp_path / "missing", "is not a results dir")]:
        run = run_vaebench("merge", source, "--into", target)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in run.stderr
        assert _tree_digest(target) == before


def test_shards_partition_every_grid_evenly_and_deterministically():
    cells = load_preset("paper").cells()
    for n in (1, 2, 7, len(cells) + 3):
        parts = [shard_cells(cells, k, n) for k in range(1, n + 1)]
        names = [cell.name for part in parts for cell in part]
        assert sorted(names) == sorted(cell.name for cell in cells)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        assert parts == [shard_cells(list(reversed(cells)), k, n) for k in range(1, n + 1)]
    assert parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "1", "a/b", "1/0", "-1/2"):
        with pytest.raises(VaebenchError, match="bad --shard"):
            parse_shard(bad)
