"""Has training converged? The scores along training, judged by paired changes and the settings' ranking.

Pure: reads the scores at the checkpoints (columns setting, seed, step, metric, value, and points: the m evaluation
points an accuracy was measured on, NaN for other scores) and states the rules below on the page before applying them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaebench import stats
from vaebench.metrics.spec import SCORES
from vaebench.site.numbers import p_value, significant, two_decimals

#: a paired change this significant (Wilcoxon signed-rank, two-sided) and larger than the measurement noise: not converged
CHANGE_P = 0.01
#: "converged for ranking" needs Kendall τ at least this between the last two checkpoints at every latent size, and no
#: significant paired change
RANKING_TAU = 0.9
#: the rules, as the page states them before the findings
RULES = (f"A score has not converged when its paired change between the last two checkpoints (each cell against "
         f"itself, Wilcoxon signed-rank test over all cells) has p < {CHANGE_P} and a median change larger than the "
         f"score's measurement noise (for accuracies on m points, the binomial √(p(1 − p)/m), root mean square over "
         f"cells; for other scores none is estimated, and p alone decides); a checkpoint score whose noise exceeds "
         f"its seed spread (the median standard deviation of a setting's seeds in the final scores, measured on the "
         f"full counts) is left out. The ranking has converged when Kendall τ between the settings' rankings at the "
         f"last two checkpoints is at least {RANKING_TAU} at every latent size and the paired change is not "
         f"significant.")


@dataclass(frozen=True)
class Convergence:
    """One score along training: its paired change between two checkpoints and the settings' ranking at both."""

    metric: str
    change: stats.PairedChange
    #: "mean" or "median": what the ranking compares
    statistic: str
    #: latent size ("z = 4") -> Kendall τ between the settings' rankings at the two steps, and its n settings
    taus: dict[str, tuple[float, int]]
    #: the seeds' spread: the median over settings of a setting's standard deviation, in the final scores
    spread: float
    #: for an accuracy: its evaluation points m and binomial noise at the later step; None for other scores
    points: int | None = None
    noise: float | None = None

    @property
    def noisy(self) -> bool:
        """Whether the checkpoint score's measurement noise exceeds its seed spread: then it says nothing."""
        return self.noise is not None and not self.noise <= self.spread

    @property
    def significant(self) -> bool:
        return self.change.p < CHANGE_P

    @property
    def moving(self) -> bool:
        """Not converged: a significant paired change whose median exceeds the measurement noise."""
        return self.significant and abs(self.change.median) > (self.noise or 0.0)

    @property
    def decidable(self) -> bool:
        """Whether the paired test has cells enough to reach CHANGE_P: with fewer, convergence cannot be told."""
        return self.change.can_reach(CHANGE_P)

    @property
    def ranking_converged(self) -> bool:
        return (self.decidable and bool(self.taus) and all(tau >= RANKING_TAU for tau, _ in self.taus.values())
                and not self.significant)

    def _value(self, value: float) -> str:
        unit = SCORES[self.metric].unit
        return significant(value) + (f" {unit}" if unit else "")

    @property
    def lines(self) -> list[str]:
        c = self.change
        before, after = (f"{step:,}" for step in c.steps)
        if self.noisy:
            return [f"Along training: no convergence sentence from this score. At the checkpoints it is an accuracy on "
                    f"m = {self.points} evaluation points, whose measurement noise (binomial SE "
                    f"{two_decimals(self.noise)}) exceeds its seed spread (median standard deviation of a setting's seeds "
                    f"{two_decimals(self.spread)} in the final scores): its changes between checkpoints carry no "
                    f"information about convergence."]
        noise = f"; measurement noise {significant(self.noise)}" if self.noise is not None else ""
        if self.moving:
            towards = "still improving" if c.better >= c.worse else "getting worse"
            judged = f"not converged: {towards} in {max(c.better, c.worse)} of {c.cells} cells"
        elif self.significant:
            bound = f"the measurement noise ({significant(self.noise)})" if self.noise is not None else "0"
            judged = f"a significant change whose median ({self._value(c.median)}) is no larger than {bound}"
        elif not self.decidable:
            judged = (f"convergence cannot be told: with {c.better + c.worse} cells that moved, the test's smallest p is "
                      f"{significant(2 * 0.5 ** (c.better + c.worse))}, not below {CHANGE_P}")
        else:
            judged = f"no significant paired change ({p_value(c.p)})"
        out = [f"Along training, each cell against itself from step {before} to {after} (N = {c.cells} cells): better in "
               f"{c.better}, worse in {c.worse}, median change {self._value(c.median)} (Wilcoxon signed-rank "
               f"{p_value(c.p)}{noise}): {judged}."]
        if self.taus:
            taus = ", ".join(f"{'n/a' if not np.isfinite(tau) else two_decimals(tau)} (n = {n}) at {size}"
                             for size, (tau, n) in self.taus.items())
            out.append(f"Ranking of the settings by their {self.statistic} at steps {before} and {after}: Kendall τ = "
                       f"{taus}: {'converged' if self.ranking_converged else 'not converged'} for ranking (τ ≥ "
                       f"{RANKING_TAU} at every latent size and no significant paired change needed).")
        return out


def convergence(checkpoints: pd.DataFrame | None, metric: str, sizes: dict[str, str], spread: float,
                steps: tuple[int, int] | None = None) -> Convergence | None:
    """The score ``metric`` between ``steps`` (default: the last two checkpoints that have it); ``sizes``: setting ->
    its latent size as the page names it, whose settings are ranked together; ``spread``: the seed spread of the
    final scores (``stats.seed_spread``; a checkpoint's own spread holds its measurement noise). None without two
    such steps."""
    if checkpoints is None or checkpoints.empty:
        return None
    scored = checkpoints[checkpoints["metric"] == metric].dropna(subset=["value"])
    if steps is None:
        held = sorted(scored["step"].unique())
        if len(held) < 2:
            return None
        steps = (int(held[-2]), int(held[-1]))
    higher = SCORES[metric].ranked_higher
    change = stats.paired_change(scored, *steps, higher)
    if change is None:
        return None
    at = {step: scored[scored["step"] == step] for step in steps}
    later = at[steps[1]]
    statistic = stats.named_statistic(int(later.groupby("setting")["seed"].nunique().max()))
    taus = {}
    for size in dict.fromkeys(sizes.values()):
        ranked = [at[step][at[step]["setting"].map(sizes) == size].groupby("setting")["value"].agg(statistic)
                  for step in steps]
        if len(ranked[1]):
            taus[size] = stats.kendall_tau(*ranked)
    points = later["points"].dropna() if "points" in later else pd.Series(dtype=float)
    m = int(points.median()) if len(points) else None
    noise = stats.accuracy_noise(later["value"], m) if m else None
    return Convergence(metric, change, statistic, taus, spread, m, noise)
