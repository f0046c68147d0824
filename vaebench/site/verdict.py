"""The index's verdict: one finding per judged score, each sentence drawn from ``vaebench.stats``.

Pure: it reads a tidy frame of the cells scored under the study's protocol (columns setting, objective,
dataset, latent_dim, seed, metric, value), optionally the per-factor matrices of each cell and the scores along
training and the reference rows, and returns findings whose sentences state every number with its n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaebench import stats
from vaebench.display import REFERENCE_TITLES
from vaebench.metrics.spec import HEADLINE, RECONSTRUCTION, SCORES
from vaebench.site.numbers import p_value, significant

#: a factor is "captured" by a cell when one of its latents carries at least this share of the factor's entropy
#: (normalised mutual information I(z_i; v_k) / H(v_k), the MIG matrix); the cell pages use the same cut
CAPTURED_SHARE = 0.25
#: the per-factor matrix the capture map reads: the normalised mutual information of MIG
FACTOR_MATRIX = "mig"
#: settings decide most of a score when the lower end of ω²'s interval reaches this share of its variance, seeds
#: decide more of it than settings when the upper end stays below it
MOST = 0.5


def _p(value: float) -> str:
    """A share or probability to two decimals, with a true minus sign (ω² can be below 0)."""
    return f"{value:.2f}".replace("-", "\u2212")


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Convergence:
    """Whether a score's ranking of the settings still moved between the last two checkpoints of training."""

    steps: tuple[int, int]
    tau: float
    settings: int
    #: settings whose median moved by more than their seed range between the two checkpoints
    moved: int

    @property
    def sentence(self) -> str:
        tau = "n/a" if not np.isfinite(self.tau) else f"{self.tau:.2f}"
        verdict = ("still moving: not converged at this budget" if self.moved else
                   "no setting's median moved by more than its seed range")
        return (f"Along training, the ranking of the {self.settings} settings between steps {self.steps[0]:,} and "
                f"{self.steps[1]:,} has Kendall τ = {tau} (n = {self.settings}); {self.moved} of {self.settings} "
                f"medians moved by more than their seed range ({verdict}).")


@dataclass(frozen=True)
class Finding:
    """What the statistics say about one score."""

    metric: str
    winner: stats.Winner
    effect: stats.SettingEffect | None
    parts: dict[str, stats.Part] | None
    #: the runner-up setting (the best outside the named group) and P(a seed of the first named beats a seed of it)
    runner_up: tuple[str, float] | None = None
    #: per named setting: its reconstruction cost against the best at its latent size, that best setting, the size
    cost: dict[str, tuple[float, str, int]] = field(default_factory=dict)
    convergence: Convergence | None = None
    #: reference row title -> its median over seeds at the first named setting's latent size (chance: any size)
    calibration: dict[str, float] = field(default_factory=dict)
    #: the cells and settings the finding read
    cells: int = 0
    settings: int = 0
    #: per latent size: the objective against its strengths (F = MS_objective / MS_strength-within-objective)
    objective_tests: dict[int, stats.FTest] = field(default_factory=dict)
    #: per latent size: the random-effects variance components of objective, strength and seed
    components: dict[int, stats.Components] = field(default_factory=dict)

    @property
    def score(self):
        return SCORES[self.metric]

    @property
    def label(self) -> str:
        """The score's label, with the end the verdict ranks best where the score is no quality in itself."""
        return self.score.label + (f" ({self.score.aim.why})" if self.score.aim else "")

    @property
    def decides(self) -> str | None:
        """"settings" where ω²'s interval starts at MOST or above, "seeds" where it ends below MOST, "neither" where it
        spans MOST; None where no setting effect is detected (nothing is said of who decides)."""
        e = self.effect
        if e is None or not e.detected:
            return None
        return "settings" if e.low >= MOST else "seeds" if e.high < MOST else "neither"

    def _value(self, value: float) -> str:
        return significant(value) + (f" {self.score.unit}" if self.score.unit else "")

    @property
    def best_phrase(self) -> str:
        """"β-VAE (β = 16), z = 4 is best (median 0.167, P(best) = 0.97)", or the group that cannot be separated, or
        the one setting that has the score (no winner of one)."""
        w = self.winner
        if self.settings == 1:
            [name] = w.settings
            return f"only {name} has it (median {self._value(w.medians[name])}, n = {self.cells} cells)"
        if len(w.tied) > 1:
            phrase = f"{_names(w.tied)} tie at a median of {self._value(w.medians[w.tied[0]])}"
            rest = [name for name in w.settings if name not in w.tied]
            return phrase + (f", and cannot be separated from {_names(rest)}" if rest else "")
        if w.separated:
            [name] = w.settings
            return f"{name} is best (median {self._value(w.medians[name])}, P(best) = {_p(w.p_best[name])})"
        chances = ", ".join(f"{name} {_p(w.p_best[name])}" for name in w.settings)
        return f"{_names(w.settings)} cannot be separated at n = {w.seeds} seeds (P(best): {chances})"

    @property
    def cost_phrase(self) -> str | None:
        """What the named setting pays in reconstruction against the best at its latent size; for a group, each member."""
        if not self.cost:
            return None
        if len(self.cost) > 1:
            paid = ", ".join(f"{name} +{significant(nats)}" for name, (nats, _, _) in self.cost.items())
            return f"reconstruction cost against the best at the same latent size (nats): {paid}"
        [(name, (nats, best, latent_dim))] = self.cost.items()
        if nats == 0:
            return f"it also reconstructs best at z = {latent_dim}"
        return f"at {significant(nats)} nats more reconstruction error than the best at z = {latent_dim} ({best})"

    @property
    def effect_phrase(self) -> str | None:
        """Whether the setting moves the score (the permutation test) and how much of its variance it explains (ω² with
        the noncentral-F interval, η² against its chance level); who decides the score only where the test finds an
        effect and the interval lies on one side of MOST."""
        e = self.effect
        if e is None:
            return None
        test = (f"permutation test of its {e.cells} cells across {e.settings} settings, "
                f"{e.permutations:,} permutations")
        size = (f"ω² = {_p(e.omega2)} (90 % noncentral-F interval {_p(e.low)}–{_p(e.high)}); η² = {_p(e.eta2)}, "
                f"{_p(e.chance)} expected by chance")
        if not e.detected:
            return f"no detectable setting effect ({p_value(e.p)}; {test}): {size}"
        decided = {"settings": f"settings decide most of it (the interval starts at {MOST} or above)",
                   "seeds": f"seeds decide more of it than settings (the interval ends below {MOST})",
                   "neither": f"whether settings or seeds decide more of it cannot be told (the interval spans {MOST})"}
        return f"the setting moves it ({p_value(e.p)}; {test}): {size}; {decided[self.decides]}"

    @property
    def p_text(self) -> str | None:
        """The permutation test's "p = 0.13"."""
        return p_value(self.effect.p) if self.effect else None

    @property
    def parts_phrase(self) -> str | None:
        """Locatello et al.'s decomposition, each share beside the share pure noise would give it; a part the grid
        does not vary (df 0: one objective, one latent size, one strength each) is left out."""
        if not self.parts:
            return None
        shares = ", ".join(f"{name} {_p(part.share)} (noise alone: {_p(part.null)}, df {part.df})"
                           for name, part in self.parts.items() if part.df)
        cells = self.effect.cells if self.effect else self.cells
        return (f"after Locatello et al., its sum of squares across {cells} cells splits into {shares}; pure noise "
                f"gives each part df / (N − 1)")

    @property
    def objective_tests_text(self) -> str | None:
        """"z = 4: F(2, 6) = 1.80, p = 0.24; z = 10: …"."""
        if not self.objective_tests:
            return None
        return "; ".join(f"z = {z}: F({t.df[0]}, {t.df[1]}) = {significant(t.f)}, {p_value(t.p)}"
                         for z, t in self.objective_tests.items())

    @property
    def objective_phrase(self) -> str | None:
        """The objective against the strengths within it, per latent size, with the test's low power said."""
        if not self.objective_tests:
            return None
        moved = [z for z, t in self.objective_tests.items() if t.rejects]
        between = min(t.df[1] for t in self.objective_tests.values())
        found = (f"the objective moves it more than its strengths do at z = {_names(map(str, moved))} "
                 f"(p < {stats.ALPHA}; {len(self.objective_tests)} latent sizes tested)" if moved else
                 "at no latent size does the objective move it more than its strengths do")
        return (f"objective against strength within objective (F = MS_objective / MS_strength): "
                f"{self.objective_tests_text}: {found}; with only {between} df between the strengths the test has little "
                f"power, so a p ≥ {stats.ALPHA} does not show that the objective matters less")

    @property
    def components_phrase(self) -> str | None:
        """Per latent size: each level's share of a random run's variance, and why there is no interval."""
        if not self.components:
            return None
        sizes = "; ".join(f"at z = {z} ({c.cells} cells) " +
                          ", ".join(f"{level} {_p(share)}" for level, share in c.shares.items())
                          for z, c in self.components.items())
        c = max(self.components.values(), key=lambda c: (c.strengths, c.objectives))
        return (f"variance components of a random run (random effects, method of moments, truncated at 0), as shares "
                f"of its variance: {sizes}; no interval: a nested bootstrap over at most {c.strengths} strengths within "
                f"each of {c.objectives} objectives cannot estimate one")

    @property
    def lines(self) -> list[str]:
        """The finding in full: who is best and how sure, against the runner-up, at what cost, and the seeds' share."""
        first = f"{self.label}: {self.best_phrase}"
        if self.cost_phrase:
            first += f"; {self.cost_phrase}"
        out = [first + "."]
        if self.runner_up is not None:
            name, p = self.runner_up
            out.append(f"A random seed of {self.winner.settings[0]} beats one of the runner-up {name} with P = {_p(p)} "
                       f"(pairs of seeds, ties count one half).")
        for phrase in (self.effect_phrase, self.parts_phrase, self.objective_phrase, self.components_phrase):
            if phrase:
                out.append(phrase[0].upper() + phrase[1:] + ".")
        if self.calibration:
            latent = next(iter(self.cost.values()))[2] if self.cost else None
            where = f" at z = {latent}" if latent is not None else ""
            out.append(f"For scale{where}, scored the same way: " +
                       ", ".join(f"{name} {self._value(value)}" for name, value in self.calibration.items()) + ".")
        if self.convergence is not None:
            out.append(self.convergence.sentence)
        return out


@dataclass(frozen=True)
class Capture:
    """The factor-capture map: per setting and factor, the best latent's normalised mutual information."""

    factors: tuple[str, ...]
    #: setting -> factor -> (median over seeds of the best latent's share, cells passing CAPTURED_SHARE, cells)
    rows: dict[str, dict[str, tuple[float, int, int]]]

    def passing(self, factor: str) -> tuple[int, int]:
        cells = [row[factor] for row in self.rows.values() if factor in row]
        return sum(c[1] for c in cells), sum(c[2] for c in cells)


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding]
    capture: Capture | None = None
    #: lines saying which cells were left out of which comparisons (another scoring protocol)
    excluded: list[str] = field(default_factory=list)
    threshold: float = stats.WINNER_THRESHOLD
    #: the rules of the setting effect, for the page to state: permutations, the test's level, MOST
    permutations: int = stats.PERMUTATIONS
    alpha: float = stats.ALPHA
    most: float = MOST

    def finding(self, metric: str) -> Finding | None:
        return next((f for f in self.findings if f.metric == metric), None)

    @property
    def answer(self) -> list[str]:
        """The question answered first: who reconstructs best, who disentangles best on each score at what cost,
        and whether settings or seeds decide the scores."""
        out = []
        recon = self.finding(RECONSTRUCTION)
        if recon is not None:
            out.append(f"Reconstruction: {recon.best_phrase}.")
        for finding in self.findings:
            if finding.metric == RECONSTRUCTION:
                continue
            text = f"{finding.label}: {finding.best_phrase}"
            out.append(text + (f", {finding.cost_phrase}." if finding.cost_phrase else "."))
        if self.effect_sentence:
            out.append(self.effect_sentence)
        return out

    @property
    def effect_sentence(self) -> str | None:
        """Which scores the settings decide, which the seeds, which neither, and which have no detectable setting
        effect (with their p); None where no score could be tested."""
        judged = [f for f in self.findings if f.effect is not None]
        if not judged:
            return None
        by = {decides: [f for f in judged if f.decides == decides] for decides in ("settings", "seeds", "neither", None)}
        parts = []
        if by["settings"]:
            parts.append(f"settings decide most of the variance across cells of {_names(f.score.label for f in by['settings'])}"
                         f" (ω²'s 90 % interval starts at {MOST} or above)")
        if by["seeds"]:
            parts.append(f"seeds decide more of the variance of {_names(f.score.label for f in by['seeds'])} than "
                         f"settings (the interval ends below {MOST})")
        if by["neither"]:
            parts.append(f"the setting moves {_names(f.score.label for f in by['neither'])} (permutation p < "
                         f"{stats.ALPHA}), but whether it decides most of the variance cannot be told")
        if by[None]:
            parts.append("no detectable setting effect on " +
                         _names(f"{f.score.label} ({p_value(f.effect.p)})" for f in by[None]))
        sentence = "; ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."

    def named_first(self, setting: str) -> str:
        """What the verdict names ``setting`` first on: "best on" the scores it wins alone, and the scores where it
        only heads a group that cannot be separated (or a tie), said as such."""
        best = [f.score.label for f in self.findings if f.winner.settings == (setting,)]
        heads = [f.score.label for f in self.findings if f.winner.settings[0] == setting and not f.winner.separated]
        parts = []
        if best:
            parts.append(f"best on {', '.join(best)}")
        if heads:
            parts.append(f"named first, not separable from others, on {', '.join(heads)}")
        return "; ".join(parts)

    @property
    def headline(self) -> str | None:
        """One sentence with its n: the first judged score's finding (``verdict_scores``: what the data kind is for
        first), else reconstruction's."""
        judged = [f for f in self.findings if f.metric != RECONSTRUCTION] or self.findings
        if not judged:
            return None
        first = judged[0]
        n = "" if first.settings == 1 else f"; n = {first.cells} cells of {first.settings} settings"  # else in the phrase
        return f"{first.label}: {first.best_phrase}{n}."


def verdict(frame: pd.DataFrame, matrices: dict[str, dict] | None = None, checkpoints: pd.DataFrame | None = None,
            excluded: list[str] | None = None, threshold: float = stats.WINNER_THRESHOLD,
            references: pd.DataFrame | None = None, judged: tuple[str, ...] = HEADLINE) -> Verdict:
    """Findings from the frame of on-protocol scores (see the module's docstring): reconstruction's, then those of the
    ``judged`` scores the frame holds (``vaebench.metrics.spec.verdict_scores`` of the study's data kinds).

    ``matrices``: setting's cell -> (setting, metrics.json "matrices"); ``checkpoints``: scores along training
    (columns setting, seed, step, metric, value); ``references``: the calibration rows (columns title,
    latent_dim (NaN where a row has none), metric, value).
    """
    if frame.empty:
        return Verdict([], None, excluded or [], threshold)
    frame = frame.dropna(subset=["value"])
    recon = _medians(frame[frame["metric"] == RECONSTRUCTION])
    costs = stats.same_size_cost(recon) if not recon.empty else pd.Series(dtype=float)
    findings = []
    for metric in (RECONSTRUCTION, *judged):
        scored = frame[frame["metric"] == metric]
        if scored.empty:
            continue
        higher = SCORES[metric].ranked_higher
        found = stats.winner(scored, higher, threshold)
        runner_up = None
        ranked = _medians(scored).assign(key=lambda m: -m["median"] if higher else m["median"]).sort_values(["key", "setting"])
        outside = [s for s in ranked["setting"] if s not in found.settings]
        if outside:
            by = scored.groupby("setting")["value"]
            runner_up = (outside[0], stats.dominance(by.get_group(found.settings[0]), by.get_group(outside[0]), higher))
        cost = {}
        for name in found.settings if metric != RECONSTRUCTION else ():
            if name in costs.index:
                latent_dim = int(recon.set_index("setting").loc[name, "latent_dim"])
                same = recon[recon["latent_dim"] == latent_dim].sort_values(["median", "setting"])
                cost[name] = (float(costs[name]), same.iloc[0]["setting"], latent_dim)
        latent_dim = int(scored[scored["setting"] == found.settings[0]]["latent_dim"].iloc[0])
        findings.append(Finding(metric, found, stats.setting_effect(scored), stats.decomposition(scored), runner_up,
                                cost, _convergence(checkpoints, metric), _calibration(references, metric, latent_dim),
                                len(scored), scored["setting"].nunique(),
                                stats.objective_against_strength(scored), stats.variance_components(scored)))
    return Verdict(findings, capture(matrices or {}), excluded or [], threshold)


def _calibration(references: pd.DataFrame | None, metric: str, latent_dim: int) -> dict[str, float]:
    """Each reference row's median of ``metric`` at ``latent_dim`` (rows without a latent size count at every size)."""
    if references is None or references.empty:
        return {}
    rows = references[(references["metric"] == metric) & references["value"].notna()]
    rows = rows[rows["latent_dim"].isna() | (rows["latent_dim"] == latent_dim)]
    medians = rows.groupby("title", sort=False)["value"].median()
    order = list(REFERENCE_TITLES.values())
    return {title: float(medians[title]) for title in sorted(medians.index, key=lambda t: order.index(t) if t in order else len(order))}


def _medians(frame: pd.DataFrame) -> pd.DataFrame:
    """Per setting: dataset, latent size and median."""
    if frame.empty:
        return pd.DataFrame(columns=["setting", "dataset", "latent_dim", "median"])
    grouped = frame.groupby("setting")
    return pd.DataFrame({"dataset": grouped["dataset"].first(), "latent_dim": grouped["latent_dim"].first(),
                         "median": grouped["value"].median()}).reset_index()


def _convergence(checkpoints: pd.DataFrame | None, metric: str) -> Convergence | None:
    if checkpoints is None or checkpoints.empty:
        return None
    scored = checkpoints[checkpoints["metric"] == metric].dropna(subset=["value"])
    steps = sorted(scored["step"].unique())
    if len(steps) < 2:
        return None
    last, before = (scored[scored["step"] == step].groupby("setting")["value"] for step in (steps[-1], steps[-2]))
    tau, n = stats.kendall_tau(before.median(), last.median())
    spread = (last.max() - last.min()).reindex(before.median().index)
    moved = int(((last.median() - before.median()).abs() > spread).sum())
    return Convergence((int(steps[-2]), int(steps[-1])), tau, n, moved)


def capture(matrices: dict[str, tuple[str, dict]]) -> Capture | None:
    """The capture map from each cell's (setting, matrices); cells without the MIG matrix are skipped."""
    shares: dict[str, dict[str, list[float]]] = {}
    factors: list[str] = []
    for setting, cell in matrices.values():
        matrix = (cell or {}).get(FACTOR_MATRIX)
        if not matrix:
            continue
        for k, factor in enumerate(matrix["columns"]):
            if factor not in factors:
                factors.append(factor)
            shares.setdefault(setting, {}).setdefault(factor, []).append(max(row[k] for row in matrix["values"]))
    if not shares:
        return None
    rows = {setting: {factor: (float(np.median(values)), sum(v >= CAPTURED_SHARE for v in values), len(values))
                      for factor, values in by_factor.items()}
            for setting, by_factor in shares.items()}
    return Capture(tuple(factors), rows)
