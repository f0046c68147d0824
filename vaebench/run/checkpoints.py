"""What a trainer calls at a cell's checkpoint steps: the plan (``vaebench.checkpoint_plan``) scored on the live weights.

The trainers (``vaebench.run.train``, ``vaebench.run.packing``) receive a :class:`CheckpointScorer` from the
runner and never import the metrics themselves.
"""

from __future__ import annotations

import time
from pathlib import Path

from vaebench.checkpoint_plan import CHECKPOINT_METRICS, CheckpointPlan
from vaebench.results.files import save_keras
from vaebench.results.layout import network_file, snapshot_dir


class CheckpointScorer:
    """What a trainer calls at each checkpoint step of one cell: ``at_step(step, model)`` keeps that step's scores
    and, at a snapshot step, its weights (scored in full with the cell, see ``vaebench.metrics.scoring.score_snapshots``)."""

    def __init__(self, plan: CheckpointPlan, cell, dataset, cell_dir):
        self.plan, self.cell, self.dataset, self.cell_dir = plan, cell, dataset, Path(cell_dir)
        self.scored_steps = frozenset(plan.steps(cell))
        self.snapshot_steps = frozenset(plan.snapshot_steps(cell))
        self.steps = self.scored_steps | self.snapshot_steps
        self.rows: list[dict] = []
        self.seconds = 0.0

    def at_step(self, step: int, model) -> None:
        """Score ``model``'s current weights as the cell's state after ``step`` training steps; keep them at a snapshot."""
        if step in self.snapshot_steps:
            for name, network in model.networks().items():
                save_keras(network, snapshot_dir(self.cell_dir, step) / network_file(name))
        if step in self.scored_steps:
            self._score(step, model)

    def _score(self, step: int, model) -> None:
        from vaebench.metrics.scoring import score_networks
        from vaebench.models import get_model_class

        started = time.perf_counter()
        card = get_model_class(self.cell.model).card(self.cell.model, dict(self.cell.hparams), model.likelihood)
        scores = score_networks(model.networks(), card, self.dataset, self.plan.settings, list(CHECKPOINT_METRICS),
                                self.cell.name, self.cell_dir)
        # a score that does not apply here ("n/a: why") has no row, as it has no number in metrics.json
        self.rows += [{"step": step, "metric": key, "value": value} for key, value in scores.items()
                      if not isinstance(value, str)]
        self.seconds += time.perf_counter() - started

    def record(self) -> dict:
        return self.plan.record(self.cell, self.seconds)
