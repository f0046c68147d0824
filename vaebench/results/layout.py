"""The names of everything in a results directory, and the rules of cell and calibration-row names.

Layout of a results directory::

    grid.json                      every cell ever asked for here: {"cells": {name: params},
                                   "presets": {preset name: its description}}
    <dataset>/<model>/<family>/z<latent>/s<seed>/
        params.json                the cell's parameters, environment, status; written last
        history.csv                loss terms every ``log_every`` steps
        checkpoints.csv            scores along training (step, metric, value; see vaebench.run.checkpoints)
        metrics.json               {"scores": {key: float | "n/a: reason"}, "settings": {...}, "seconds": {...}}
        encoder.keras, decoder.keras
                                   the networks (a model may store more: its card's "networks")
        logs/                      TensorBoard's event files, when the run asked for them
        pictures/                  the report's pictures of the cell, drawn when the cell is scored
                                   and kept so the report builds without the weights
            pictures.json, latents.csv and PNGs
        snapshots/step<N>/         the weights at an earlier step that the preset's [checkpoints] snapshots
                                   name, and their metrics.json, scored as the cell's own (a convergence ladder)

    references/<dataset>/          the calibration rows (see :mod:`vaebench.run.references`), scored like cells:
        mean_image/metrics.json    the training set's mean image as every reconstruction
        chance/metrics.json        the chance level of the scores that name a factor (from the metric spec)
        pca/z<latent>/s<seed>/metrics.json, random/z<latent>/s<seed>/metrics.json
        untrained/<family>/z<latent>/s<seed>/metrics.json

    .vaebench.lock, .vaebench.lock.json
                                   the lock every writing command holds (see :mod:`vaebench.results.lock`) and
                                   who holds it

A cell is *done* or *failed* once its ``params.json`` exists with that
``status``; anything else in its directory is leftover from an interrupted
run and is replaced when the cell trains again. Hidden names (``.*``) are
never cells: they are vaebench's temporary files, staging folders and lock.
"""

from __future__ import annotations

import re
from pathlib import Path

from vaebench.errors import VaebenchError

GRID_FILE = "grid.json"
PARAMS_FILE = "params.json"
HISTORY_FILE = "history.csv"
CHECKPOINTS_FILE = "checkpoints.csv"
METRICS_FILE = "metrics.json"
#: the networks every trained cell stores (a model's ``network_names`` starts with them)
ENCODER, DECODER = NETWORKS = ("encoder", "decoder")


def network_file(network: str) -> str:
    """The file a cell stores its network ``network`` in (a model's ``network_names`` name them)."""
    return f"{network}.keras"


MODEL_FILES = tuple(network_file(network) for network in NETWORKS)
LOGS_DIR = "logs"
PICTURES_DIR = "pictures"
PICTURES_FILE = "pictures.json"  # what a cell's pictures folder holds: vaebench.pictures.spec
LATENTS_FILE = "latents.csv"
SNAPSHOTS_DIR = "snapshots"
_SNAPSHOT = re.compile(r"step([1-9][0-9]*)")


def snapshot_dir(cell_dir: Path, step: int) -> Path:
    """Where a cell keeps its weights and scores at ``step`` (a snapshot before its last step)."""
    return Path(cell_dir) / SNAPSHOTS_DIR / f"step{step}"


def snapshot_dirs(cell_dir: Path) -> dict[int, Path]:
    """Step -> folder of every snapshot a cell holds, by step; folders with other names are not snapshots."""
    root = Path(cell_dir) / SNAPSHOTS_DIR
    found = {int(match[1]): path for path in (root.iterdir() if root.is_dir() and not root.is_symlink() else ())
             if path.is_dir() and not path.is_symlink() and (match := _SNAPSHOT.fullmatch(path.name))}
    return dict(sorted(found.items()))
REFERENCES_DIR = "references"
#: each calibration row's kind -> the parts naming one row of that kind below references/<dataset>/<kind>/
REFERENCE_KINDS = {"mean_image": (), "chance": (), "pca": ("latent_dim", "seed"), "random": ("latent_dim", "seed"),
                   "untrained": ("family", "latent_dim", "seed")}
LOCK_FILE = ".vaebench.lock"
LOCK_INFO_FILE = ".vaebench.lock.json"

#: the longest part of a cell name, and the longest name: the site names a page after the whole name (file names
#: stop at 255 bytes), and a results dir nests the parts as folders
MAX_NAME_PART, MAX_NAME = 100, 200
_NAME_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")
_NAME_PARTS = (_NAME_PART, _NAME_PART, _NAME_PART, re.compile(r"z[0-9]+"), re.compile(r"s[0-9]+"))


def is_cell_name(name) -> bool:
    """Whether ``name`` reads like :attr:`vaebench.grid.Cell.name`: five safe parts, none hidden, none ``..``."""
    parts = name.split("/") if isinstance(name, str) and len(name) <= MAX_NAME else []
    return (len(parts) == len(_NAME_PARTS) and parts[0] != REFERENCES_DIR
            and all(len(part) <= MAX_NAME_PART and rule.fullmatch(part) for rule, part in zip(_NAME_PARTS, parts)))


def grid_dirs(root: Path) -> list[Path]:
    """Every results dir at or below ``root`` (a folder holding a ``grid.json``), sorted."""
    return sorted(path.parent for path in Path(root).rglob(GRID_FILE))


def reference_name(dataset: str, kind: str, family: str | None = None, latent_dim: int | None = None,
                   seed: int | None = None) -> str:
    """The folder of one calibration row, relative to the results dir, e.g. ``references/dsprites32/pca/z4/s0``.

    ``dataset`` is spelt as cell names start (``dsprites32``); only the parts ``REFERENCE_KINDS`` names for
    ``kind`` are used.
    """
    values = {"family": family, "latent_dim": f"z{latent_dim}", "seed": f"s{seed}"}
    return "/".join([REFERENCES_DIR, dataset, kind, *(values[part] for part in REFERENCE_KINDS[kind])])


def reference_dirs(root: Path) -> dict[str, Path]:
    """Name (see :func:`reference_name`) -> folder of every calibration row stored under ``root`` with a metrics.json."""
    root = Path(root)
    return {path.parent.relative_to(root).as_posix(): path.parent
            for path in sorted((root / REFERENCES_DIR).rglob(METRICS_FILE))
            if not any(part.startswith(".") for part in path.relative_to(root).parts)}


def reference_parts(name: str, source: Path) -> dict:
    """dataset, reference, family, latent_dim and seed of a calibration row's name; a VaebenchError naming ``source`` otherwise."""
    parts = name.split("/")[1:]
    kind = parts[1] if len(parts) > 1 else None
    layout = REFERENCE_KINDS.get(kind)
    if layout is None or len(parts) != 2 + len(layout) or not _NAME_PART.fullmatch(parts[0]):
        raise VaebenchError(f"corrupt results file {source}: {name} is not a calibration row; expected "
                            f"{REFERENCES_DIR}/<dataset>/<kind>/... with a kind among {', '.join(REFERENCE_KINDS)}")
    row = {"dataset": parts[0], "reference": kind, "family": None, "latent_dim": None, "seed": None}
    for part, value in zip(layout, parts[2:]):
        prefix = {"latent_dim": "z", "seed": "s"}.get(part)
        if prefix and not re.fullmatch(rf"{prefix}[0-9]+", value):
            raise VaebenchError(f"corrupt results file {source}: {value!r} in {name} is not {prefix}<int>")
        row[part] = int(value[1:]) if prefix else value
    return row
