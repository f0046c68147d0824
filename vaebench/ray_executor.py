"""Run a grid's unfinished packs as Ray tasks, on a local Ray instance or a cluster.

Each task is :func:`vaebench.runner.run_pack` on one pack of cells (one cell
when packing is off). With a shared file system the task writes into the
results dir itself, exactly as a local run does. Without one, the task works in
a private temporary directory (seeded with the cells' files when they only need
scoring) and returns the finished directories as bytes; the driver swaps each
into the results dir in one rename.

A worker that dies mid-pack leaves no finished files behind (``params.json``
and each metric land atomically, the driver's swap is one rename), so Ray's
bounded task retry simply runs the pack again, skipping its finished cells.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vaebench import store
from vaebench.environment import backend
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, Preset
from vaebench.runner import GridPlan, plan_grid, plan_packs, report_failure, run_pack


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


def pack_task(cells_params: list[dict], results_dir: str | None, metric_settings: dict, tensorboard: bool,
              data_path: str | None, files: dict[str, dict[str, bytes]]) -> dict[str, tuple[str, dict[str, bytes] | None]]:
    """The body of one Ray task: train and score a pack; returns {cell name: (status, files or None)}."""
    cells = [Cell.from_params(params) for params in cells_params]
    if results_dir is not None:
        statuses = run_pack(cells, Path(results_dir), metric_settings, tensorboard=tensorboard, data_path=data_path)
        return {name: (status, None) for name, status in statuses.items()}
    with tempfile.TemporaryDirectory(prefix="vaebench-pack-") as private:
        for cell in cells:
            store.unpack_cell_dir(files.get(cell.name, {}), Path(private) / cell.name)
        statuses = run_pack(cells, Path(private), metric_settings, tensorboard=tensorboard, data_path=data_path)
        return {name: (status, store.pack_cell_dir(Path(private) / name)) for name, status in statuses.items()}


def import_ray():
    try:
        import ray
    except ImportError:
        raise VaebenchError("--executor ray needs Ray, which is not installed: pip install 'vaebench[ray]'") from None
    return ray


def _one_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_grid_on_ray(preset: Preset, results_dir: Path, console: Console, options: RayOptions = RayOptions(),
                    tensorboard: bool = False, data_path: str | None = None,
                    shard: tuple[int, int] | None = None, pack_size: int | None = None) -> GridPlan:
    """Like :func:`vaebench.runner.run_grid`, with one Ray task per pack that needs work."""
    ray = import_ray()
    results_dir = Path(results_dir).resolve()
    plan = plan_grid(preset, results_dir, data_path, shard)
    started_here = not ray.is_initialized()
    if started_here:
        local = options.address is None
        ray.init(address=options.address, num_cpus=os.cpu_count() if local else None, include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"KERAS_BACKEND": backend(), "TF_CPP_MIN_LOG_LEVEL": "2"}})
    try:
        gpus = options.gpus_per_cell
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) else 0
        plan.announce(preset, console, executor=f" via Ray ({options.cpus_per_cell:g} CPU, {gpus:g} GPU per task)")
        task = ray.remote(pack_task).options(num_cpus=options.cpus_per_cell, num_gpus=gpus,
                                             max_retries=options.max_retries, retry_exceptions=False)
        pending = {}
        for pack in plan_packs(plan, pack_size, console):
            files = {cell.name: store.pack_cell_dir(results_dir / cell.name)
                     for cell in pack if not options.shared_fs and cell not in plan.to_train}
            target = str(results_dir) if options.shared_fs else None
            pending[task.remote([cell.to_params() for cell in pack], target, preset.metrics, tensorboard, data_path, files)] = pack
        unfinished = _collect(ray, pending, results_dir, console)
    finally:
        if started_here:
            ray.shutdown()
    if unfinished:
        name, reason = next(iter(unfinished.items()))
        raise VaebenchError(f"{len(unfinished)} of {len(plan.work)} cells could not be finished on Ray and stay pending "
                            f"(first: {name}: {reason}); run the same command again to retry them")
    return plan


def _collect(ray, pending: dict, results_dir: Path, console: Console) -> dict[str, str]:
    """Wait for every task, store what returns, and show progress; return {cell name: reason} of lost cells."""
    unfinished = {}
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("cells", total=sum(map(len, pending.values())), detail="")
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            pack = pending.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayError as error:
                for cell in pack:
                    unfinished[cell.name] = _one_line(error)
                    console.print(f"[yellow]not finished[/] {cell.name}: {unfinished[cell.name]}")
            else:
                for cell in pack:
                    status, files = results[cell.name]
                    if files is not None:
                        store.replace_cell_dir(results_dir / cell.name, partial(store.unpack_cell_dir, files))
                    if status == store.CellStatus.FAILED:
                        report_failure(console, results_dir, cell)
            progress.update(bar, advance=len(pack), detail=f"{pack[0].name} finished, {len(pending)} tasks running or queued")
    return unfinished
