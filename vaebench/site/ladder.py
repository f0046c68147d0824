"""The convergence ladder's findings: does a study's verdict at its first scored budget survive longer training?

Pure: it reads a tidy frame of full-protocol scores at several steps of the same cells (columns setting,
latent_dim, seed, step, metric, value; see ``vaebench.scores_by_step_frame``: a cell's snapshots and its last
step) and answers, per judged score, three questions stated before looking at the numbers:
- who is named best at each step (``stats.winner``, within a latent size, on the mean at few seeds);
- how much the settings' ranking changes between each pair of steps (Kendall τ of the per-setting statistic);
- whether the same cells still moved between consecutive steps (a paired test, ``stats.paired_change``).
A score is *converged for ranking* between its last two steps when τ ≥ ``convergence.RANKING_TAU`` and the paired
change is not significant at ``convergence.CHANGE_P``: the rules along training, stated on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from vaebench import stats
from vaebench.metrics.spec import SCORES
from vaebench.site.convergence import CHANGE_P, RANKING_TAU
from vaebench.site.numbers import p_value, significant, two_decimals



def _steps(step: int) -> str:
    return f"{step:,}"


@dataclass(frozen=True)
class Rung:
    """One score at one step: who is named best there (None: too few seeds to name anyone)."""

    step: int
    winner: stats.Winner | None


@dataclass(frozen=True)
class LadderFinding:
    """One score along the ladder's steps, within one latent size."""

    metric: str
    latent_dim: int
    rungs: tuple[Rung, ...]
    #: the statistic the settings are ranked by ("mean" at few seeds)
    statistic: str
    #: (earlier step, later step) -> (Kendall τ of the settings' statistic, n settings)
    taus: dict[tuple[int, int], tuple[float, int]]
    #: the paired change of the same cells between consecutive steps
    changes: tuple[stats.PairedChange, ...]

    @property
    def score(self):
        return SCORES[self.metric]

    @property
    def steps(self) -> list[int]:
        return [rung.step for rung in self.rungs]

    @property
    def survives(self) -> bool | None:
        """Whether the first step's first-named setting is still named at the last step; None where either names none."""
        first, last = self.rungs[0].winner, self.rungs[-1].winner
        return None if first is None or last is None else first.settings[0] in last.settings

    @property
    def decidable(self) -> bool:
        """Whether the last paired change has cells enough to reach CHANGE_P (with 7 moved cells or fewer it cannot)."""
        return self.changes[-1].can_reach(CHANGE_P)

    @property
    def converged(self) -> bool:
        """The rule stated in advance: τ ≥ RANKING_TAU between the last two steps and no significant paired change
        (from a test that could have found one)."""
        tau, _ = self.taus[tuple(self.steps[-2:])]
        return self.decidable and bool(tau >= RANKING_TAU) and not moved(self.changes[-1])

    def _named(self, rung: Rung) -> str:
        w = rung.winner
        if w is None:
            return "none named (a setting needs two seeds)"
        named = _join(f"{name} ({w.statistic} {significant(w.values[name])}, P(best) {w.p_best[name]:.2f})"
                      for name in w.settings)
        return named if w.separated else f"{named}, not separable"

    def _change(self, change: stats.PairedChange) -> str:
        a, b = change.steps
        verdict = ("still moving" if moved(change) else "no significant paired change" if change.can_reach(CHANGE_P)
                   else f"too few cells for the test to reach p < {CHANGE_P}")
        return (f"From {_steps(a)} to {_steps(b)} steps {change.better} of {change.cells} cells improved and "
                f"{change.worse} got worse (median change {significant(change.median)}"
                f"{' ' + self.score.unit if self.score.unit else ''}; Wilcoxon signed-rank {p_value(change.p)}): "
                f"{verdict}.")

    @property
    def lines(self) -> list[str]:
        named = "; ".join(f"at {_steps(rung.step)} steps {self._named(rung)}" for rung in self.rungs)
        lines = [f"Named best (within z = {self.latent_dim}): {named}."]
        taus = ", ".join(f"{_tau(tau)} from {_steps(a)} to {_steps(b)}" for (a, b), (tau, _) in self.taus.items())
        n = next(iter(self.taus.values()))[1]
        lines.append(f"Ranking of the {n} settings by their {self.statistic} over seeds: Kendall τ = {taus} (n = {n}).")
        lines += [self._change(change) for change in self.changes]
        first, last = self.rungs[0], self.rungs[-1]
        if self.survives is not None:
            kept = "still named" if self.survives else "no longer named"
            lines.append(f"The {_steps(first.step)}-step verdict's first setting, {first.winner.settings[0]}, is {kept} "
                         f"at {_steps(last.step)} steps.")
        rule = f"τ ≥ {RANKING_TAU} and no significant paired change"
        between = f"Between {_steps(self.steps[-2])} and {_steps(last.step)} steps"
        if not self.decidable:
            lines.append(f"{between} whether the ranking converged cannot be told: the paired test has too few cells to "
                         f"find a change (the rule: {rule}).")
        else:
            lines.append(f"{between} the ranking is "
                         + (f"converged ({rule})." if self.converged else f"not converged (the rule: {rule})."))
        return lines


def moved(change: stats.PairedChange) -> bool:
    """A paired change is significant: the same rule as along training (``convergence.CHANGE_P``)."""
    return change.p < CHANGE_P


def _tau(tau: float) -> str:
    return "n/a" if pd.isna(tau) else two_decimals(tau)


def _join(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def ladder(frame: pd.DataFrame, judged: tuple[str, ...], threshold: float = stats.WINNER_THRESHOLD) -> list[LadderFinding]:
    """One finding per judged score and latent size whose cells were scored at two steps or more; none otherwise."""
    findings = []
    frame = frame.dropna(subset=["value"])
    for metric in judged:
        for latent_dim, scored in frame[frame["metric"] == metric].groupby("latent_dim"):
            steps = sorted(int(step) for step in scored["step"].unique())
            if len(steps) < 2:
                continue
            higher = SCORES[metric].ranked_higher
            at = {step: scored[scored["step"] == step] for step in steps}
            statistic = stats.named_statistic(int(scored.groupby(["step", "setting"]).size().max()))
            per_setting = {step: at[step].groupby("setting")["value"].agg(stats.STATISTICS[statistic]) for step in steps}
            findings.append(LadderFinding(
                metric, int(latent_dim), tuple(Rung(step, stats.winner(at[step], higher, threshold)) for step in steps),
                statistic, {(a, b): stats.kendall_tau(per_setting[a], per_setting[b]) for a, b in combinations(steps, 2)},
                tuple(stats.paired_change(scored, a, b, higher) for a, b in zip(steps, steps[1:]))))
    return findings
