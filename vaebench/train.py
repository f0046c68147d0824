"""Train one cell with Keras' own ``fit`` and store it.

Batches are drawn from the dataset on the fly by a numpy generator seeded
with the cell's seed, so the same seed on the same backend replays the same
batches. Files land in the cell directory atomically; ``params.json`` is
written last and marks the cell as finished (done or failed).
"""

from __future__ import annotations

import csv
import io
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from vaebench import store
from vaebench.data.base import Dataset
from vaebench.environment import environment, seed_everything
from vaebench.grid import Cell
from vaebench.models import get_model_class

#: called after every step with (step, running mean of the loss over the current interval)
ProgressFn = Callable[[int, float], None]


def batches(dataset: Dataset, model_class, batch_size: int, seed: int):
    """An endless stream of training inputs, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    while True:
        yield (model_class.inputs_for(dataset.sample(batch_size, rng), dataset.num_classes),)


class _Recorder(keras.callbacks.Callback):
    """Keeps history rows per interval, stops at the exact step count, and on a non-finite loss."""

    def __init__(self, steps: int, on_progress: ProgressFn | None):
        super().__init__()
        self.steps = steps
        self.on_progress = on_progress
        self.step = 0
        self.rows: list[dict] = []
        self.failure: dict | None = None
        self.first_interval_end: float | None = None

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            self.failure = {"reason": f"loss became {loss} at step {self.step}", "step": self.step}
            self.model.stop_training = True
        elif self.step >= self.steps:
            self.model.stop_training = True
        if self.on_progress:
            self.on_progress(self.step, loss)

    def on_epoch_end(self, epoch, logs=None):
        if self.first_interval_end is None:
            self.first_interval_end = time.perf_counter()
        self.rows.append({"step": self.step, **{key: float(value) for key, value in sorted((logs or {}).items())}})


def _history_csv(rows: list[dict]) -> str:
    columns = ["step", "loss"] + sorted({key for row in rows for key in row} - {"step", "loss"})
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def train_cell(cell: Cell, dataset: Dataset, cell_dir: Path, on_progress: ProgressFn | None = None,
               tensorboard: bool = False) -> dict:
    """Train ``cell`` on ``dataset`` into ``cell_dir``; return the params.json written.

    A non-finite loss ends training early: the cell is stored as failed with
    the reason and step, and no model files.
    """
    cell_dir = Path(cell_dir)
    store.reset_cell_dir(cell_dir)
    cell_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cell.seed)
    model_class = get_model_class(cell.model)
    model = model_class.create(cell.family, dataset.shape, cell.latent_dim, seed=cell.seed,
                               num_classes=dataset.num_classes, **dict(cell.hparams))
    model.compile(optimizer=model.make_optimizer(cell.learning_rate))

    log_every = min(cell.log_every, cell.steps)
    recorder = _Recorder(cell.steps, on_progress)
    callbacks = [recorder]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(cell_dir / "logs"), update_freq=log_every))
    started = time.perf_counter()
    model.fit(batches(dataset, model_class, cell.batch_size, cell.seed), steps_per_epoch=log_every,
              epochs=math.ceil(cell.steps / log_every), shuffle=False, verbose=0, callbacks=callbacks)
    finished = time.perf_counter()

    store.write_text(cell_dir / store.HISTORY_FILE, _history_csv(recorder.rows))
    params = {**cell.to_params(), "environment": environment(), "wall_seconds": round(finished - started, 3),
              "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    params["card"] = model_class.card(cell.model, dict(cell.hparams))
    steady_steps = recorder.step - log_every
    if steady_steps > 0 and recorder.first_interval_end is not None:
        params["images_per_second"] = round(steady_steps * cell.batch_size / (finished - recorder.first_interval_end), 1)
    if recorder.failure:
        params.update(status=store.CellStatus.FAILED, failure=recorder.failure)
    else:
        for name, network in model.networks().items():
            store.save_keras(network, cell_dir / f"{name}.keras")
        params["status"] = store.CellStatus.DONE
    store.write_json(cell_dir / store.PARAMS_FILE, params)
    return params
