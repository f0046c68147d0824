"""Packed training: several cells of one architecture trained together in one compiled program (JAX).

Cells that differ only in seed and numeric hyperparameters (β, γ, λ, C, ...)
share one network shape, so their weights, optimiser states and
hyperparameters stack along a leading "member" axis, and one step trains them
all: ``jax.vmap`` over Keras' own stateless ``train_step`` (the very function
``fit`` compiles on JAX), ``jax.lax.scan`` over the steps of a call. Each member
draws the batches its cell draws alone (its own seed) and starts from the
weights its cell starts from, so a packed cell gives the history and weights of
the same cell trained alone, up to float rounding.

The host sends each compiled call one array. Where the dataset's grid is
resident (:func:`vaebench.run.batches.can_be_resident`) and the model reads the
images alone, that array holds only the grid positions of every step and member
(:func:`vaebench.run.batches.grid_positions`, int32), and the program looks the
images up itself; otherwise (images that are not a pure function of the grid,
such as noisy dSprites, or models that also read labels) it holds the members'
stacked batches, drawn on the host as each cell draws them alone. A background
thread draws the next calls' data while the device trains, and the next call is
dispatched before the previous interval's logs are read, so the host's work per
step and per member stays off the device's path.

A member whose loss turns non-finite stops updating at that step and is
stored as failed; the others go on. Every member is written as its own cell
(:func:`vaebench.run.train.store_cell`); a killed pack is trained again whole and
stores the cells it had not stored.
"""

from __future__ import annotations

import queue
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import keras
import numpy as np

from vaebench.data.base import Dataset
from vaebench.environment import backend, gpu_names
from vaebench.grid import Cell
from vaebench.interruption import stop_if_requested
from vaebench.models import get_model_class
from vaebench.models.base import NONFINITE_KEYS
from vaebench.models.keras_private import build_for_training
from vaebench.results.files import reset_cell_dir
from vaebench.results.records import CellStatus, Failure, Params, cell_status
from vaebench.run.batches import batches, can_be_resident, grid_positions, lookup, resident_grid
from vaebench.run.train import ProgressFn, build_model, record_interval, steady_rate, steps_per_call, store_cell

if TYPE_CHECKING:
    from vaebench.run.checkpoints import CheckpointScorer

#: ``--pack auto``: the pack size measured on the run's first pack (:mod:`vaebench.run.pack_probe`)
AUTO = "auto"
#: members per pack on an accelerator where the process forming the packs cannot measure: Ray's driver leaves
#: the GPUs to its workers
ACCELERATOR_PACK_SIZE = 16


def default_pack_size(measurable: bool = True) -> int | str:
    """``--pack``'s default: measured (:data:`AUTO`) when JAX sees a GPU, 1 on a CPU, where packing adds nothing
    (the cores are already busy with one model)."""
    if backend() != "jax" or not gpu_names():
        return 1
    return AUTO if measurable else ACCELERATOR_PACK_SIZE


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


def _stack(trees, stack=None):
    """One tree of the ``trees``' leaves stacked along a new first axis (``stack``: jnp.stack on the device, or np.stack)."""
    import jax
    import jax.numpy as jnp

    stack = stack or jnp.stack
    return jax.tree.map(lambda *leaves: stack(leaves), *trees)


def drawn_in_program(dataset: Dataset, model_class) -> bool:
    """Whether a pack's images are looked up inside its compiled program: the dataset's grid is resident and the
    model reads the images alone (``fit``'s input is then nothing but the looked-up images)."""
    return can_be_resident(dataset) and not model_class.extra_inputs


class PackData:
    """Where a pack's batches come from: what the host draws for each compiled call, and how the compiled program
    turns one member's step of it into ``fit``'s input ``(x,)``.

    In the program (:func:`drawn_in_program`): grid positions, int32, and ``rows`` (the resident grid) is the
    program's argument. Otherwise the members' batches themselves, and ``rows`` is None.
    """

    def __init__(self, dataset: Dataset, model_class, cells: list[Cell]):
        self.in_program = drawn_in_program(dataset, model_class)
        batch_size = cells[0].batch_size
        if self.in_program:
            grid = resident_grid(dataset)
            self.rows = grid.rows
            self.inputs = lambda rows, positions: (lookup(rows, positions, grid.scale),)
            self._streams = [grid_positions(dataset, batch_size, cell.seed) for cell in cells]
        else:
            self.rows = None
            self.inputs = lambda rows, batch: batch
            self._streams = [batches(dataset, model_class, batch_size, cell.seed) for cell in cells]

    def draw_call(self, steps: int):
        """Every member's next ``steps`` draws, stacked on the host: (steps, members, ...)."""
        return _stack([_stack([next(stream) for stream in self._streams], np.stack) for _ in range(steps)], np.stack)


class DrawnAhead:
    """Each compiled call's data in turn, drawn ahead on a background thread: numpy's draws for every member run
    while the device trains (the compiled program releases the interpreter), not between calls."""

    def __init__(self, draw: Callable[[], object], calls: int, ahead: int = 2):
        self._ready: queue.Queue = queue.Queue(maxsize=ahead)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(draw, calls), daemon=True)
        self._thread.start()

    def _fill(self, draw, calls: int) -> None:
        for _ in range(calls):
            try:
                item = draw()
            except Exception as error:  # raised again by next(), in the training thread
                item = error
            while not self._closed.is_set():
                try:
                    self._ready.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._closed.is_set() or isinstance(item, Exception):
                return

    def next(self):
        item = self._ready.get()
        if isinstance(item, Exception):
            raise item
        return item

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._closed.set()  # training may stop early (every member failed, Ctrl-C): the thread ends, drawing no more
        self._thread.join()


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


def _compile_pack(template: keras.Model, inputs: Callable):
    """One jitted call: ``(states, hparams, alive, call_data, rows) -> (states, alive, logs)`` for K steps of every member.

    ``call_data`` is (K, members, ...) as :meth:`PackData.draw_call` draws it, and ``inputs(rows, data)`` makes one
    member's step of it ``(x,)`` as ``fit`` receives it; ``logs`` (K, members) per key. A member's state stops
    changing at the first step its loss is not finite (``alive`` turns False there). The states and ``alive`` are
    donated: each call trains in the buffers of the call before.
    """
    import jax
    import jax.numpy as jnp

    def member_steps(state, hparams, alive, member_data, rows):
        def step(carry, data):
            state, alive = carry
            with _BoundHyperparameters(template, hparams):
                logs, new_state = template.train_step(state, inputs(rows, data))
            alive = jnp.logical_and(alive, logs[NONFINITE_KEYS[0]] == 0)
            # the metrics go on, so the interval's logs still name the failed step; the weights stop
            weights = jax.tree.map(lambda new, old: jnp.where(alive, new, old), new_state[:3], state[:3])
            return ((*weights, new_state[3]), alive), logs

        (state, alive), logs = jax.lax.scan(step, (state, alive), member_data)
        return state, alive, logs

    return jax.jit(jax.vmap(member_steps, in_axes=(0, 0, 0, 1, None), out_axes=(0, 0, 1)), donate_argnums=(0, 2))


def _state(model: keras.Model) -> tuple:
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables], [v.value for v in model.metrics_variables])


def _assign(model: keras.Model, states, index: int) -> None:
    """Give ``model`` member ``index``'s current weights from the packed ``states``."""
    for variables, values in zip((model.trainable_variables, model.non_trainable_variables), states[:2]):
        for variable, value in zip(variables, values):
            variable.assign(value[index])


class PackedProgram:
    """A pack ready to train: its members' models, their stacked states and hyperparameters, where its batches come
    from, and the compiled call (:func:`_compile_pack`) that trains them all."""

    def __init__(self, cells: list[Cell], dataset: Dataset, precision: str):
        import jax.numpy as jnp

        first = cells[0]
        self.models = [build_model(cell, dataset, precision) for cell in cells]
        model_class = get_model_class(first.model)
        self.data = PackData(dataset, model_class, cells)
        if not self.data.in_program and len(cells) > 1:
            # issued here, not at the caller: Python's default filter then shows each dataset's and model's notice once
            warnings.warn(f"packs of {first.model} on {dataset.name} draw their batches on the host, member by member "
                          f"(the model reads more than images, or the images are not looked up in a resident grid)")
        example = next(batches(dataset, model_class, first.batch_size, first.seed))
        for model in self.models:
            build_for_training(model, example)
        self.states = _stack([_state(model) for model in self.models])
        self.fresh_metrics = _stack([_state(model)[3] for model in self.models])
        self.hparams = _stack([{k: jnp.float32(v) for k, v in _numeric_hparams(cell).items()} for cell in cells])
        self.alive = jnp.ones(len(cells), bool)
        self._compiled = _compile_pack(self.models[0], self.data.inputs)

    def call(self, states, alive, drawn: DrawnAhead):
        """One compiled call on the next drawn data (sent to the device as one array): ``(states, alive, logs)``."""
        import jax

        return self._compiled(states, self.hparams, alive, jax.device_put(drawn.next()), self.data.rows)


def train_pack(cells: list[Cell], dataset: Dataset, results_dir: Path, on_progress: ProgressFn | None = None,
               checkpoints: list[CheckpointScorer] | None = None,
               on_call: Callable[[float], None] | None = None, precision: str = "float32") -> list[Params]:
    """Train ``cells`` (one :func:`pack_key`) together; store those not finished under ``results_dir``.

    Finished members train again, unstored, so a resumed pack is the pack that was interrupted and its
    cells come out as an uninterrupted run's (a smaller pack would round differently). ``checkpoints``: one
    scorer per cell (or None: finished members need none), scoring that member's weights at its steps, as
    :func:`vaebench.run.train.train_cell` does alone, as does ``precision``. ``on_call`` receives, after each compiled call is
    dispatched, the CPU seconds the training thread spent on it (taking its data, sending it, dispatching it;
    CPU time, so that the device's own work on the same cores and waiting for drawn data do not count).
    Returns the params.json written for each stored cell, in order.
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
    program = PackedProgram(cells, dataset, precision)
    models, data = program.models, program.data
    states, fresh_metrics, alive = program.states, program.fresh_metrics, program.alive
    checkpoints = checkpoints or [None] * len(cells)
    checkpoint_seconds = 0.0  # spent scoring checkpoints after the first interval, left out of the rate

    def checkpoint_due(step: int) -> bool:
        return any(scorer and step in scorer.steps and failures[index] is None
                   for index, scorer in enumerate(checkpoints))

    def score_checkpoints(step: int) -> float:
        """Score every live member due at ``step``; the seconds it took."""
        started = time.perf_counter()
        for index, (model, scorer) in enumerate(zip(models, checkpoints)):
            if scorer and step in scorer.steps and failures[index] is None:
                _assign(model, states, index)
                scorer.at_step(step, model)
        return time.perf_counter() - started

    def read_interval(interval_start: int, end: int, logs) -> None:
        """Record the interval that ended at step ``end``: the one wait for the device per interval."""
        nonlocal first_interval_end, checkpoint_seconds
        last = {key: np.asarray(value[-1]) for key, value in logs.items()}
        first_interval_end = first_interval_end or time.perf_counter()
        for index in range(len(cells)):
            if failures[index] is not None:
                continue
            row, failures[index] = record_interval(interval_start, end, {k: v[index] for k, v in last.items()})
            if failures[index] is None:
                rows[index].append(row)
        checkpoint_seconds += score_checkpoints(end)
        if on_progress:
            losses = [rows[i][-1]["loss"] for i in range(len(cells)) if failures[i] is None and rows[i]]
            on_progress(end, float(np.mean(losses)) if losses else float("nan"))

    chunk = steps_per_call(first)
    log_every = min(first.log_every, first.steps)
    rows: list[list[dict]] = [[] for _ in cells]
    failures: list[Failure | None] = [None] * len(cells)
    started = time.perf_counter()
    score_checkpoints(0)
    first_interval_end = None
    step = interval_start = 0
    # (interval start, end, logs) of an interval whose logs wait until the next call is dispatched (left unread
    # only when every member has failed, and then there is nothing left to record)
    unread = None
    with DrawnAhead(lambda: data.draw_call(chunk), first.steps // chunk) as drawn:
        while step < first.steps and any(failure is None for failure in failures):
            if step == interval_start:
                states = (*states[:3], jax.tree.map(jnp.copy, fresh_metrics))  # fit resets the metrics every interval
            stop_if_requested()  # between compiled calls: no member is stored
            call_started = time.thread_time()
            states, alive, logs = program.call(states, alive, drawn)
            if on_call:
                on_call(time.thread_time() - call_started)
            step += chunk
            if unread:
                read_interval(*unread)
                unread = None
            if step % log_every == 0 or step == first.steps:
                unread, interval_start = (interval_start, step, logs), step
                if step == first.steps or checkpoint_due(step):  # the next call would train in these weights' buffers
                    read_interval(*unread)
                    unread = None
    finished = time.perf_counter()

    rate = steady_rate(step, log_every, first.batch_size, first_interval_end, finished - checkpoint_seconds)
    params = []
    for index, (cell, model, cell_dir) in enumerate(zip(cells, models, cell_dirs)):
        if not unfinished[index]:
            continue
        _assign(model, states, index)
        params.append(store_cell(cell, cell_dir, model, rows[index], failures[index], finished - started, rate,
                                 pack_size=len(cells), checkpoints=checkpoints[index],
                                 data_fingerprint=dataset.fingerprint, precision=precision))
    return params
