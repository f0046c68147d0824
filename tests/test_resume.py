"""End to end: `vaebench run grid` killed with kill -9 and run again gives what an uninterrupted run gives.

Each test runs the CLI in subprocesses, as a user does, on a tiny grid written as a preset file.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import VAEBENCH, run_vaebench, write_preset

from vaebench.metrics.spec import metric_names
from vaebench.results.experiments import load_experiments, load_network
from vaebench.results.files import STAGING_DIR, TMP_FILE
from vaebench.results.layout import DECODER, HISTORY_FILE, METRICS_FILE, PARAMS_FILE
from vaebench.results.records import CellStatus, cell_status


def recorded_metrics(cell_dir: Path) -> set:
    """The metrics metrics.json says are computed (empty while it is missing)."""
    try:
        return set(json.loads((cell_dir / METRICS_FILE).read_text())["seconds"])
    except FileNotFoundError:
        return set()


def leftovers(root: Path) -> list[Path]:
    """Hidden temporary files and staging folders, anywhere under ``root``."""
    return [p for p in root.rglob(".*") if TMP_FILE.fullmatch(p.name) or STAGING_DIR.fullmatch(p.name)]


def cell_dirs(root: Path) -> dict[str, Path]:
    return {experiment.name: experiment.path for experiment in load_experiments(root)}


def finished_at(cell_dir: Path) -> str:
    return json.loads((cell_dir / PARAMS_FILE).read_text())["finished_at"]


# --- 1. kill -9 during scoring ----------------------------------------------

NOISY_CELL = "noisy_dsprites32/vae/conv/z2/s0"


@pytest.mark.slow
def test_kill_minus_nine_during_scoring_then_rerun_gives_the_scores_of_an_uninterrupted_run(tmp_path):
    """noisy_dsprites renders its noise from a random stream: a resumed scoring must draw what an uninterrupted one drew.

    The kill lands after `mig` is recorded (it draws and renders the codes DCI, SAP and modularity share)
    and before `dci`: the rerun renders those codes again in a fresh process, after `beta_vae` and
    `factor_vae` have rendered theirs. A kill before `mig` would not tell a shared render stream apart.
    """
    preset = write_preset(tmp_path / "noisy.toml", dataset="noisy_dsprites", models=["vae"], families=["conv"],
                          latent_dims=[2], seeds=[0], steps=30)

    def command(results: Path) -> list:
        return [*VAEBENCH, "run", "grid", "--preset", str(preset), "--score-workers", "0", "--no-references",
                "--results", str(results)]

    uninterrupted = subprocess.run(command(tmp_path / "A"), capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    all_metrics = set(metric_names())
    for attempt in range(3):  # a loaded machine may let the whole window pass between two polls: try again afresh
        results = tmp_path / f"B{attempt}"
        cell = results / NOISY_CELL
        process = subprocess.Popen(command(results), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while "mig" not in recorded_metrics(cell) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        at_kill = recorded_metrics(cell)
        assert (cell / PARAMS_FILE).exists() and at_kill, "the run was not scoring yet when killed"
        if "dci" not in at_kill:
            break
    assert "mig" in at_kill and "dci" not in at_kill and at_kill < all_metrics, \
        f"three kills all missed the window between mig and dci; recorded at the last kill: {sorted(at_kill)}"
    trained_at = finished_at(cell)

    resumed = subprocess.run(command(results), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "1 cells, 1 already trained, 0 to train" in resumed.stdout
    assert finished_at(cell) == trained_at, "the rerun retrained a trained cell"

    a, b = cell_dirs(tmp_path / "A"), cell_dirs(results)
    assert sorted(a) == sorted(b) == [NOISY_CELL]
    for name in a:
        assert (a[name] / HISTORY_FILE).read_text() == (b[name] / HISTORY_FILE).read_text(), \
            "training itself differed between the two runs: the scores cannot be compared"
        scores_a, scores_b = (json.loads((d[name] / METRICS_FILE).read_text()) for d in (a, b))
        assert set(scores_a["seconds"]) == set(scores_b["seconds"]) == all_metrics
        differing = {key: (scores_a["scores"].get(key), scores_b["scores"].get(key))
                     for key in scores_a["scores"].keys() | scores_b["scores"].keys()
                     if scores_a["scores"].get(key) != scores_b["scores"].get(key)}
        assert not differing, f"killed after {sorted(at_kill)}, the rerun scored differently: {differing}"
    assert not leftovers(results)


# --- 2. a packed run killed mid-pack ----------------------------------------

# conv: a pack of conv cells rounds differently from a smaller pack (mlp ones came out bit-identical on the CPU)
PACK_CELLS = ["dsprites32/beta_vae-beta4/conv/z2/s0", "dsprites32/beta_vae-beta4/conv/z2/s1"]
JAX = {**os.environ, "KERAS_BACKEND": "jax"}


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """An uninterrupted packed run (two β-VAE seeds in one pack, JAX) and the command that made it."""
    folder = tmp_path_factory.mktemp("packed")
    preset = write_preset(folder / "packed.toml", models=["beta_vae"], families=["conv"], latent_dims=[2], seeds=[0, 1],
                          steps=40, log_every=10)

    def command(results: Path) -> list:
        return ["run", "grid", "--preset", preset, "--pack", "2", "--score-workers", "0", "--no-references", "--results", results]

    run = run_vaebench(*command(folder / "A"), env=JAX, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 cells, 0 already trained, 2 to train" in run.stdout
    results = folder / "A"
    assert sorted(cell_dirs(results)) == PACK_CELLS
    for name in PACK_CELLS:
        assert json.loads((results / name / PARAMS_FILE).read_text())["pack_size"] == 2
    return command, results


def assert_same_history(a: Path, b: Path) -> None:
    history_a, history_b = pd.read_csv(a / HISTORY_FILE), pd.read_csv(b / HISTORY_FILE)
    assert list(history_a.columns) == list(history_b.columns)
    assert history_a["step"].tolist() == history_b["step"].tolist() == [10, 20, 30, 40]
    assert np.allclose(history_a.to_numpy(float), history_b.to_numpy(float), rtol=1e-5, atol=0), \
        f"histories differ:\n{history_a}\n{history_b}"


@pytest.mark.slow
def test_packed_run_killed_while_training_resumes_per_cell(packed, tmp_path):
    command, reference = packed
    results = tmp_path / "B"
    members = [results / name for name in PACK_CELLS]
    process = subprocess.Popen([*VAEBENCH, *map(str, command(results))], env=JAX,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The pack creates its members' directories when it starts; nothing more is written until it has trained.
    deadline = time.monotonic() + 300
    while not all(d.is_dir() for d in members) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert all(d.is_dir() for d in members), "the pack never started"
    assert not any((d / PARAMS_FILE).exists() for d in members), "the pack had finished before the kill"

    resumed = run_vaebench(*command(results), env=JAX, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "2 cells, 0 already trained, 2 to train" in resumed.stdout
    assert sorted(cell_dirs(results)) == PACK_CELLS
    for name in PACK_CELLS:
        assert cell_status(results / name) == CellStatus.DONE
        assert recorded_metrics(results / name) == set(metric_names())
        assert_same_history(reference / name, results / name)
    assert not leftovers(results)


@pytest.mark.slow
def test_deleting_one_cell_of_a_finished_pack_trains_the_same_pack_and_stores_only_that_cell(packed, tmp_path):
    """As a kill between the stores of a pack's members leaves it: the rerun forms the same pack, so the cell
    comes out exactly as in the uninterrupted run (a smaller pack rounds differently)."""
    command, reference = packed
    results = tmp_path / "results"
    shutil.copytree(reference, results)
    kept, deleted = (results / name for name in PACK_CELLS)
    kept_at = finished_at(kept)
    shutil.rmtree(deleted)

    rerun = run_vaebench(*command(results), env=JAX, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "2 cells, 1 already trained, 1 to train" in rerun.stdout
    assert finished_at(kept) == kept_at, "the finished cell was stored again"
    assert cell_status(deleted) == CellStatus.DONE
    assert json.loads((deleted / PARAMS_FILE).read_text())["pack_size"] == 2
    assert (deleted / HISTORY_FILE).read_text() == (reference / PACK_CELLS[1] / HISTORY_FILE).read_text()
    z = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    decoded = [load_network(d, DECODER).predict(z, verbose=0) for d in (reference / PACK_CELLS[1], deleted)]
    assert np.array_equal(*decoded), "the resumed cell differs from the uninterrupted run's"
