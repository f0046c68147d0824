"""Train one cell with Keras' own ``fit`` and store it.

Batches come from :mod:`vaebench.run.batches`, reproducible from the cell's seed.
``fit`` runs several steps per compiled call (``steps_per_execution``) and the
host reads the logs once per logging interval: the loss's finiteness is kept on
the device (:class:`~vaebench.models.base.FirstNonFinite`), which still names
the exact step where it went bad. Files land in the cell directory atomically;
``params.json`` is written last and marks the cell as finished (done or failed).
"""

from __future__ import annotations

import csv
import io
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import keras

from vaebench.data.base import Dataset
from vaebench.environment import environment, seed_everything, set_precision
from vaebench.grid import Cell
from vaebench.interruption import stop_if_requested
from vaebench.models import get_model_class
from vaebench.models.base import NONFINITE_KEYS
from vaebench.models.likelihoods import likelihood_for
from vaebench.results.files import reset_cell_dir, save_keras, write_text
from vaebench.results.layout import HISTORY_FILE, LOGS_DIR, network_file
from vaebench.results.records import CellStatus, Failure, Params, write_checkpoints, write_params
from vaebench.run.batches import batches

if TYPE_CHECKING:
    from vaebench.run.checkpoints import CheckpointScorer

#: called once per logging interval with (step, mean of the loss over the interval)
ProgressFn = Callable[[int, float], None]

#: the most training steps one compiled call runs; the host sees the loss only between calls
MAX_STEPS_PER_CALL = 50


def steps_per_call(cell: Cell) -> int:
    """The largest count ≤ MAX_STEPS_PER_CALL that divides both the logging interval and the step count,
    so every interval, and training itself, ends exactly at a call's end."""
    common = math.gcd(min(cell.log_every, cell.steps), cell.steps)
    return max(d for d in range(1, min(common, MAX_STEPS_PER_CALL) + 1) if common % d == 0)


def build_model(cell: Cell, dataset: Dataset, precision: str = "float32") -> keras.Model:
    """The cell's model, initialised from its seed, computing at ``precision`` and compiled with its optimiser."""
    set_precision(precision)
    seed_everything(cell.seed)
    model = get_model_class(cell.model).create(cell.family, dataset.shape, cell.latent_dim, seed=cell.seed,
                                               num_classes=dataset.num_classes, likelihood=likelihood_for(dataset.columns),
                                               **dict(cell.hparams))
    model.compile(optimizer=model.make_optimizer(cell.learning_rate), steps_per_execution=steps_per_call(cell))
    return model


def record_interval(interval_start: int, step: int, logs: dict) -> tuple[dict, Failure | None]:
    """The history row of the interval that ended at ``step``, and the failure it saw (None while the loss was finite)."""
    values = {key: float(value) for key, value in logs.items()}
    offset = int(values.pop(NONFINITE_KEYS[0]))
    bad_loss = values.pop(NONFINITE_KEYS[1])
    row = {"step": step, **values}
    if not offset:
        return row, None
    bad_step = interval_start + offset
    return row, Failure(f"loss became {bad_loss} at step {bad_step}", bad_step)


class _Recorder(keras.callbacks.Callback):
    """Keeps one history row per finite interval, stops at the exact step count, and on a non-finite loss;
    scores the weights at the checkpoints that end an interval."""

    def __init__(self, steps: int, log_every: int, on_progress: ProgressFn | None, checkpoints: CheckpointScorer | None):
        super().__init__()
        self.steps = steps
        self.log_every = log_every
        self.on_progress = on_progress
        self.checkpoints = checkpoints
        self.checkpoint_seconds = 0.0  # spent scoring checkpoints after the first interval, left out of the rate
        self.interval_start = 0
        self.step = 0
        self.rows: list[dict] = []
        self.failure: Failure | None = None
        self.first_interval_end: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.interval_start = epoch * self.log_every

    def on_train_batch_end(self, batch, logs=None):
        # no read of the logs here: that would wait for the device after every call
        stop_if_requested()  # between compiled calls: the cell stays pending, nothing of it is stored
        self.step = self.interval_start + batch + 1
        if self.step >= self.steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.first_interval_end is None:
            self.first_interval_end = time.perf_counter()
        row, self.failure = record_interval(self.interval_start, self.step, logs)
        if self.failure:
            self.model.stop_training = True
            return
        self.rows.append(row)
        if self.checkpoints and self.step in self.checkpoints.steps:
            before = self.checkpoints.seconds
            self.checkpoints.at_step(self.step, self.model)
            self.checkpoint_seconds += self.checkpoints.seconds - before
        if self.on_progress:
            self.on_progress(self.step, row["loss"])


def history_csv(rows: list[dict]) -> str:
    columns = ["step", "loss"] + sorted({key for row in rows for key in row} - {"step", "loss"})
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def steady_rate(steps: int, log_every: int, batch_size: int, first_interval_end: float | None,
                finished: float) -> float | None:
    """Images per second after the first logging interval (tracing and compilation left out); None without one."""
    if steps <= log_every or first_interval_end is None:
        return None
    return (steps - log_every) * batch_size / (finished - first_interval_end)


def store_cell(cell: Cell, cell_dir: Path, model: keras.Model, rows: list[dict], failure: Failure | None,
               wall_seconds: float, images_per_second: float | None, pack_size: int = 1,
               checkpoints: CheckpointScorer | None = None, data_fingerprint: dict | None = None,
               precision: str = "float32") -> Params:
    """Write a trained cell's files, ``params.json`` last; return the params written.

    A failed cell keeps its history and checkpoints of the intervals before the failure, and no model files.
    """
    write_text(cell_dir / HISTORY_FILE, history_csv(rows))
    if checkpoints:
        write_checkpoints(cell_dir, checkpoints.rows)
    if not failure:
        for name, network in model.networks().items():
            save_keras(network, cell_dir / network_file(name))
    params = Params(**cell.to_params(), status=CellStatus.FAILED if failure else CellStatus.DONE,
                    card=get_model_class(cell.model).card(cell.model, dict(cell.hparams), model.likelihood),
                    environment=environment(), wall_seconds=round(wall_seconds, 3),
                    images_per_second=None if images_per_second is None else round(images_per_second, 1),
                    pack_size=pack_size, precision=precision,
                    finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    checkpoints=checkpoints.record() if checkpoints else None, data=data_fingerprint, failure=failure)
    write_params(cell_dir, params)
    return params


def train_cell(cell: Cell, dataset: Dataset, cell_dir: Path, on_progress: ProgressFn | None = None,
               tensorboard: bool = False, checkpoints: CheckpointScorer | None = None, precision: str = "float32") -> Params:
    """Train ``cell`` on ``dataset`` into ``cell_dir`` at ``precision`` (see ``environment.PRECISIONS``); return the params.json written.

    A non-finite loss ends training early: the cell is stored as failed with
    the reason and the exact step, and no model files. ``checkpoints`` scores the
    weights at its steps (0: the untrained network) into ``checkpoints.csv``.
    """
    cell_dir = Path(cell_dir)
    reset_cell_dir(cell_dir)
    model = build_model(cell, dataset, precision)
    log_every = min(cell.log_every, cell.steps)
    recorder = _Recorder(cell.steps, log_every, on_progress, checkpoints)
    callbacks = [recorder]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(cell_dir / LOGS_DIR), update_freq=log_every))
    started = time.perf_counter()
    if checkpoints and 0 in checkpoints.steps:
        checkpoints.at_step(0, model)
    model.fit(batches(dataset, get_model_class(cell.model), cell.batch_size, cell.seed), steps_per_epoch=log_every,
              epochs=math.ceil(cell.steps / log_every), shuffle=False, verbose=0, callbacks=callbacks)
    finished = time.perf_counter()
    rate = steady_rate(recorder.step, log_every, cell.batch_size, recorder.first_interval_end,
                       finished - recorder.checkpoint_seconds)
    return store_cell(cell, cell_dir, model, recorder.rows, recorder.failure, finished - started, rate,
                      checkpoints=checkpoints, data_fingerprint=dataset.fingerprint, precision=precision)
