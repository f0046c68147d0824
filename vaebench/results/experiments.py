"""The Python API's view of a results dir: its cells as Experiments, their scores, calibration rows and
checkpoints as tidy frames, and the stored networks (Keras is imported only when weights load)."""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

from vaebench.errors import VaebenchError
from vaebench.results.files import check_entry, check_path, check_tree, results_dir_error
from vaebench.results.layout import (DECODER, ENCODER, METRICS_FILE, NETWORKS, PARAMS_FILE, REFERENCES_DIR,
                                     network_file, reference_dirs, reference_parts, snapshot_dirs)
from vaebench.results.records import (CHECKPOINT_COLUMNS, CellStatus, Metrics, Params, read_checkpoints, read_history,
                                      read_metrics, read_params)


@dataclass
class Experiment:
    """One cell of a results dir: its params.json record, history, metrics, checkpoints, and lazily loaded models."""

    name: str
    path: Path
    record: Params
    _models: dict = field(default_factory=dict, repr=False)

    @property
    def status(self) -> CellStatus:
        return self.record.status

    @cached_property
    def metrics(self) -> Metrics | None:
        return read_metrics(self.path)

    @property
    def scores(self) -> dict:
        return self.metrics.scores if self.metrics else {}

    @cached_property
    def snapshots(self) -> dict[int, Metrics]:
        """The scores of the weights kept at earlier steps (step -> metrics.json record); empty for a cell without them."""
        return {step: record for step, folder in snapshot_dirs(self.path).items() if (record := read_metrics(folder))}

    @cached_property
    def history(self):
        return read_history(self.path)

    @cached_property
    def checkpoints(self):
        """Scores along training (step, metric, value); empty for a cell trained without them."""
        return read_checkpoints(self.path)

    @property
    def encoder(self):
        return self._load_model(ENCODER)

    @property
    def decoder(self):
        return self._load_model(DECODER)

    @property
    def has_models(self) -> bool:
        return all((self.path / network_file(network)).is_file() for network in NETWORKS)

    def _load_model(self, network: str):
        if network not in self._models:
            self._models[network] = load_network(self.path, network)
        return self._models[network]

    def matches(self, where: dict | None) -> bool:
        if not where:
            return True
        flat = {**self.record.hparams, **self.record.to_json()}
        for key, wanted in where.items():
            options = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            if flat.get(key) not in options:
                return False
        return True


def load_network(cell_dir: Path, network: str):
    """The stored Keras network ``network`` (e.g. ``encoder``) of a trained cell; a VaebenchError if the cell kept no weights."""
    path = Path(cell_dir) / network_file(network)
    if check_entry(path) is None or not path.is_file():
        raise VaebenchError(f"{cell_dir} has no {path.name}: this results dir does not keep its weights "
                            "(a published grid keeps only what its report needs); train the cell again to get them")
    import keras

    try:
        return keras.saving.load_model(path)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
        # Keras reports a truncated or foreign file as "File not found" (ValueError) or a zip error
        raise _corrupt_network(path) from None


def check_networks(folder: Path) -> None:
    """Check, without Keras, that each network file in ``folder`` (a cell or one of its snapshots) is a whole
    ``.keras`` archive, every member read back against its checksum: a command that will load them refuses a
    truncated or damaged one before it changes anything."""
    stored = {path.stem: path for path in Path(folder).iterdir()
              if path.suffix == ".keras" and not path.name.startswith(".")}  # hidden: a killed command's temporary file
    in_loading_order = [name for name in NETWORKS if name in stored] + sorted(set(stored) - set(NETWORKS))
    for path in (stored[name] for name in in_loading_order):
        check_entry(path)
        try:
            with zipfile.ZipFile(path) as archive:
                whole = archive.testzip() is None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error):
            whole = False
        if not whole:
            raise _corrupt_network(path)


def _corrupt_network(path: Path) -> VaebenchError:
    return VaebenchError(f"corrupt results file {path}: cannot be loaded as a Keras model; "
                         "train the cell again (remove its directory)")


def load_experiments(results_dir, where: dict | None = None, include_failed: bool = False) -> list[Experiment]:
    """Every trained cell under ``results_dir`` whose params match ``where``, sorted by name.

    ``where`` maps a parameter (``model``, ``latent_dim``, ``seed``, ``family``,
    ``dataset``, or a hyperparameter such as ``beta``) to a value or a list of
    accepted values. Models load on first access of ``.encoder``/``.decoder``.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise results_dir_error(root)
    experiments = []
    for params_path in sorted(root.rglob(PARAMS_FILE)):
        parts = params_path.relative_to(root).parts
        if any(part.startswith(".") for part in parts) or parts[0] == REFERENCES_DIR:
            continue  # a staging folder or other temporary copy, or a calibration row: never a cell
        check_path(root, params_path)
        check_tree(params_path.parent)
        params = read_params(params_path.parent)
        if params.status != CellStatus.DONE and not (include_failed and params.status == CellStatus.FAILED):
            continue
        experiment = Experiment(params.name, params_path.parent, params)
        if experiment.matches(where):
            experiments.append(experiment)
    return experiments


PARAM_COLUMNS = ("name", "dataset", "image_size", "model", "family", "latent_dim", "seed", "steps")


def metrics_frame(experiments: Iterable[Experiment]):
    """A tidy DataFrame: one row per (cell, metric), with the cell's parameters as columns.

    ``value`` is NaN where the metric does not apply; ``note`` then says why.
    """
    import pandas as pd

    return pd.DataFrame([row for experiment in experiments for row in _score_rows(_cell_columns(experiment), experiment.scores)])


def scores_by_step_frame(experiments: Iterable[Experiment]):
    """The full-protocol scores of each cell at its snapshot steps and at its last step: :func:`metrics_frame`'s
    rows with a ``step`` column. Cells without snapshots give their last step's rows only."""
    import pandas as pd

    rows = []
    for experiment in experiments:
        base = _cell_columns(experiment)
        scored = {**experiment.snapshots, experiment.record.steps: experiment.metrics}
        for step, record in scored.items():
            rows += _score_rows({**base, "step": step}, record.scores if record else {})
    return pd.DataFrame(rows)


def _score_rows(base: dict, scores: dict) -> list[dict]:
    """One row per score: ``value`` NaN and ``note`` its "n/a: ..." reason where the score does not apply."""
    rows = []
    for metric, value in sorted(scores.items()):
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        rows.append({**base, "metric": metric, "value": float(value) if numeric else math.nan,
                     "note": None if numeric else str(value)})
    return rows


# --- calibration rows --------------------------------------------------------

def load_references(results_dir):
    """The calibration rows of a results dir as a tidy DataFrame, without Keras: one row per (row, score).

    Columns: dataset (as cell names spell it, e.g. ``dsprites32``), reference (the kind: mean_image, chance,
    pca, random, untrained), family, latent_dim, seed (missing where the kind has none), metric, value (NaN
    where the score does not apply) and note (then its "n/a: ..." reason). Empty when none are stored.
    """
    import pandas as pd

    root = Path(results_dir)
    if not root.is_dir():
        raise results_dir_error(root)
    rows = []
    for name, folder in reference_dirs(root).items():
        rows += _score_rows(reference_parts(name, folder / METRICS_FILE), read_metrics(folder).scores)
    columns = ["dataset", "reference", "family", "latent_dim", "seed", "metric", "value", "note"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"latent_dim": "Int64", "seed": "Int64", "value": float})


def checkpoints_frame(experiments: Iterable[Experiment]):
    """A tidy DataFrame of the scores along training: one row per (cell, step, metric), with the cell's parameters."""
    import pandas as pd

    frames = [experiment.checkpoints.assign(**_cell_columns(experiment)) for experiment in experiments]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(CHECKPOINT_COLUMNS))


def _cell_columns(experiment: Experiment) -> dict:
    """The cell's parameters as the columns of a tidy frame (hyperparameters prefixed ``hp_``)."""
    columns = {column: getattr(experiment.record, column) for column in PARAM_COLUMNS}
    columns.update({f"hp_{key}": value for key, value in experiment.record.hparams.items()})
    return columns
