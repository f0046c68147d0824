"""The results store: one directory per cell, every file written atomically.

Layout of a results directory::

    grid.json                      every cell ever asked for here: {"cells": {name: params},
                                   "presets": {preset name: its description}}
    <dataset>/<model>/<family>/z<latent>/s<seed>/
        params.json                the cell's parameters, environment, status; written last
        history.csv                loss terms every ``log_every`` steps
        metrics.json               {"scores": {key: float | "n/a: reason"}, "settings": {...}, "seconds": {...}}
        encoder.keras, decoder.keras
        pictures/                  the report's pictures of the cell, drawn by ``vaebench build-site``
                                   from the weights and kept so the report rebuilds without them

A cell is *done* or *failed* once its ``params.json`` exists with that
``status``; anything else in its directory is leftover from an interrupted
run and is replaced when the cell trains again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from vaebench.errors import VaebenchError

GRID_FILE = "grid.json"
PARAMS_FILE = "params.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
MODEL_FILES = ("encoder.keras", "decoder.keras")
PICTURES_DIR = "pictures"


# --- atomic writes -----------------------------------------------------------

@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def save_keras(model, path: Path) -> None:
    """``model.save`` to a temporary ``.keras`` file, then rename into place."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        raise VaebenchError(f"corrupt results file {path}: {error}") from None


def check_writable(root: Path) -> None:
    """Fail with a one-line error, before any work, when ``root`` cannot hold results."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
            pass
    except OSError as error:
        raise VaebenchError(f"results dir {root} cannot be written: {error.strerror or error}") from None


# --- the grid file -----------------------------------------------------------

def read_grid(root: Path) -> dict[str, dict]:
    """Cell name -> params of every cell recorded in ``root/grid.json`` ({} when absent)."""
    path = Path(root) / GRID_FILE
    if not path.exists():
        return {}
    grid = read_json(path)
    if not isinstance(grid, dict) or not isinstance(grid.get("cells"), dict):
        raise VaebenchError(f"corrupt results file {path}: expected an object with a 'cells' object")
    return grid["cells"]


def grid_dirs(root: Path) -> list[Path]:
    """Every results dir at or below ``root`` (a folder holding a ``grid.json``), sorted."""
    return sorted(path.parent for path in Path(root).rglob(GRID_FILE))


def read_presets(root: Path) -> dict[str, str]:
    """Preset name -> description of every preset that ran into ``root`` ({} when unknown)."""
    path = Path(root) / GRID_FILE
    presets = read_json(path).get("presets", {}) if path.exists() else {}
    return presets if isinstance(presets, dict) else {}


def record_cells(root: Path, cells: dict[str, dict], presets: dict[str, str] | None = None) -> None:
    """Add cells (and the presets they came from) to ``grid.json``; refuse (touching nothing) a name recorded with other params."""
    recorded = read_grid(root)
    for name, params in cells.items():
        old = recorded.get(name)
        if old is not None and old != params:
            changed = sorted(key for key in set(old) | set(params) if old.get(key) != params.get(key))
            raise VaebenchError(
                f"results dir {root} already holds cell {name} with other settings ({', '.join(changed)}); "
                "use another --results dir or the settings it was trained with"
            )
    write_json(Path(root) / GRID_FILE, {"cells": {**recorded, **cells}, "presets": {**read_presets(root), **(presets or {})}})


# --- reading cells back ------------------------------------------------------

def cell_status(cell_dir: Path) -> str:
    """"done", "failed" or "pending" (no params.json yet)."""
    path = Path(cell_dir) / PARAMS_FILE
    if not path.exists():
        return "pending"
    return read_json(path).get("status", "pending")


def reset_cell_dir(cell_dir: Path) -> None:
    """Remove what an interrupted run left in a cell directory before it trains again."""
    cell_dir = Path(cell_dir)
    if cell_dir.is_dir():
        for child in cell_dir.iterdir():
            if child.is_file():
                child.unlink()
            elif child.is_dir() and child.name in ("logs", PICTURES_DIR):
                shutil.rmtree(child)


def replace_cell_dir(cell_dir: Path, fill) -> None:
    """Build a (cell) directory with ``fill(staging_dir)`` beside it, then swap it in with one rename.

    Readers see the old directory or the new one, never a half-filled one.
    """
    cell_dir = Path(cell_dir)
    cell_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cell_dir.name}.staging-", dir=cell_dir.parent))
    try:
        fill(staging)
        if cell_dir.exists():
            shutil.rmtree(cell_dir)
        os.replace(staging, cell_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def pack_cell_dir(cell_dir: Path) -> dict[str, bytes]:
    """Every file of a cell directory as {relative path: bytes} (empty when it does not exist)."""
    cell_dir = Path(cell_dir)
    if not cell_dir.is_dir():
        return {}
    return {str(path.relative_to(cell_dir)): path.read_bytes() for path in sorted(cell_dir.rglob("*")) if path.is_file()}


def unpack_cell_dir(files: dict[str, bytes], cell_dir: Path) -> None:
    """Write what :func:`pack_cell_dir` returned into ``cell_dir``."""
    for relative, content in files.items():
        path = Path(cell_dir) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@dataclass
class Experiment:
    """One cell of a results dir: params, history, metrics, and lazily loaded models."""

    name: str
    path: Path
    params: dict
    status: str
    _models: dict = field(default_factory=dict, repr=False)

    @cached_property
    def metrics(self) -> dict | None:
        path = self.path / METRICS_FILE
        return read_json(path) if path.exists() else None

    @property
    def scores(self) -> dict:
        return (self.metrics or {}).get("scores", {})

    @cached_property
    def history(self):
        import pandas as pd

        path = self.path / HISTORY_FILE
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    @property
    def encoder(self):
        return self._load_model("encoder.keras")

    @property
    def decoder(self):
        return self._load_model("decoder.keras")

    @property
    def has_models(self) -> bool:
        return all((self.path / filename).is_file() for filename in MODEL_FILES)

    def _load_model(self, filename: str):
        if filename not in self._models:
            self._models[filename] = load_network(self.path, filename)
        return self._models[filename]

    def matches(self, where: dict | None) -> bool:
        if not where:
            return True
        flat = {**self.params.get("hparams", {}), **self.params}
        for key, wanted in where.items():
            options = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            if flat.get(key) not in options:
                return False
        return True


def load_network(cell_dir: Path, filename: str):
    """A stored Keras network of a trained cell; a VaebenchError if the cell kept no weights."""
    path = Path(cell_dir) / filename
    if not path.is_file():
        raise VaebenchError(f"{cell_dir} has no {filename}: this results dir does not keep its weights "
                            "(a published grid keeps only what its report needs); train the cell again to get them")
    import keras

    return keras.saving.load_model(path)


def load_experiments(results_dir, where: dict | None = None, include_failed: bool = False) -> list[Experiment]:
    """Every trained cell under ``results_dir`` whose params match ``where``, sorted by name.

    ``where`` maps a parameter (``model``, ``latent_dim``, ``seed``, ``family``,
    ``dataset``, or a hyperparameter such as ``beta``) to a value or a list of
    accepted values. Models load on first access of ``.encoder``/``.decoder``.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise VaebenchError(f"results dir {root} does not exist")
    experiments = []
    for params_path in sorted(root.rglob(PARAMS_FILE)):
        params = read_json(params_path)
        status = params.get("status", "pending")
        if status != "done" and not (include_failed and status == "failed"):
            continue
        experiment = Experiment(params["name"], params_path.parent, params, status)
        if experiment.matches(where):
            experiments.append(experiment)
    return experiments


PARAM_COLUMNS = ("name", "dataset", "image_size", "model", "family", "latent_dim", "seed", "steps")


def metrics_frame(experiments: Iterable[Experiment]):
    """A tidy DataFrame: one row per (cell, metric), with the cell's parameters as columns.

    ``value`` is NaN where the metric does not apply; ``note`` then says why.
    """
    import pandas as pd

    rows = []
    for experiment in experiments:
        base = {column: experiment.params.get(column) for column in PARAM_COLUMNS}
        base.update({f"hp_{key}": value for key, value in experiment.params.get("hparams", {}).items()})
        for metric, value in sorted(experiment.scores.items()):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            rows.append({**base, "metric": metric, "value": float(value) if numeric else math.nan,
                         "note": None if numeric else str(value)})
    return pd.DataFrame(rows)
