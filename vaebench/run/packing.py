"""Packed training: several cells of one architecture trained together in one compiled program (JAX).

Cells that differ only in seed and numeric hyperparameters (β, γ, λ, C, ...)
share one network shape, so their weights, optimiser states and
hyperparameters stack along a leading "member" axis, and one step trains them
all: ``jax.vmap`` over Keras' own stateless ``train_step`` (the very function
``fit`` compiles on JAX), ``jax.lax.scan`` over the steps of a call. Each member
draws the batches its cell draws alone (:func:`vaebench.run.batches.batches`, its
own seed) and starts from the weights its cell starts from, so a packed cell
gives the history and weights of the same cell trained alone, up to float
rounding.

A member whose loss turns non-finite stops updating at that step and is
stored as failed; the others go on. Every member is written as its own cell
(:func:`vaebench.run.train.store_cell`); a killed pack is trained again whole and
stores the cells it had not stored.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from vaebench.data.base import Dataset
from vaebench.environment import backend, gpu_names
from vaebench.grid import Cell
from vaebench.interruption import stop_if_requested
from vaebench.models import get_model_class
from vaebench.models.base import NONFINITE_KEYS
from vaebench.results.files import reset_cell_dir
from vaebench.results.records import CellStatus, cell_status
from vaebench.run.batches import batches
from vaebench.run.train import ProgressFn, build_model, record_interval, steady_rate, steps_per_call, store_cell

if TYPE_CHECKING:
    from vaebench.run.checkpoints import CheckpointScorer

#: members per pack when ``--pack`` is not given and an accelerator is visible (1 on a CPU, where packing
#: adds nothing: the cores are already busy with one model)
ACCELERATOR_PACK_SIZE = 16


def default_pack_size() -> int:
    return ACCELERATOR_PACK_SIZE if backend() == "jax" and gpu_names() else 1


def why_not_packable() -> str | None:
    """Why cells cannot train packed here (None when they can)."""
    if backend() != "jax":
        return f"packing needs the JAX backend (this is {backend()}): training one cell at a time"
    return None


def pack_key(cell: Cell) -> tuple:
    """What cells of one pack share: everything but the seed and the numeric hyperparameters."""
    shared = tuple((name, value) for name, value in cell.hparams if isinstance(value, str))
    return (cell.dataset, cell.image_size, cell.model, shared, cell.family, cell.latent_dim, cell.steps,
            cell.batch_size, cell.learning_rate, cell.log_every)


def form_packs(cells: list[Cell], size: int) -> list[list[Cell]]:
    """``cells`` in packs of at most ``size`` cells sharing a :func:`pack_key`, in the order the cells came."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(pack_key(cell), []).append(cell)
    packs = [group[start:start + size] for group in groups.values() for start in range(0, len(group), size)]
    return sorted(packs, key=lambda pack: cells.index(pack[0]))


def _stack(trees):
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


class _BoundHyperparameters:
    """While tracing, the template model's numeric hyperparameters are one member's traced values."""

    def __init__(self, model: keras.Model, values: dict):
        self.model, self.values = model, values

    def __enter__(self):
        self.saved = {name: getattr(self.model, name) for name in self.values}
        for name, value in self.values.items():
            setattr(self.model, name, value)

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            setattr(self.model, name, value)


def _numeric_hparams(cell: Cell) -> dict[str, float]:
    return {name: float(value) for name, value in cell.hparams if not isinstance(value, str)}


def _compile_pack(template: keras.Model):
    """One jitted call: ``(states, hparams, alive, batches) -> (states, alive, logs)`` for K steps of every member.

    ``batches`` is (K, members, ...), each ``(x,)`` as ``fit`` receives it; ``logs`` (K, members) per key. A member's state stops changing at the
    first step its loss is not finite (``alive`` turns False there).
    """
    import jax
    import jax.numpy as jnp

    def member_steps(state, hparams, alive, member_batches):
        def step(carry, batch):
            state, alive = carry
            with _BoundHyperparameters(template, hparams):
                logs, new_state = template.train_step(state, batch)
            alive = jnp.logical_and(alive, logs[NONFINITE_KEYS[0]] == 0)
            # the metrics go on, so the interval's logs still name the failed step; the weights stop
            weights = jax.tree.map(lambda new, old: jnp.where(alive, new, old), new_state[:3], state[:3])
            return ((*weights, new_state[3]), alive), logs

        (state, alive), logs = jax.lax.scan(step, (state, alive), member_batches)
        return state, alive, logs

    return jax.jit(jax.vmap(member_steps, in_axes=(0, 0, 0, 1), out_axes=(0, 0, 1)), donate_argnums=0)


def _state(model: keras.Model) -> tuple:
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables], [v.value for v in model.metrics_variables])


def build_for_training(model: keras.Model, batch) -> None:
    """Build a compiled model's optimiser and metrics variables from one batch, as ``fit`` does before its first step.

    Keras' private ``Trainer._symbolic_build`` (keras 3.5 to 3.15), the one private Keras call of packing: the
    stacked states need every variable before the first step. tests/test_packing.py checks it still builds them.
    """
    model._symbolic_build(data_batch=batch)


def _assign(model: keras.Model, states, index: int) -> None:
    """Give ``model`` member ``index``'s current weights from the packed ``states``."""
    for variables, values in zip((model.trainable_variables, model.non_trainable_variables), states[:2]):
        for variable, value in zip(variables, values):
            variable.assign(value[index])


def train_pack(cells: list[Cell], dataset: Dataset, results_dir: Path, on_progress: ProgressFn | None = None,
               checkpoints: list[CheckpointScorer] | None = None) -> list[dict]:
    """Train ``cells`` (one :func:`pack_key`) together; store those not finished under ``results_dir``.

    Finished members train again, unstored, so a resumed pack is the pack that was interrupted and its
    cells come out as an uninterrupted run's (a smaller pack would round differently). ``checkpoints``: one
    scorer per cell (or None: finished members need none), scoring that member's weights at its steps, as
    :func:`vaebench.run.train.train_cell` does alone. Returns the params.json written for each stored cell, in order.
    """
    import jax
    import jax.numpy as jnp

    assert len({pack_key(cell) for cell in cells}) == 1, "a pack holds cells of one pack_key only (see form_packs)"
    first = cells[0]
    cell_dirs = [Path(results_dir) / cell.name for cell in cells]
    unfinished = [cell_status(cell_dir) == CellStatus.PENDING for cell_dir in cell_dirs]
    for cell_dir, to_store in zip(cell_dirs, unfinished):
        if to_store:
            reset_cell_dir(cell_dir)
    models = [build_model(cell, dataset) for cell in cells]
    model_class = get_model_class(first.model)
    streams = [batches(dataset, model_class, first.batch_size, cell.seed) for cell in cells]
    template = models[0]
    example = next(batches(dataset, model_class, first.batch_size, first.seed))
    for model in models:
        build_for_training(model, example)
    states = _stack([_state(model) for model in models])
    fresh_metrics = _stack([_state(model)[3] for model in models])
    hparams = _stack([{k: jnp.float32(v) for k, v in _numeric_hparams(cell).items()} for cell in cells])
    alive = jnp.ones(len(cells), bool)
    run = _compile_pack(template)
    checkpoints = checkpoints or [None] * len(cells)
    checkpoint_seconds = 0.0  # spent scoring checkpoints after the first interval, left out of the rate

    def score_checkpoints(step: int) -> float:
        """Score every live member due at ``step``; the seconds it took."""
        started = time.perf_counter()
        for index, (model, scorer) in enumerate(zip(models, checkpoints)):
            if scorer and step in scorer.steps and failures[index] is None:
                _assign(model, states, index)
                scorer.score(step, model)
        return time.perf_counter() - started

    chunk = steps_per_call(first)
    log_every = min(first.log_every, first.steps)
    rows: list[list[dict]] = [[] for _ in cells]
    failures: list[dict | None] = [None] * len(cells)
    started = time.perf_counter()
    score_checkpoints(0)
    first_interval_end = None
    step = 0
    while step < first.steps and any(failure is None for failure in failures):
        interval_start = step
        states = (*states[:3], jax.tree.map(jnp.copy, fresh_metrics))  # fit resets the metrics every interval
        for _ in range((min(step + log_every, first.steps) - step) // chunk):
            stop_if_requested()  # between compiled calls: no member is stored
            chunk_batches = _stack([_stack([next(stream) for stream in streams]) for _ in range(chunk)])
            states, alive, logs = run(states, hparams, alive, chunk_batches)
            step += chunk
        last = {key: np.asarray(value[-1]) for key, value in logs.items()}  # the one wait per interval
        first_interval_end = first_interval_end or time.perf_counter()
        for index in range(len(cells)):
            if failures[index] is not None:
                continue
            row, failures[index] = record_interval(interval_start, step, {k: v[index] for k, v in last.items()})
            if failures[index] is None:
                rows[index].append(row)
        checkpoint_seconds += score_checkpoints(step)
        if on_progress:
            losses = [rows[i][-1]["loss"] for i in range(len(cells)) if failures[i] is None and rows[i]]
            on_progress(step, float(np.mean(losses)) if losses else float("nan"))
    finished = time.perf_counter()

    rate = steady_rate(step, log_every, first.batch_size, first_interval_end, finished - checkpoint_seconds)
    params = []
    for index, (cell, model, cell_dir) in enumerate(zip(cells, models, cell_dirs)):
        if not unfinished[index]:
            continue
        _assign(model, states, index)
        params.append(store_cell(cell, cell_dir, model, rows[index], failures[index], finished - started, rate,
                                 pack_size=len(cells), checkpoints=checkpoints[index],
                                 data_fingerprint=dataset.fingerprint))
    return params
