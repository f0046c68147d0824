"""Run a grid: group the unfinished cells into packs, train each pack, then score each finished cell; resumable at any point.

``run_pack`` is the unit of work (train the pack's unfinished cells, then
score each), a plain function of its arguments, so other executors can map it
over packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vaebench import store
from vaebench.data import get_dataset
from vaebench.environment import backend, describe_device
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, Preset, check_batch_fits
from vaebench.models import get_model_class
from vaebench.shards import shard_cells


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


def plan_grid(preset: Preset, results_dir: Path, data_path: str | None = None,
              shard: tuple[int, int] | None = None) -> GridPlan:
    """Validate everything and record the grid (or shard ``(k, n)`` of it), before any training starts."""
    cells = grid_cells(preset, data_path, shard)
    store.check_writable(results_dir)
    store.record_cells(results_dir, {cell.name: cell.to_params() for cell in cells}, {preset.name: preset.description})
    status = {cell.name: store.cell_status(results_dir / cell.name) for cell in cells}
    to_train = [cell for cell in cells if status[cell.name] == store.CellStatus.PENDING]
    to_score = [cell for cell in cells if status[cell.name] != store.CellStatus.FAILED]
    return GridPlan(results_dir, cells, to_train, to_score)


def score(cell: Cell, cell_dir: Path, metric_settings: dict, metrics: list[str] | None = None, force: bool = False,
          data_path: str | None = None):
    from vaebench.metrics import score_cell

    return score_cell(cell_dir, dataset_for(cell, data_path), metric_settings, metrics=metrics, force=force)


def plan_packs(plan: GridPlan, pack_size: int | None, console: Console) -> list[list[Cell]]:
    """The grid's work in packs: unfinished cells grouped by :func:`vaebench.packing.pack_key`, at most ``pack_size``
    (None: automatic) per pack, then the cells that only need scoring, one each. Says once when packing cannot happen."""
    from vaebench import packing

    size = packing.default_pack_size() if pack_size is None else pack_size
    reason = packing.why_not_packable()
    if size > 1 and reason:
        console.print(reason)
        size = 1
    trained = {cell.name for cell in plan.to_train}
    return packing.form_packs(plan.to_train, size) + [[cell] for cell in plan.work if cell.name not in trained]


def train_cells(cells: list[Cell], results_dir: Path, on_progress=None, tensorboard: bool = False,
                data_path: str | None = None) -> None:
    """Train the unfinished cells of one pack: together when there are several, else the one alone."""
    from vaebench.packing import train_pack
    from vaebench.train import train_cell

    pending = [cell for cell in cells if store.cell_status(Path(results_dir) / cell.name) == store.CellStatus.PENDING]
    if len(pending) == 1:
        train_cell(pending[0], dataset_for(pending[0], data_path), Path(results_dir) / pending[0].name, on_progress, tensorboard)
    elif pending:
        train_pack(pending, dataset_for(pending[0], data_path), results_dir, on_progress)


def run_pack(cells: list[Cell], results_dir: Path, metric_settings: dict, on_progress=None, tensorboard: bool = False,
             data_path: str | None = None) -> dict[str, store.CellStatus]:
    """Train the pack's unfinished cells, then score each finished one unless scored; return {cell name: final status}."""
    train_cells(cells, results_dir, on_progress, tensorboard, data_path)
    statuses = {}
    for cell in cells:
        cell_dir = Path(results_dir) / cell.name
        statuses[cell.name] = store.cell_status(cell_dir)
        if statuses[cell.name] == store.CellStatus.DONE:
            score(cell, cell_dir, metric_settings, data_path=data_path)
    return statuses


def report_failure(console: Console, results_dir: Path, cell: Cell) -> None:
    reason = store.read_json(Path(results_dir) / cell.name / store.PARAMS_FILE)["failure"]["reason"]
    console.print(f"[red]failed[/] {cell.name}: {reason}")


def run_grid(preset: Preset, results_dir: Path, console: Console, tensorboard: bool = False,
             data_path: str | None = None, shard: tuple[int, int] | None = None, pack_size: int | None = None) -> GridPlan:
    """Train and score, one pack after the other, in this process."""
    results_dir = Path(results_dir)
    plan = plan_grid(preset, results_dir, data_path, shard)
    plan.announce(preset, console)
    packs = plan_packs(plan, pack_size, console)
    trained = {cell.name for cell in plan.to_train}
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        total_steps = sum(cell.steps for cell in plan.to_train)
        task = progress.add_task("training", total=max(total_steps, 1), detail="")
        for index, pack in enumerate(packs, 1):
            to_train = [cell for cell in pack if cell.name in trained]
            label = f"pack {index}/{len(packs)} {pack[0].name}" + (f" +{len(pack) - 1}" if len(pack) > 1 else "")
            already = progress.tasks[task].completed

            def on_progress(step, loss, label=label, already=already, members=len(to_train), steps=pack[0].steps):
                progress.update(task, completed=already + step * members, detail=f"{label} step {step}/{steps} loss {loss:.2f}")

            progress.update(task, detail=f"{label} {'building' if to_train else 'scoring'}")
            statuses = run_pack(pack, results_dir, preset.metrics, on_progress if to_train else None, tensorboard, data_path)
            progress.update(task, completed=already + sum(cell.steps for cell in to_train))
            for cell in pack:
                if statuses[cell.name] == store.CellStatus.FAILED:
                    report_failure(console, results_dir, cell)
        progress.update(task, completed=max(total_steps, 1), detail="done")
    return plan
