"""Split a grid into shards for a job array, and merge the shards' results dirs back.

A shard is a deterministic slice of the grid: the cells sorted by name, every
N-th one starting at the K-th. N array tasks given ``--shard 1/N`` …
``--shard N/N`` therefore train every cell exactly once, each into its own
results dir, and ``merge`` combines those dirs into one.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from vaebench.errors import VaebenchError
from vaebench.grid import Cell
from vaebench.results.files import check_writable, replace_cell_dir
from vaebench.results.layout import GRID_FILE, reference_dirs
from vaebench.results.lock import results_lock
from vaebench.results.records import (CellStatus, Grid, cell_status, read_grid, read_history, read_metrics,
                                      write_grid)
from vaebench.results.transfer import pack_cell_dir, unpack_cell_dir


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 ≤ K ≤ N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise VaebenchError(f"bad --shard {text!r}: expected K/N with 1 ≤ K ≤ N, e.g. 1/4")
    return k, n


def shard_cells(cells: list[Cell], k: int, n: int) -> list[Cell]:
    """The cells of shard ``k`` of ``n`` (1-based): round robin over the cells sorted by name."""
    return sorted(cells, key=lambda cell: cell.name)[k - 1::n]


def merge_results(sources: list[Path], into: Path) -> dict[str, int]:
    """Copy every finished cell of ``sources`` into ``into`` and union their grids.

    Everything is checked before anything is written: a cell recorded with
    different parameters in two places, or finished in two places with
    different files, or a cell name that is not the grid's own naming, is
    refused with a ``VaebenchError`` and ``into`` is left untouched. Merging
    the same shard twice is a no-op. ``into`` is written under its results
    lock; each cell directory lands in one rename, and ``grid.json`` is written last. Calibration rows
    (``references/``) are copied too, see :func:`_reference_copies`.
    Returns counts: cells ``copied``, ``already`` present, ``unfinished``.
    """
    into = Path(into)
    sources = [Path(source) for source in sources]
    for source in sources:
        if not (source / GRID_FILE).is_file():
            raise VaebenchError(f"{source} is not a results dir (no {GRID_FILE}); expected dirs written by `vaebench run grid`")
        if source.resolve() == into.resolve():
            raise VaebenchError(f"cannot merge {source} into itself")
        if into.resolve().is_relative_to(source.resolve()):
            raise VaebenchError(f"--into {into} is inside the source {source}; choose a folder outside every source")
    _plan_merge(sources, into)  # refuse what can be refused before creating or locking anything
    check_writable(into)
    with results_lock(into, "merge"):
        recorded, copies, counts = _plan_merge(sources, into)  # again: another command may have written meanwhile
        for name, source in sorted(copies.items()):
            replace_cell_dir(into / name, partial(unpack_cell_dir, pack_cell_dir(source / name)))
        for name, source in sorted(_reference_copies(sources, into).items()):
            replace_cell_dir(into / name, partial(unpack_cell_dir, pack_cell_dir(source / name)))
        presets = read_grid(into).presets
        for source in sources:
            presets.update(read_grid(source).presets)
        write_grid(into, Grid(recorded, presets))
    return counts


def _reference_copies(sources: list[Path], into: Path) -> dict[str, Path]:
    """{calibration row: the source to copy it from} for every row that holds more metrics in a source than in ``into``.

    Rows are recomputable references, not results, so they never conflict: the copy holding the most
    metrics wins, ``into``'s own (then the first source's) on a tie.
    """
    def metrics(folder: Path) -> int:
        stored = read_metrics(folder)
        return len(stored.scores) if stored else 0

    best = {name: (metrics(folder), into) for name, folder in reference_dirs(into).items()}
    for source in sources:
        for name, folder in reference_dirs(source).items():
            if metrics(folder) > best.get(name, (-1, None))[0]:
                best[name] = (metrics(folder), source)
    return {name: source for name, (_, source) in best.items() if source != into}


def _plan_merge(sources: list[Path], into: Path) -> tuple[dict[str, dict], dict[str, Path], dict[str, int]]:
    """(merged grid, {cell: source to copy it from}, counts), or a VaebenchError; reads only."""
    grids = {source: read_grid(source).cells for source in sources}
    recorded = dict(read_grid(into).cells)
    owner = {name: into for name in recorded}
    finished = {name: into for name in recorded if cell_status(into / name) != CellStatus.PENDING}
    copies: dict[str, Path] = {}
    for source, grid in grids.items():
        for name, params in grid.items():
            if name in recorded and recorded[name] != params:
                raise VaebenchError(f"conflict: cell {name} has different parameters in {owner[name]} and {source}; nothing merged")
            owner.setdefault(name, source)
            recorded.setdefault(name, params)
            status = cell_status(source / name)
            if status == CellStatus.PENDING:
                continue
            if status == CellStatus.DONE:
                read_history(source / name)  # refuse copying a done cell whose history was emptied
            if name in finished:
                if pack_cell_dir(finished[name] / name) != pack_cell_dir(source / name):
                    raise VaebenchError(f"conflict: cell {name} is finished in both {finished[name]} and {source} with different files; "
                                        "merge only one of them; nothing merged")
                continue
            finished[name] = source
            copies[name] = source
    counts = {"copied": len(copies), "already": len(finished) - len(copies), "unfinished": len(recorded) - len(finished)}
    return recorded, copies, counts
