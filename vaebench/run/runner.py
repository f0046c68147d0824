"""Run a grid: group the unfinished cells into packs, train each pack, score each finished cell; resumable at any point.

Training produces finished cells; each is submitted to the scoring pool (worker
processes on the CPU, or inline) while the next pack trains, and the grid waits
for the pool at the end. ``train_cells`` and ``score`` are plain functions of
their arguments, so other executors can map them over packs and cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vaebench import store
from vaebench.checkpoint_plan import CheckpointPlan
from vaebench.run.checkpoints import CheckpointScorer
from vaebench.data import get_dataset
from vaebench.environment import backend, describe_device, gpu_names
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, Preset, check_batch_fits
from vaebench.interruption import Interrupted, stop_if_requested
from vaebench.models import get_model_class
from vaebench.quiet_backend import load_backend_quietly
from vaebench.run.scoring_pool import PoolCounts, ScoringPool, auto_workers, usable_cores
from vaebench.run.shards import shard_cells


@lru_cache(maxsize=8)
def _dataset(name: str, image_size: int | None, data_path: str | None):
    return get_dataset(name, image_size=image_size, data_path=data_path)


def dataset_for(cell: Cell, data_path: str | None = None):
    """The cell's dataset, built once per process (file datasets read ``data_path``)."""
    return _dataset(cell.dataset, cell.image_size, data_path)


@dataclass
class GridPlan:
    """What a run will do: every cell of the grid and which of them still need work."""

    results_dir: Path
    cells: list[Cell]
    to_train: list[Cell]
    to_score: list[Cell]

    @property
    def work(self) -> list[Cell]:
        """The cells that need training or scoring, sorted by name."""
        return sorted({cell.name: cell for cell in self.to_train + self.to_score}.values(), key=lambda c: c.name)

    def announce(self, preset: Preset, console: Console, executor: str = "") -> None:
        done = len(self.cells) - len(self.to_train)
        console.print(
            f"[bold]{preset.name}[/]: {len(self.cells)} cells, {done} already trained, {len(self.to_train)} to train, "
            f"on {describe_device()} with the {backend()} backend{executor} → {self.results_dir}"
        )


def grid_cells(preset: Preset, data_path: str | None = None, shard: tuple[int, int] | None = None) -> list[Cell]:
    """The cells of the grid (or shard ``(k, n)`` of it), each checked against its dataset; writes nothing."""
    cells = preset.cells()
    if shard is not None:
        cells = shard_cells(cells, *shard)
    for cell in cells:
        dataset = dataset_for(cell, data_path)
        if "labels" in get_model_class(cell.model).requires and not dataset.num_classes:
            raise VaebenchError(f"model {cell.model} needs labels, which dataset {cell.dataset!r} does not have")
        check_batch_fits(cell.batch_size, dataset.shape)
    return cells


def data_changed(cell: Cell, cell_dir: Path, data_path=None) -> bool:
    """Whether ``data_path`` is not the data the trained cell was last scored on, or else trained on (their
    fingerprints in metrics.json, params.json). Built-in datasets and cells stored without a fingerprint
    (older results) never count as changed."""
    current = dataset_for(cell, data_path).fingerprint
    metrics = store.read_metrics(cell_dir) or {}
    before = metrics.get(store.DATA_KEY, (store.read_params(cell_dir) or {}).get(store.DATA_KEY))
    return current is not None and before is not None and before != current


def check_same_data(cells: list[Cell], results_dir: Path, data_path=None, allow_changed_data: bool = False) -> None:
    """Refuse, before anything is written, to score a trained cell on data that changed since (unless allowed)."""
    if allow_changed_data:
        return
    for cell in cells:
        cell_dir = Path(results_dir) / cell.name
        if store.cell_status(cell_dir) == store.CellStatus.DONE and data_changed(cell, cell_dir, data_path):
            raise _changed_data_error(cell, data_path)


def _changed_data_error(cell: Cell, data_path) -> VaebenchError:
    return VaebenchError(f"cell {cell.name} was trained on other data than {data_path.path} holds now (its size, "
                         "SHA-256 or column options differ): pass the data it was trained on, or score it on this "
                         "data with --allow-changed-data")


def plan_grid(preset: Preset, results_dir: Path, data_path: str | None = None,
              shard: tuple[int, int] | None = None, allow_changed_data: bool = False) -> GridPlan:
    """Validate everything and record the grid (or shard ``(k, n)`` of it), before any training starts."""
    cells = grid_cells(preset, data_path, shard)
    store.check_writable(results_dir)
    check_same_data(cells, results_dir, data_path, allow_changed_data)
    store.record_cells(results_dir, {cell.name: cell.to_params() for cell in cells}, {preset.name: preset.description})
    status = {cell.name: store.cell_status(results_dir / cell.name) for cell in cells}
    to_train = [cell for cell in cells if status[cell.name] == store.CellStatus.PENDING]
    to_score = [cell for cell in cells if status[cell.name] != store.CellStatus.FAILED]
    return GridPlan(results_dir, cells, to_train, to_score)


def score(cell: Cell, cell_dir: Path, metric_settings: dict, metrics: list[str] | None = None, force: bool = False,
          data_path: str | None = None, allow_changed_data: bool = False):
    """Score the cell, then draw its pictures while its weights are at hand (``vaebench.pictures.draw``).

    On data other than the cell's (:func:`data_changed`, allowed explicitly) every metric is computed
    again and metrics.json records the fingerprint of the data scored.
    """
    from vaebench.metrics import score_cell

    dataset = dataset_for(cell, data_path)
    changed = data_changed(cell, cell_dir, data_path)
    if changed and not allow_changed_data:
        raise _changed_data_error(cell, data_path)
    if changed and metrics is not None:
        raise VaebenchError("scoring on changed data computes every metric again (so all scores are of one data): "
                            "leave out --metrics")
    if changed:
        encoder_input = store.load_network(cell_dir, store.MODEL_FILES[0]).input_shape
        reads = tuple((encoder_input[0] if isinstance(encoder_input, list) else encoder_input)[1:])  # [x, label]
        if reads != tuple(dataset.shape):
            raise VaebenchError(f"cell {cell.name} reads observations of shape {reads}; {data_path.path} now gives "
                                f"{tuple(dataset.shape)} (its columns or categories changed): it cannot score this data")
    record = score_cell(cell_dir, dataset, metric_settings, metrics=metrics, force=force or changed)
    if changed:
        store.write_json(cell_dir / store.METRICS_FILE, {**store.read_metrics(cell_dir), store.DATA_KEY: dataset.fingerprint})
    from vaebench.pictures.draw import draw_pictures, pictures_to_draw

    if pictures_to_draw(cell_dir):
        draw_pictures(cell_dir, dataset)
    return record


def draw_missing_pictures(experiment: store.Experiment, force: bool = False, data_path: str | None = None) -> bool:
    """``vaebench evaluate --pictures``: draw a trained cell's missing or outdated pictures (all of them with ``force``).

    Returns whether the cell has current pictures afterwards: False for a cell without its weights.
    """
    from vaebench.pictures.draw import draw_pictures, pictures_to_draw
    from vaebench.pictures.spec import pictures_are_current

    if pictures_to_draw(experiment.path, force):
        draw_pictures(experiment.path, dataset_for(Cell.from_params(experiment.params), data_path))
    return pictures_are_current(experiment.path)


def training_packs(plan: GridPlan, pack_size: int | None, console: Console) -> list[list[Cell]]:
    """The packs holding an unfinished cell: the grid's cells grouped by :func:`vaebench.run.packing.pack_key`, at
    most ``pack_size`` (None: automatic) per pack. Says once when packing cannot happen.

    Packs are formed over every cell, finished or not, so a resumed run trains the very pack it was
    interrupted in (a pack's float rounding depends on its members), see :func:`vaebench.run.packing.train_pack`.
    """
    from vaebench.run import packing

    size = packing.default_pack_size() if pack_size is None else pack_size
    reason = packing.why_not_packable()
    if size > 1 and reason:
        console.print(reason)
        size = 1
    unfinished = {cell.name for cell in plan.to_train}
    return [pack for pack in packing.form_packs(plan.cells, size) if any(cell.name in unfinished for cell in pack)]


def train_cells(cells: list[Cell], results_dir: Path, on_progress=None, tensorboard: bool = False,
                data_path: str | None = None, checkpoints: CheckpointPlan | None = None, precision: str = "float32") -> None:
    """Train one pack whose cells are not all finished, at ``precision``: a single cell alone, several together
    (storing only the unfinished ones, see :func:`vaebench.run.packing.train_pack`).

    ``checkpoints`` (None or count 0: none) says when and how each unfinished cell is scored while it trains.
    """
    from vaebench.run.packing import train_pack
    from vaebench.run.train import train_cell

    pending = [store.cell_status(Path(results_dir) / cell.name) == store.CellStatus.PENDING for cell in cells]
    if not any(pending):
        return
    dataset = dataset_for(cells[0], data_path)
    scorers = [CheckpointScorer(checkpoints, cell, dataset, Path(results_dir) / cell.name)
               if checkpoints and checkpoints.count and todo else None for cell, todo in zip(cells, pending)]
    if len(cells) == 1:
        train_cell(cells[0], dataset, Path(results_dir) / cells[0].name, on_progress, tensorboard, scorers[0], precision)
    else:
        train_pack(cells, dataset, results_dir, on_progress, scorers, precision=precision)


def report_failure(console: Console, results_dir: Path, cell: Cell) -> None:
    reason = store.read_json(Path(results_dir) / cell.name / store.PARAMS_FILE)["failure"]["reason"]
    console.print(f"[red]failed[/] {cell.name}: {reason}")


def run_grid(preset: Preset, results_dir: Path, console: Console, tensorboard: bool = False,
             data_path: str | None = None, shard: tuple[int, int] | None = None, pack_size: int | None = None,
             score_workers: int | None = None, allow_changed_data: bool = False, precision: str = "float32") -> GridPlan:
    """Train one pack after the other in this process; score finished cells in ``score_workers`` processes.

    ``score_workers`` None picks :func:`vaebench.run.scoring_pool.auto_workers`; 0 scores each cell right after training.
    """
    results_dir = Path(results_dir)
    plan = plan_grid(preset, results_dir, data_path, shard, allow_changed_data)
    try:
        return _run_planned(plan, preset, console, tensorboard, data_path, pack_size, score_workers, allow_changed_data,
                            precision)
    except Interrupted:
        trained = [cell for cell in plan.cells if store.cell_status(results_dir / cell.name) != store.CellStatus.PENDING]
        scored = sum((results_dir / cell.name / store.METRICS_FILE).exists() for cell in trained)
        raise Interrupted(f"{len(trained)} of {len(plan.cells)} cells are trained ({scored} of them scored) and kept "
                          f"in {results_dir}; unfinished cells stay pending") from None


def _run_planned(plan: GridPlan, preset: Preset, console: Console, tensorboard: bool, data_path: str | None,
                 pack_size: int | None, score_workers: int | None, allow_changed_data: bool, precision: str) -> GridPlan:
    results_dir = plan.results_dir
    if score_workers is None:
        score_workers = auto_workers(bool(gpu_names()), len(usable_cores()))
    plan.announce(preset, console, executor=f", scoring in {score_workers} worker processes" if score_workers else "")
    packs = training_packs(plan, pack_size, console)
    trained = {cell.name for cell in plan.to_train}
    scored_only = [cell for cell in plan.work if cell.name not in trained]
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        total_steps = sum(cell.steps for pack in packs for cell in pack)
        task = progress.add_task("training", total=max(total_steps, 1), detail="")
        scoring = progress.add_task("scoring", total=0, detail="")

        def on_scoring(counts: PoolCounts):
            progress.update(scoring, completed=counts.done + counts.not_done,
                            total=counts.done + counts.not_done + counts.running + counts.waiting,
                            detail=f"{counts.running} scoring, {counts.waiting} queued")

        with ScoringPool(score_workers, on_scoring, start_up=load_backend_quietly) as pool:

            def submit(cell: Cell) -> None:
                stop_if_requested()  # between cells (scoring inline, a job at a time)
                pool.submit(cell.name, partial(score, cell, results_dir / cell.name, preset.metrics, data_path=data_path,
                                              allow_changed_data=allow_changed_data))

            for cell in scored_only:
                submit(cell)
            for index, pack in enumerate(packs, 1):
                stop_if_requested()
                label = f"pack {index}/{len(packs)} {pack[0].name}" + (f" +{len(pack) - 1}" if len(pack) > 1 else "")
                already = progress.tasks[task].completed

                def on_progress(step, loss, label=label, already=already, members=len(pack), steps=pack[0].steps):
                    progress.update(task, completed=already + step * members,
                                    detail=f"{label} step {step}/{steps} loss {loss:.2f}")

                progress.update(task, detail=f"{label} building")
                train_cells(pack, results_dir, on_progress, tensorboard, data_path, preset.checkpoint_plan, precision)
                progress.update(task, completed=already + sum(cell.steps for cell in pack))
                for cell in (cell for cell in pack if cell.name in trained):  # a pack's finished cells are queued already
                    if store.cell_status(results_dir / cell.name) == store.CellStatus.FAILED:
                        report_failure(console, results_dir, cell)
                    else:
                        submit(cell)
            progress.update(task, completed=max(total_steps, 1), detail="done")
            not_scored = pool.finish()
    for name, reason in sorted(not_scored.items()):
        console.print(f"[yellow]not scored[/] {name}: {reason}; `vaebench evaluate --results {results_dir}` "
                      f"or the next run scores it")
    return plan
