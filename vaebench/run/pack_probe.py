"""``--pack auto``: the pack size measured on a run's first pack.

A few pack sizes of the first pack's like cells are trained for a few seconds
each, in throwaway packed programs (:class:`vaebench.run.packing.PackedProgram`)
whose steps are discarded: no cell's results depend on the probe, and the cells
then train exactly as with the same explicit ``--pack N``. Sizes grow until one
runs out of the device's memory or stops raising the aggregate images/s, and
the fastest is kept.
"""

from __future__ import annotations

import time
from typing import Callable

from vaebench.data.base import Dataset
from vaebench.grid import Cell
from vaebench.run.packing import DrawnAhead, PackedProgram
from vaebench.run.train import steps_per_call

#: the pack sizes tried, smallest first (each capped at the number of like cells)
PROBED_SIZES = (1, 4, 16, 64)
#: seconds each size is timed for, after the call that compiles it
PROBE_SECONDS = 3.0

#: what a probe of a size that ran out of memory measured
OUT_OF_MEMORY = None


def choose_pack_size(sizes: list[int], rate_of: Callable[[int], float | None]) -> tuple[int, dict[int, float | None]]:
    """The fastest of ``sizes`` (ascending) by ``rate_of`` (aggregate images/s, or :data:`OUT_OF_MEMORY`), and every
    rate measured. Sizes stop growing at the first that runs out of memory or is no faster than the best before it."""
    rates: dict[int, float | None] = {}
    best = sizes[0]
    for size in sizes:
        rates[size] = rate_of(size)
        if rates[size] is OUT_OF_MEMORY:
            break
        if size != best and rates[size] <= rates[best]:
            break
        best = size
    return best, rates


def describe_choice(size: int, rates: dict[int, float | None]) -> str:
    """The console line saying what ``--pack auto`` chose and why."""
    measured = ", ".join(f"{n} → {'out of memory' if rate is OUT_OF_MEMORY else f'{rate:,.0f}'}" for n, rate in rates.items())
    return f"--pack auto: {size} (aggregate img/s: {measured})"


def _is_out_of_memory(error: Exception) -> bool:
    import jax

    return isinstance(error, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(error)


def measured_rate(cells: list[Cell], dataset: Dataset, precision: str, seconds: float = PROBE_SECONDS) -> float | None:
    """Aggregate images/s of ``cells`` trained as one pack for about ``seconds`` (the compiling call left out), or
    :data:`OUT_OF_MEMORY`. Nothing is stored."""
    import jax

    first = cells[0]
    chunk = steps_per_call(first)
    try:
        program = PackedProgram(cells, dataset, precision)
        states, alive = program.states, program.alive
        # as many calls as the timing takes: leaving the block stops the drawing
        with DrawnAhead(lambda: program.data.draw_call(chunk), calls=2 ** 31) as drawn:
            states, alive, _ = program.call(states, alive, drawn)  # compiles
            jax.block_until_ready(states)
            calls, started = 0, time.perf_counter()
            while calls < 2 or time.perf_counter() - started < seconds:
                states, alive, _ = program.call(states, alive, drawn)
                jax.block_until_ready(states)
                calls += 1
            elapsed = time.perf_counter() - started
    except Exception as error:
        if _is_out_of_memory(error):
            return OUT_OF_MEMORY
        raise
    return calls * chunk * first.batch_size * len(cells) / elapsed


def probe_pack_size(like_cells: list[Cell], dataset: Dataset, precision: str) -> tuple[int, str]:
    """The pack size to train with, measured on ``like_cells`` (one pack key), and the line that says so."""
    sizes = sorted({min(size, len(like_cells)) for size in PROBED_SIZES})
    size, rates = choose_pack_size(sizes, lambda size: measured_rate(like_cells[:size], dataset, precision))
    return size, describe_choice(size, rates)
