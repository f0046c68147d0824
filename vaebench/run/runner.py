"""Run a grid: group the unfinished cells into packs, train each pack, score each finished cell; resumable at any point.

Training produces finished cells; each is submitted to the scoring pool (worker
processes on the CPU, or inline) while the next pack trains, and the grid waits
for the pool at the end. ``train_cells`` and ``score`` are plain functions of
their arguments, so other executors can map them over packs and cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vaebench.checkpoint_plan import CheckpointPlan
from vaebench.environment import backend, describe_device, gpu_names
from vaebench.errors import VaebenchError
from vaebench.grid import Cell
from vaebench.interruption import Interrupted, stop_if_requested
from vaebench.metrics.spec import MetricSettings
from vaebench.quiet_backend import load_backend_quietly
from vaebench.results.experiments import Experiment, load_network
from vaebench.results.files import check_writable
from vaebench.results.layout import ENCODER, METRICS_FILE, snapshot_dirs
from vaebench.results.records import CellStatus, cell_status, read_metrics, read_params, record_cells
from vaebench.run.checkpoints import CheckpointScorer
from vaebench.run.plan import Plan, check_recorded_models, dataset_for
from vaebench.run.scoring_pool import PoolCounts, ScoringPool, auto_workers, usable_cores


@dataclass(frozen=True)
class GridStatus:
    """Where a plan's cells stand in its results dir when the run starts: which of them still need work."""

    plan: Plan
    results_dir: Path
    to_train: tuple[Cell, ...]
    to_score: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.plan.cells

    @property
    def work(self) -> list[Cell]:
        """The cells that need training or scoring, sorted by name."""
        return sorted({cell.name: cell for cell in self.to_train + self.to_score}.values(), key=lambda c: c.name)

    def announce(self, console: Console, executor: str = "") -> None:
        done = len(self.cells) - len(self.to_train)
        console.print(
            f"[bold]{self.plan.preset.name}[/]: {len(self.cells)} cells, {done} already trained, {len(self.to_train)} to train, "
            f"on {describe_device()} with the {backend()} backend{executor} → {self.results_dir}"
        )


def data_changed(cell: Cell, cell_dir: Path, data_path=None) -> bool:
    """Whether ``data_path`` is not the data the trained cell, or one of its snapshots, was last scored on, or else
    trained on (their fingerprints in each metrics.json, params.json). Built-in datasets and cells stored without a
    fingerprint (older results) never count as changed."""
    current = dataset_for(cell, data_path).fingerprint
    trained = read_params(cell_dir)
    for folder in (cell_dir, *snapshot_dirs(cell_dir).values()):
        scored = read_metrics(folder)
        before = (scored.data if scored else None) or (trained.data if trained else None)
        if current is not None and before is not None and before != current:
            return True
    return False


def check_same_data(cells: list[Cell], results_dir: Path, data_path=None, allow_changed_data: bool = False) -> None:
    """Refuse, before anything is written, to score a trained cell on data that changed since (unless allowed)."""
    if allow_changed_data:
        return
    for cell in cells:
        cell_dir = Path(results_dir) / cell.name
        if cell_status(cell_dir) == CellStatus.DONE and data_changed(cell, cell_dir, data_path):
            raise _changed_data_error(cell, data_path)


def _changed_data_error(cell: Cell, data_path) -> VaebenchError:
    return VaebenchError(f"cell {cell.name} was trained on other data than {data_path.path} holds now (its size, "
                         "SHA-256 or column options differ): pass the data it was trained on, or score it on this "
                         "data with --allow-changed-data")


def plan_grid(plan: Plan, results_dir: Path, allow_changed_data: bool = False) -> GridStatus:
    """Record the plan's cells in the results dir, before any training starts, and find which of them need work."""
    check_writable(results_dir)
    check_recorded_models(results_dir)
    check_same_data(plan.cells, results_dir, plan.data_source, allow_changed_data)
    record_cells(results_dir, {cell.name: cell.to_params() for cell in plan.cells},
                 {plan.preset.name: plan.preset.description})
    status = {cell.name: cell_status(results_dir / cell.name) for cell in plan.cells}
    to_train = tuple(cell for cell in plan.cells if status[cell.name] == CellStatus.PENDING)
    to_score = tuple(cell for cell in plan.cells if status[cell.name] != CellStatus.FAILED)
    return GridStatus(plan, results_dir, to_train, to_score)


def score(cell: Cell, cell_dir: Path, metric_settings: MetricSettings, metrics: list[str] | None = None, force: bool = False,
          data_path: str | None = None, allow_changed_data: bool = False):
    """Score the cell and its snapshots, then draw its pictures while its weights are at hand (``vaebench.pictures.draw``).

    On data other than the cell's (:func:`data_changed`, allowed explicitly) every metric of the cell and of each
    snapshot is computed again into a fresh record that names the data scored, each folder's written once, whole
    (see :func:`vaebench.metrics.scoring.score_context`): a folder still scored on other data after a kill is found
    by :func:`data_changed` again.
    """
    from vaebench.metrics import score_cell, score_snapshots

    dataset = dataset_for(cell, data_path)
    changed = data_changed(cell, cell_dir, data_path)
    if changed and not allow_changed_data:
        raise _changed_data_error(cell, data_path)
    if changed and metrics is not None:
        raise VaebenchError("scoring on changed data computes every metric again (so all scores are of one data): "
                            "leave out --metrics")
    if changed:
        encoder_input = load_network(cell_dir, ENCODER).input_shape
        reads = tuple((encoder_input[0] if isinstance(encoder_input, list) else encoder_input)[1:])  # [x, label]
        if reads != tuple(dataset.shape):
            raise VaebenchError(f"cell {cell.name} reads observations of shape {reads}; {data_path.path} now gives "
                                f"{tuple(dataset.shape)} (its columns or categories changed): it cannot score this data")
    rescored_on = dataset.fingerprint if changed else None
    record = score_cell(cell_dir, dataset, metric_settings, metrics=metrics, force=force, rescored_on=rescored_on)
    score_snapshots(cell_dir, dataset, metric_settings, metrics=metrics, force=force, rescored_on=rescored_on)
    from vaebench.pictures.draw import draw_pictures, pictures_to_draw

    if pictures_to_draw(cell_dir):
        draw_pictures(cell_dir, dataset)
    return record


def draw_missing_pictures(experiment: Experiment, force: bool = False, data_path: str | None = None) -> bool:
    """``vaebench evaluate --pictures``: draw a trained cell's missing or outdated pictures (all of them with ``force``).

    Returns whether the cell has current pictures afterwards: False for a cell without its weights.
    """
    from vaebench.pictures.draw import draw_pictures, pictures_to_draw
    from vaebench.pictures.spec import pictures_are_current

    if pictures_to_draw(experiment.path, force):  # unforced, a corrupt pictures file stops here, saying to force
        draw_pictures(experiment.path, dataset_for(Cell.from_record(experiment.record), data_path))
        return True
    try:
        return pictures_are_current(experiment.path)
    except VaebenchError:  # forced, yet not redrawn: it has no weights, which the caller says
        return False


def training_packs(status: GridStatus, pack_size: int | str | None, console: Console) -> list[list[Cell]]:
    """The packs holding an unfinished cell: the grid's cells grouped by :func:`vaebench.run.packing.pack_key`, at
    most ``pack_size`` (None: :func:`vaebench.run.packing.default_pack_size`) per pack, or the size
    ``"auto"`` measures on the first pack's like cells at the plan's precision (and says). Says once when packing cannot happen.

    Packs are formed over every cell, finished or not, so a resumed run trains the very pack it was
    interrupted in (a pack's float rounding depends on its members), see :func:`vaebench.run.packing.train_pack`.
    """
    from vaebench.run import packing

    size = packing.default_pack_size() if pack_size is None else pack_size
    reason = packing.why_not_packable()
    if size != 1 and reason:
        console.print(reason)
        size = 1
    unfinished = {cell.name for cell in status.to_train}
    if size == packing.AUTO:
        size = _measured_pack_size(status, unfinished, console)
    return [pack for pack in packing.form_packs(list(status.cells), size) if any(cell.name in unfinished for cell in pack)]


def _measured_pack_size(status: GridStatus, unfinished: set[str], console: Console) -> int:
    """``--pack auto``'s size, probed on the like cells of the first cell left to train (1 when none is left)."""
    from vaebench.run.pack_probe import PROBED_SIZES, probe_pack_size
    from vaebench.run.packing import pack_key

    first = next((cell for cell in status.cells if cell.name in unfinished), None)
    if first is None:
        return 1
    like_cells = [cell for cell in status.cells if pack_key(cell) == pack_key(first)][:max(PROBED_SIZES)]
    size, line = probe_pack_size(like_cells, dataset_for(first, status.plan.data_source), status.plan.precision)
    console.print(line)
    return size


def train_cells(cells: list[Cell], results_dir: Path, on_progress=None, tensorboard: bool = False,
                data_path: str | None = None, checkpoints: CheckpointPlan | None = None, precision: str = "float32") -> None:
    """Train one pack whose cells are not all finished, at ``precision``: a single cell alone, several together
    (storing only the unfinished ones, see :func:`vaebench.run.packing.train_pack`).

    ``checkpoints`` (None or count 0: none) says when and how each unfinished cell is scored while it trains.
    """
    from vaebench.run.packing import train_pack
    from vaebench.run.train import train_cell

    pending = [cell_status(Path(results_dir) / cell.name) == CellStatus.PENDING for cell in cells]
    if not any(pending):
        return
    dataset = dataset_for(cells[0], data_path)
    scorers = [CheckpointScorer(checkpoints, cell, dataset, Path(results_dir) / cell.name)
               if checkpoints and checkpoints.active and todo else None for cell, todo in zip(cells, pending)]
    if len(cells) == 1:
        train_cell(cells[0], dataset, Path(results_dir) / cells[0].name, on_progress, tensorboard, scorers[0], precision)
    else:
        train_pack(cells, dataset, results_dir, on_progress, scorers, precision=precision)


def report_failure(console: Console, results_dir: Path, cell: Cell) -> None:
    reason = read_params(Path(results_dir) / cell.name).failure.reason
    console.print(f"[red]failed[/] {cell.name}: {reason}")


def run_grid(plan: Plan, results_dir: Path, console: Console, tensorboard: bool = False, pack_size: int | str | None = None,
             score_workers: int | None = None, allow_changed_data: bool = False) -> GridStatus:
    """Train one pack after the other in this process; score finished cells in ``score_workers`` processes.

    ``score_workers`` None picks :func:`vaebench.run.scoring_pool.auto_workers`; 0 scores each cell right after training.
    """
    results_dir = Path(results_dir)
    status = plan_grid(plan, results_dir, allow_changed_data)
    try:
        return _run_planned(status, console, tensorboard, pack_size, score_workers, allow_changed_data)
    except Interrupted:
        trained = [cell for cell in plan.cells if cell_status(results_dir / cell.name) != CellStatus.PENDING]
        scored = sum((results_dir / cell.name / METRICS_FILE).exists() for cell in trained)
        raise Interrupted(f"{len(trained)} of {len(plan.cells)} cells are trained ({scored} of them scored) and kept "
                          f"in {results_dir}; unfinished cells stay pending") from None


def _run_planned(status: GridStatus, console: Console, tensorboard: bool, pack_size: int | str | None,
                 score_workers: int | None, allow_changed_data: bool) -> GridStatus:
    plan, results_dir, data_path = status.plan, status.results_dir, status.plan.data_source
    if score_workers is None:
        score_workers = auto_workers(bool(gpu_names()), len(usable_cores()))
    status.announce(console, executor=f", scoring in {score_workers} worker processes" if score_workers else "")
    packs = training_packs(status, pack_size, console)
    trained = {cell.name for cell in status.to_train}
    scored_only = [cell for cell in status.work if cell.name not in trained]
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
                pool.submit(cell.name, partial(score, cell, results_dir / cell.name, plan.metric_settings, data_path=data_path,
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
                train_cells(pack, results_dir, on_progress, tensorboard, data_path, plan.checkpoints, plan.precision)
                progress.update(task, completed=already + sum(cell.steps for cell in pack))
                for cell in (cell for cell in pack if cell.name in trained):  # a pack's finished cells are queued already
                    if cell_status(results_dir / cell.name) == CellStatus.FAILED:
                        report_failure(console, results_dir, cell)
                    else:
                        submit(cell)
            progress.update(task, completed=max(total_steps, 1), detail="done")
            not_scored = pool.finish()
    for name, reason in sorted(not_scored.items()):
        console.print(f"[yellow]not scored[/] {name}: {reason}; `vaebench evaluate --results {results_dir}` "
                      f"or the next run scores it")
    return status
