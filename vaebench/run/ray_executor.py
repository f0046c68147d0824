"""Run a grid's unfinished cells as Ray tasks, on a local Ray instance or a cluster.

Each pack of cells that needs training (see ``--pack``; one cell per pack by
default off a GPU) is one training task (:func:`vaebench.run.runner.train_cells`,
with ``--gpus-per-cell`` GPUs, a fraction placing several tasks on one GPU);
each trained cell is then scored in its own scoring task on one CPU and no
GPU, so training tasks never wait for scoring. The driver keeps as many
scoring tasks in flight as the CPUs that training leaves free (at least one).

With a shared file system the tasks write into the results dir themselves,
exactly as a local run does. Without one, a task works in a private temporary
directory (seeded with the cell's files for scoring) and returns the finished
directory as bytes; the driver swaps it into the results dir in one rename.

A worker that dies mid-task leaves no finished files behind (``params.json``
and each metric land atomically, the driver's swap is one rename), so Ray's
bounded task retry simply runs the task again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vaebench.checkpoint_plan import CheckpointPlan
from vaebench.environment import backend
from vaebench.errors import VaebenchError
from vaebench.grid import Cell
from vaebench.metrics.spec import MetricSettings
from vaebench.results.files import replace_cell_dir
from vaebench.results.records import CellStatus, cell_status
from vaebench.results.transfer import pack_cell_dir, unpack_cell_dir
from vaebench.run.plan import Plan
from vaebench.run.runner import GridStatus, plan_grid, report_failure, score, train_cells, training_packs


@dataclass(frozen=True)
class RayOptions:
    #: None starts a private local Ray instance; "auto" or "ray://host:port" joins a cluster
    address: str | None = None
    cpus_per_cell: float = 1.0
    #: None: one GPU per cell where the cluster has GPUs, none otherwise
    gpus_per_cell: float | None = None
    #: how often a cell whose worker died is run again before it is left pending
    max_retries: int = 2
    #: False when the workers cannot see the driver's results dir
    shared_fs: bool = True


def train_task(cells_params: list[dict], results_dir: str | None, tensorboard: bool, data_path: str | None,
               checkpoints: CheckpointPlan | None = None,
               precision: str = "float32") -> dict[str, tuple[CellStatus, dict[str, bytes] | None]]:
    """The body of one training task (a pack): {cell name: (status, the cell's files without a shared file system)}."""
    cells = [Cell.from_params(params) for params in cells_params]
    if results_dir is not None:
        train_cells(cells, Path(results_dir), tensorboard=tensorboard, data_path=data_path, checkpoints=checkpoints,
                    precision=precision)
        return {cell.name: (cell_status(Path(results_dir) / cell.name), None) for cell in cells}
    with tempfile.TemporaryDirectory(prefix="vaebench-pack-") as private:
        train_cells(cells, Path(private), tensorboard=tensorboard, data_path=data_path, checkpoints=checkpoints,
                    precision=precision)
        return {cell.name: (cell_status(Path(private) / cell.name), pack_cell_dir(Path(private) / cell.name))
                for cell in cells}


def score_task(cell_params: dict, results_dir: str | None, metric_settings: MetricSettings, data_path: str | None,
               files: dict[str, bytes]) -> dict[str, bytes] | None:
    """The body of one scoring task: returns the scored cell's files without a shared file system."""
    cell = Cell.from_params(cell_params)
    if results_dir is not None:
        score(cell, Path(results_dir) / cell.name, metric_settings, data_path=data_path)
        return None
    with tempfile.TemporaryDirectory(prefix="vaebench-cell-") as private:
        unpack_cell_dir(files, Path(private) / cell.name)
        score(cell, Path(private) / cell.name, metric_settings, data_path=data_path)
        return pack_cell_dir(Path(private) / cell.name)


def import_ray():
    try:
        import ray
    except ImportError:
        raise VaebenchError("--executor ray needs Ray, which is not installed: pip install 'vaebench[ray]'") from None
    return ray


def _one_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_grid_on_ray(plan: Plan, results_dir: Path, console: Console, options: RayOptions = RayOptions(),
                    tensorboard: bool = False, pack_size: int | None = None) -> GridStatus:
    """Like :func:`vaebench.run.runner.run_grid`, with one Ray training task per pack and one scoring task per cell."""
    ray = import_ray()
    results_dir = Path(results_dir).resolve()
    status = plan_grid(plan, results_dir)
    started_here = not ray.is_initialized()
    if started_here:
        local = options.address is None
        ray.init(address=options.address, num_cpus=os.cpu_count() if local else None, include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"KERAS_BACKEND": backend(), "TF_CPP_MIN_LOG_LEVEL": "2"}})
    try:
        gpus = options.gpus_per_cell
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) else 0
        status.announce(console, executor=f" via Ray ({options.cpus_per_cell:g} CPU, {gpus:g} GPU per training task)")
        from vaebench.run.packing import default_pack_size

        # a Ray task trains only a pack's unfinished cells: its files replace the cell dirs it returns
        packs = [[cell for cell in pack if cell in status.to_train] for pack in training_packs(status, default_pack_size(measurable=False) if pack_size is None else pack_size, console)]
        unfinished = _Driver(ray, status, packs, options, gpus, tensorboard).run(console)
    finally:
        if started_here:
            ray.shutdown()
    if unfinished:
        name, reason = next(iter(unfinished.items()))
        raise VaebenchError(f"{len(unfinished)} of {len(status.work)} cells could not be trained or scored on Ray "
                            f"(first: {name}: {reason}); run the same command again to retry them")
    return status


class _Driver:
    """Submits a training task per pack, then a scoring task per trained cell; stores what returns; shows progress."""

    def __init__(self, ray, status: GridStatus, packs: list[list[Cell]], options: RayOptions, gpus: float,
                 tensorboard: bool):
        self.ray, self.status, self.options = ray, status, options
        self.target = str(status.results_dir) if options.shared_fs else None
        self.metric_settings, self.data_path = status.plan.metric_settings, status.plan.data_source
        cpus = ray.cluster_resources().get("CPU", 1)
        # how many training tasks can run at once: they hold these CPUs, scoring gets the rest
        self.cpus, self.training_slots = cpus, cpus // options.cpus_per_cell
        if gpus:
            self.training_slots = min(self.training_slots, ray.cluster_resources().get("GPU", 0) // gpus)
        train = ray.remote(train_task).options(num_cpus=options.cpus_per_cell, num_gpus=gpus,
                                               max_retries=options.max_retries, retry_exceptions=False)
        self.score_remote = ray.remote(score_task).options(num_cpus=1, num_gpus=0, max_retries=options.max_retries,
                                                           retry_exceptions=False)
        self.training = {train.remote([cell.to_params() for cell in pack], self.target, tensorboard, self.data_path,
                                      status.plan.checkpoints, status.plan.precision): pack for pack in packs}
        self.to_score = [cell for cell in status.work if cell not in status.to_train]
        self.scoring: dict = {}

    def scoring_slots(self) -> int:
        held = min(len(self.training), self.training_slots) * self.options.cpus_per_cell
        return max(1, int(self.cpus - held))

    def run(self, console: Console) -> dict[str, str]:
        """Wait for every task; return {cell name: reason} of the cells left untrained or unscored."""
        unfinished = {}
        results_dir = self.status.results_dir
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[detail]}"), TimeElapsedColumn()]
        with Progress(*columns, console=console) as progress:
            trained = progress.add_task("training", total=len(self.status.to_train), detail="")
            scored = progress.add_task("scoring", total=len(self.to_score), detail="")
            while self.training or self.scoring or self.to_score:
                while self.to_score and len(self.scoring) < self.scoring_slots():
                    self._submit_scoring(self.to_score.pop(0))
                (ref,), _ = self.ray.wait([*self.training, *self.scoring], num_returns=1)
                is_training = ref in self.training
                cells = self.training.pop(ref) if is_training else [self.scoring.pop(ref)]
                bar = trained if is_training else scored
                try:
                    outcome = self.ray.get(ref)
                except self.ray.exceptions.RayError as error:
                    for cell in cells:
                        unfinished[cell.name] = f"{'training' if is_training else 'scoring'}: {_one_line(error)}"
                        console.print(f"[yellow]not finished[/] {cell.name}: {unfinished[cell.name]}")
                    progress.update(bar, advance=len(cells))
                    continue
                outcomes = outcome if is_training else {cells[0].name: (CellStatus.DONE, outcome)}
                for cell in cells:
                    status, files = outcomes[cell.name]
                    if files is not None:
                        replace_cell_dir(results_dir / cell.name, partial(unpack_cell_dir, files))
                    if status == CellStatus.FAILED:
                        report_failure(console, results_dir, cell)
                    elif is_training:
                        self.to_score.append(cell)
                        progress.update(scored, total=progress.tasks[scored].total + 1)
                progress.update(bar, advance=len(cells),
                                detail=f"{cells[0].name}{f' +{len(cells) - 1}' if len(cells) > 1 else ''} "
                                       f"{'trained' if is_training else 'scored'}")
        return unfinished

    def _submit_scoring(self, cell: Cell) -> None:
        files = {} if self.options.shared_fs else pack_cell_dir(self.status.results_dir / cell.name)
        self.scoring[self.score_remote.remote(cell.to_params(), self.target, self.metric_settings, self.data_path,
                                              files)] = cell
