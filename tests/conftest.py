import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

VAEBENCH = [sys.executable, "-m", "vaebench"]
#: a preset's [checkpoints] table turning scores along training off: each checkpoint is one more scoring, and only
#: the tests of scores along training need them
NO_CHECKPOINTS = "[checkpoints]\ncount = 0\n"


def metrics_table(**overrides) -> str:
    """A preset's [metrics] table: every setting's fast value (and ``overrides``); JSON spells these values as TOML does."""
    return "[metrics]\ncounts = \"fast\"\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in overrides.items())


def write_preset(path: Path, metrics: dict | None = None, checkpoints: str = NO_CHECKPOINTS, **keys) -> Path:
    """A preset file: a one-cell VAE grid on 32×32 dSprites (or ``keys``), with the metrics' fast sample counts and
    the ``checkpoints`` table (by default none)."""
    keys = {"description": "test grid", "dataset": "dsprites", "image_size": 32, "models": ["vae"],
            "families": ["conv"], "latent_dims": [2], "seeds": [0], "steps": 30, "batch_size": 32,
            "learning_rate": 1e-3, "log_every": 10, **keys}
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
                    + metrics_table(**(metrics or {})) + checkpoints)
    return path


def run_vaebench(*args, timeout=900, **kwargs):
    """The CLI in a fresh process, exactly as a user runs it."""
    return subprocess.run([*VAEBENCH, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs)


def run_scripts_at_once(scripts: dict) -> dict:
    """``{key: (python source, backend)}`` run in fresh processes at the same time; ``{key: last output line as JSON}``.

    Tests that mostly trace and compile (one core each) finish in about the time of the longest on two cores.
    """
    if any(backend == "jax" for _, backend in scripts.values()):
        pytest.importorskip("jax")
    runs = {key: subprocess.Popen([sys.executable, "-c", source], env={**os.environ, "KERAS_BACKEND": backend},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for key, (source, backend) in scripts.items()}
    reports = {}
    for key, run in runs.items():
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, f"{key}: {err[-3000:]}"
        reports[key] = json.loads(out.strip().splitlines()[-1])
    return reports


def run_jax_script(script: str) -> dict:
    """A Python script in a fresh process under the JAX backend; its last line of output, parsed as JSON."""
    return run_scripts_at_once({"jax": (script, "jax")})["jax"]


def run_in_process(argv, capsys):
    """The entry point in this process, as a user runs it: (exit code, stdout, stderr)."""
    from vaebench.cli import main

    old = sys.argv
    sys.argv = ["vaebench", *map(str, argv)]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


#: the test command runs two xdist workers (pyproject's addopts: ``-n 2 --dist loadgroup``); tests that share one of
#: these expensive fixtures run on one worker, so each is trained once
ONE_WORKER_FIXTURES = {"smoke_results": "smoke grid", "packed": "packed grid", "trained_cells": "scoring-pool cells"}
#: Ray's tests find their tasks among all the machine's processes, so they run one at a time: on the smoke grid's
#: worker, since one of them reads that grid
RAY_GROUP = ONE_WORKER_FIXTURES["smoke_results"]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(items):
    for item in items:
        groups = [RAY_GROUP] if item.get_closest_marker("ray") else []
        groups += [ONE_WORKER_FIXTURES[name] for name in item.fixturenames if name in ONE_WORKER_FIXTURES]
        if groups:
            item.add_marker(pytest.mark.xdist_group(groups[0]))


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory):
    """`vaebench run grid --preset smoke` once for the whole session (read-only for tests)."""
    results = tmp_path_factory.mktemp("smoke") / "results"
    run = run_vaebench("run", "grid", "--preset", "smoke", "--results", results)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return results
