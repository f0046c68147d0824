"""How much a grid asks for, and the bounds past which a run wants the user's confirmation (``--large-grid``).

A grid is refused before anything is written when it has more than ``MAX_CELLS`` cells or its training would take
more than ``MAX_HOURS`` at ``ASSUMED_OBSERVATIONS_PER_SECOND``: a typo in a preset (a sweep of 1,000 values) should
cost a line, not a results dir of pending cells and a week of a cluster.
"""

from __future__ import annotations

from vaebench.errors import VaebenchError

#: the most cells a grid trains without ``--large-grid`` (the shipped paper grid has 250)
MAX_CELLS = 10_000
#: the training rate the estimate assumes, in observations (steps × batch size) per second: the order of magnitude of
#: one GPU training the shipped conv models on 64×64 images, stated, not measured on this machine
ASSUMED_OBSERVATIONS_PER_SECOND = 50_000
#: the most estimated training hours a grid runs without ``--large-grid`` (the shipped paper grid: about 27)
MAX_HOURS = 1_000
CONFIRM_FLAG = "--large-grid"


def training_hours(cells) -> float:
    """The hours training ``cells`` takes at the assumed rate."""
    return sum(cell.steps * cell.batch_size for cell in cells) / ASSUMED_OBSERVATIONS_PER_SECOND / 3600


def check_grid_size(cells) -> None:
    """Refuse, in one line naming its size and cost, a grid past ``MAX_CELLS`` cells or ``MAX_HOURS`` hours."""
    hours = training_hours(cells)
    if len(cells) > MAX_CELLS or hours > MAX_HOURS:
        observations = sum(cell.steps * cell.batch_size for cell in cells)
        raise VaebenchError(
            f"this grid has {len(cells):,} cells and trains on {observations:.3g} observations (steps × batch size), "
            f"about {hours:,.0f} hours at an assumed {ASSUMED_OBSERVATIONS_PER_SECOND:,} observations/s; past "
            f"{MAX_CELLS:,} cells or {MAX_HOURS:,} hours a grid runs only with {CONFIRM_FLAG}")
