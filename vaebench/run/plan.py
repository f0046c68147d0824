"""A run's plan: the preset expanded once into its cells, each checked against its dataset, with the settings
every executor reads.

The command line makes the plan before the results dir is created or locked, so a bad grid is refused
having written nothing; the runner, the Ray executor, the scoring pool's jobs and the calibration rows
then read this one plan, never the preset again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vaebench.checkpoint_plan import CheckpointPlan
from vaebench.data import FILE_DATASETS, DataSource, get_dataset
from vaebench.environment import check_precision
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, Preset, check_batch_fits
from vaebench.metrics.spec import MetricSettings
from vaebench.models import MODELS, get_model_class
from vaebench.results.layout import GRID_FILE
from vaebench.results.records import read_grid
from vaebench.run.grid_size import check_grid_size
from vaebench.run.shards import shard_cells


@lru_cache(maxsize=8)
def _dataset(name: str, image_size: int | None, data_path: DataSource | None):
    return get_dataset(name, image_size=image_size, data_path=data_path)


def dataset_for(cell: Cell, data_path: DataSource | None = None):
    """The cell's dataset, built once per process (file datasets read ``data_path``)."""
    return _dataset(cell.dataset, cell.image_size, data_path)


@dataclass(frozen=True)
class Plan:
    """What a run trains and scores: the grid's cells and, of them, the ones this run (its shard) trains."""

    preset: Preset
    #: every cell of the grid, in the preset's order
    grid: tuple[Cell, ...]
    #: the cells this run trains and scores: the grid's, or shard ``(k, n)``'s
    cells: tuple[Cell, ...]
    #: where file datasets are read from (``--data-path`` with a CSV's options)
    data_source: DataSource | None = None
    shard: tuple[int, int] | None = None
    #: the arithmetic every cell trains at (``vaebench.environment.PRECISIONS``), recorded in each params.json
    precision: str = "float32"

    @property
    def metric_settings(self) -> MetricSettings:
        return self.preset.metric_settings

    @property
    def checkpoints(self) -> CheckpointPlan:
        return self.preset.checkpoint_plan


def make_plan(preset: Preset, data_source: DataSource | None = None, shard: tuple[int, int] | None = None,
              precision: str = "float32", large_grid: bool = False) -> Plan:
    """The preset's grid (or shard ``(k, n)`` of it) checked against its datasets, trained at ``precision`` (checked
    against this backend), and within :mod:`vaebench.run.grid_size`'s bounds unless ``large_grid``; a VaebenchError
    names the first problem. Builds the datasets (cached for the run), writes nothing."""
    check_precision(precision)
    grid = tuple(preset.cells())
    datasets = sorted({cell.dataset for cell in grid})
    if data_source is not None and not set(datasets) & set(FILE_DATASETS):
        raise VaebenchError(f"--data-path only applies to file datasets ({', '.join(FILE_DATASETS)}); "
                            f"this grid uses built-in ones only: {', '.join(datasets)}")
    if data_source is not None and data_source.has_table_options and "csv" not in datasets:
        raise VaebenchError("--label-column, --factor-columns and --categorical apply to --dataset csv only")
    cells = tuple(shard_cells(list(grid), *shard)) if shard is not None else grid
    if not large_grid:
        check_grid_size(cells)
    for cell in cells:
        dataset = dataset_for(cell, data_source)
        if get_model_class(cell.model).needs_labels() and not dataset.num_classes:
            raise VaebenchError(f"model {cell.model} needs labels, which dataset {cell.dataset!r} does not have")
        check_batch_fits(cell.batch_size, dataset.shape)
    return Plan(preset, grid, cells, data_source, shard, precision)


def check_recorded_models(results_dir: Path) -> None:
    """Refuse a results dir whose grid.json records a cell of a model vaebench does not have (a foreign or
    hand-edited grid), in one line naming the cell, before a run adds to it."""
    path = Path(results_dir) / GRID_FILE
    for name, params in read_grid(results_dir).cells.items():
        if params.get("model") not in MODELS:
            raise VaebenchError(f"corrupt results file {path}: cell {name} is of model {params.get('model')!r}, which "
                                f"vaebench does not have; accepted: {', '.join(MODELS)}")
