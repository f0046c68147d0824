"""Scores along training: at which steps a cell is scored while it trains, with which metrics, at which counts.

A preset's optional ``[checkpoints]`` table sets ``count`` (checkpoints after step 0, geometrically
spaced, the last at the final step; 0 turns them off), ``snapshots`` (steps before the last whose weights are kept
in the cell's ``snapshots/step<N>/`` and scored like the final model: every metric at the final counts, so a
convergence ladder compares one protocol at several budgets) and may override any metric setting of
``vaebench.metrics.spec.SETTINGS``. The settings start from the preset's ``[metrics]`` (seed, bins,
batch size), then take :data:`DEFAULT_COUNTS` where the final scoring's counts are not smaller, then the
table's own values. Each checkpoint is scored by the final scoring's own code
(:func:`vaebench.metrics.scoring.score_networks`): the same functions and the same named random
streams, so every checkpoint draws the same samples and differs from the others only in the weights. This is the plan, read when a preset is parsed; the scoring at each step is
``vaebench.run.checkpoints.CheckpointScorer``, which the trainers receive from the runner.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaebench.errors import VaebenchError
from vaebench.metrics.spec import DEFAULT_SETTINGS, METRICS, SETTINGS, MetricSettings, resolve_settings

#: the metrics scored at every checkpoint: cheap ones, enough to see whether training converged
CHECKPOINT_METRICS = ("reconstruction", "elbo", "mig", "factor_vae", "beta_vae")
#: checkpoints after step 0 when a preset does not say
DEFAULT_COUNT = 5
#: sample counts per checkpoint when a preset does not say (or its final scoring takes fewer): a few seconds per
#: checkpoint of a 64×64 conv cell on a 2-core CPU
DEFAULT_COUNTS = {"heldout": 500, "iwae_samples": 1, "num_train": 1000, "beta_vae_points_train": 40,
                  "beta_vae_points_eval": 20, "factor_vae_variance_samples": 1000, "factor_vae_votes_train": 40,
                  "factor_vae_votes_eval": 20}


def checkpoint_steps(total_steps: int, count: int, interval: int) -> list[int]:
    """Step 0 and ``count`` steps spaced geometrically from the first logging interval's end to ``total_steps``.

    Each is rounded to the nearest end of a logging interval (a multiple of ``interval``, or
    ``total_steps``), where training hands its weights to the host anyway; rounding may merge two, so a
    short training gets fewer. ``count`` 0: none at all.
    """
    if count <= 0:
        return []
    interval = min(interval, total_steps)
    if count == 1:
        return [0, total_steps]
    ratio = total_steps / interval
    targets = (interval * ratio ** (k / (count - 1)) for k in range(count))
    return sorted({0, total_steps, *(min(total_steps, interval * max(1, round(target / interval))) for target in targets)})


@dataclass(frozen=True)
class CheckpointPlan:
    """How many checkpoints a grid's cells get and the metric settings each one is scored with."""

    count: int
    settings: MetricSettings
    #: steps whose weights are kept and scored under the full protocol (those before the cell's last step apply)
    snapshots: tuple[int, ...] = ()

    @property
    def active(self) -> bool:
        """Whether a cell trained under this plan stops at any step besides its last."""
        return bool(self.count or self.snapshots)

    def steps(self, cell) -> list[int]:
        return checkpoint_steps(cell.steps, self.count, cell.log_every)

    def snapshot_steps(self, cell) -> list[int]:
        """The snapshot steps that fall within ``cell``'s training (its last step is the cell itself)."""
        return [step for step in self.snapshots if step < cell.steps]

    def record(self, cell, seconds: float) -> dict:
        """What params.json keeps of a cell's checkpoints: the steps, metrics, settings and the time they took."""
        used = sorted({name for metric in CHECKPOINT_METRICS for name in METRICS[metric].settings})
        return {"steps": self.steps(cell), "metrics": list(CHECKPOINT_METRICS),
                "settings": {name: self.settings[name] for name in used}, "seconds": round(seconds, 3),
                "snapshots": self.snapshot_steps(cell)}


def checkpoint_plan(table: dict | None, final: MetricSettings = DEFAULT_SETTINGS) -> CheckpointPlan:
    """The plan of a preset's ``[checkpoints]`` table (None: the defaults) beside its final scoring's ``final`` settings;
    a VaebenchError naming a bad key or value."""
    table = dict(table or {})
    count = table.pop("count", DEFAULT_COUNT)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise VaebenchError(f"bad count = {count!r}: expected an integer ≥ 0 (0: no checkpoints)")
    snapshots = table.pop("snapshots", [])
    if (not isinstance(snapshots, list) or len(set(map(repr, snapshots))) < len(snapshots)
            or any(not isinstance(step, int) or isinstance(step, bool) or step < 1 for step in snapshots)):
        raise VaebenchError(f"bad snapshots = {snapshots!r}: expected a list of distinct steps ≥ 1, e.g. [3000, 6000]")
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        raise VaebenchError(f"unknown key {unknown[0]!r}; accepted: count, snapshots, {', '.join(SETTINGS)}")
    # never more samples at a checkpoint than the final scoring takes
    counts = {name: min(value, final[name]) for name, value in DEFAULT_COUNTS.items()}
    return CheckpointPlan(count, resolve_settings({**final, **counts, **table}), tuple(sorted(snapshots)))
