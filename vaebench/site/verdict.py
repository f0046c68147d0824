"""The index's verdict: one finding per judged score, each sentence drawn from ``vaebench.stats``.

Pure: it reads a tidy frame of the cells scored under the study's protocol (columns setting, objective,
dataset, latent_dim, seed, metric, value), optionally the per-factor matrices of each cell and the scores along
training and the reference rows, and returns findings whose sentences state every number with its n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from vaebench import stats
from vaebench.display import REFERENCE_TITLES
from vaebench.metrics.spec import HEADLINE, RECONSTRUCTION, SCORES
from vaebench.site.capture import Capture, capture
from vaebench.site.collapse import RULE as COLLAPSE_RULE
from vaebench.site.collapse import Collapse, collapse
from vaebench.site.convergence import RULES as CONVERGENCE_RULES
from vaebench.site.convergence import Convergence, convergence
from vaebench.site.numbers import p_value, significant, two_decimals

#: settings decide most of a score when the lower end of ω²'s interval reaches this share of its variance, seeds
#: decide more of it than settings when the upper end stays below it
MOST = 0.5
#: the calibration row every setting is compared with on each factor score
LINEAR_CODE = REFERENCE_TITLES["pca"]


_p = two_decimals


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _label(metric: str) -> str:
    """The score's label, with the end the verdict ranks best where the score is no quality in itself."""
    score = SCORES[metric]
    return score.label + (f" ({score.aim.why})" if score.aim else "")


@dataclass(frozen=True)
class Best:
    """Who is best on one score among the settings of one latent size (and dataset), and against what."""

    metric: str
    #: the latent size as the page names it: "z = 4" (with the dataset where the study has several)
    size: str
    #: None where some setting has fewer than ``stats.FEWEST_SEEDS`` seeds: nothing is named
    winner: stats.Winner | None
    #: settings and cells compared, and the fewest seeds of a setting
    settings: int
    cells: int
    seeds: int
    #: P(a random seed of the first beats one of the second), the first two settings by the statistic
    top_two: float | None = None
    #: per named setting: its reconstruction cost against the best at this size, and that best setting
    cost: dict[str, tuple[float, str]] = field(default_factory=dict)
    #: settings scoring below the linear code (by the statistic), settings compared, and the linear code's statistic
    below_linear: tuple[int, int, float] | None = None
    #: reference row title -> its median over seeds at this size (rows without a size: any)
    calibration: dict[str, float] = field(default_factory=dict)
    #: setting -> (collapsed seeds, seeds), for this size's settings collapsed in most seeds
    collapsed: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def score(self):
        return SCORES[self.metric]

    def _value(self, value: float) -> str:
        return significant(value) + (f" {self.score.unit}" if self.score.unit else "")

    def name(self, setting: str) -> str:
        """The setting's name, with its collapse where it collapsed in most seeds."""
        if setting not in self.collapsed:
            return setting
        k, n = self.collapsed[setting]
        return f"{setting} (collapsed in {k} of {n} seeds)"

    def _names(self, settings) -> str:
        return _names(self.name(s) for s in settings)

    @property
    def best_phrase(self) -> str:
        """"β-VAE (β = 16), z = 4 is best (mean 0.167, median 0.160, P(best) = 0.97)", the group that cannot be
        separated, a tie, the one setting that has the score, or why nothing is named."""
        w = self.winner
        if w is None:
            return (f"{self.seeds} seed per setting: no setting is named best and no P(best) is stated (it needs at "
                    f"least {stats.FEWEST_SEEDS} seeds per setting)")
        if self.settings == 1:
            [name] = w.settings
            return (f"only {self.name(name)} has it ({w.statistic} {self._value(w.values[name])}, "
                    f"n = {self.cells} cells)")
        if len(w.tied) > 1:
            phrase = f"{self._names(w.tied)} tie at a {w.statistic} of {self._value(w.values[w.tied[0]])}"
            rest = [name for name in w.settings if name not in w.tied]
            return phrase + (f", and cannot be separated from {self._names(rest)}" if rest else "")
        if w.separated:
            [name] = w.settings
            return (f"{self.name(name)} is best ({w.statistic} {self._value(w.values[name])}, median "
                    f"{self._value(w.medians[name])}, P(best) = {_p(w.p_best[name])})")
        chances = ", ".join(f"{name} {_p(w.p_best[name])}" for name in w.settings)
        return f"{self._names(w.settings)} cannot be separated at n = {w.seeds} seeds (P(best): {chances})"

    @property
    def cost_phrase(self) -> str | None:
        """What the named setting pays in reconstruction against the best at its size; for a group, each member."""
        if not self.cost:
            return None
        if len(self.cost) > 1:
            paid = ", ".join(f"{name} +{significant(nats)}" for name, (nats, _) in self.cost.items())
            return f"reconstruction cost against the best at {self.size} (nats): {paid}"
        [(name, (nats, best))] = self.cost.items()
        if nats == 0:
            return f"it also reconstructs best at {self.size}"
        return f"at {significant(nats)} nats more reconstruction error than the best at {self.size} ({best})"

    @property
    def linear_phrase(self) -> str | None:
        """How many settings of this size score below the linear code: a learnt code below it shows no learnt
        disentanglement, whoever is best."""
        if self.below_linear is None:
            return None
        below, compared, linear = self.below_linear
        statistic = self.winner.statistic if self.winner else stats.named_statistic(self.seeds)
        return (f"{below} of {compared} settings at {self.size} score below the {LINEAR_CODE} on the "
                f"{self.score.label}, by their {statistic} (the linear code's: {self._value(linear)})")

    @property
    def answer(self) -> str:
        """The first screen's sentence: who is best at this size, at what cost, and how many settings a linear code beats."""
        return (f"{_label(self.metric)} at {self.size}: {self.best_phrase}" +
                (f", {self.cost_phrase}" if self.cost_phrase else "") +
                (f"; {self.linear_phrase}." if self.linear_phrase else "."))

    @property
    def lines(self) -> list[str]:
        """Who is best and how sure, the top two, the cost, and the settings against the linear code."""
        out = [f"{_label(self.metric)} at {self.size}: {self.best_phrase}" +
               (f"; {self.cost_phrase}." if self.cost_phrase else ".")]
        if self.top_two is not None:
            first, second = self.winner.top_two
            out.append(f"Top two at {self.size} by their {self.winner.statistic}: a random seed of {self.name(first)} "
                       f"beats one of {self.name(second)} with P = {_p(self.top_two)} (pairs of seeds, ties count one "
                       f"half).")
        if self.linear_phrase:
            out.append(self.linear_phrase[0].upper() + self.linear_phrase[1:] + ".")
        if self.calibration:
            out.append(f"For scale at {self.size}, scored the same way (medians over seeds): " +
                       ", ".join(f"{name} {self._value(value)}" for name, value in self.calibration.items()) + ".")
        return out


@dataclass(frozen=True)
class Finding:
    """What the statistics say about one score."""

    metric: str
    #: who is best at each latent size, sizes in order
    sizes: list[Best]
    effect: stats.SettingEffect | None
    parts: dict[str, stats.Part] | None
    convergence: Convergence | None = None
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
        return _label(self.metric)

    @property
    def decides(self) -> str | None:
        """"settings" where ω²'s interval starts at MOST or above, "seeds" where it ends below MOST, "neither" where it
        spans MOST; None where no setting effect is detected (nothing is said of who decides)."""
        e = self.effect
        if e is None or not e.detected:
            return None
        return "settings" if e.low >= MOST else "seeds" if e.high < MOST else "neither"

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
        """The finding in full: per latent size who is best and how sure, then the seeds' share and training."""
        out = [line for best in self.sizes for line in best.lines]
        for phrase in (self.effect_phrase, self.parts_phrase, self.objective_phrase, self.components_phrase):
            if phrase:
                out.append(phrase[0].upper() + phrase[1:] + ".")
        if self.convergence is not None:
            out.extend(self.convergence.lines)
        return out


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding]
    capture: Capture | None = None
    #: lines saying which cells were left out of which comparisons (another scoring protocol)
    excluded: list[str] = field(default_factory=list)
    threshold: float = stats.WINNER_THRESHOLD
    collapse: Collapse | None = None
    #: the rules of the setting effect, for the page to state: permutations, the test's level, MOST
    permutations: int = stats.PERMUTATIONS
    alpha: float = stats.ALPHA
    most: float = MOST

    def finding(self, metric: str) -> Finding | None:
        return next((f for f in self.findings if f.metric == metric), None)

    @property
    def rules(self) -> list[str]:
        """How the verdict names a best setting, judges training and spots collapse, stated before the findings."""
        return [f"Settings are compared only with settings of the same latent size (and data). P(best) is the share of "
                f"{stats.BEST_RESAMPLES:,} bootstrap resamples of the seeds (within each setting, fixed seed) in which a "
                f"setting has the best mean over its seeds, exact ties splitting the win (the median over seeds is "
                f"shown beside it: at up to {stats.MEAN_UP_TO_SEEDS} seeds a resample's median is one seed's value; "
                f"above that, the median is the statistic). A setting is named best only when its P(best) is at least "
                f"{_p(self.threshold)}; otherwise the smallest group reaching {_p(self.threshold)} together is named as "
                f"not separable, and equal statistics are a tie. With fewer than {stats.FEWEST_SEEDS} seeds per setting "
                f"nothing is named. The top two (first and second by the statistic) are compared seed against seed "
                f"(Mann–Whitney U / (n_A·n_B)). Costs compare a setting's reconstruction with the best at the same "
                f"latent size.", CONVERGENCE_RULES,
                f"A cell has collapsed when it has {COLLAPSE_RULE} (a latent is active when its posterior mean varies "
                f"over held-out data); a setting, when most of its seeds have. A collapsed setting is named with its "
                f"collapse wherever the verdict names it."]

    @property
    def answer(self) -> list[str]:
        """The question answered first, per latent size: who reconstructs best, who disentangles best on each score at
        what cost; which settings collapsed; and whether settings or seeds decide the scores."""
        out = [best.answer for finding in sorted(self.findings, key=lambda f: f.metric != RECONSTRUCTION)
               for best in finding.sizes]
        if self.collapse is not None and self.collapse.collapsed:
            out.append(self.collapse.sentence)
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
        settings, seeds, neither, undetected = ([f for f in judged if f.decides == decides]
                                                for decides in ("settings", "seeds", "neither", None))
        parts = []
        if settings:
            parts.append(f"settings decide most of the variance across cells of {_names(f.score.label for f in settings)}"
                         f" (ω²'s 90 % interval starts at {MOST} or above)")
        if seeds:
            parts.append(f"seeds decide more of the variance of {_names(f.score.label for f in seeds)} than "
                         f"settings (the interval ends below {MOST})")
        if neither:
            parts.append(f"the setting moves {_names(f.score.label for f in neither)} (permutation p < "
                         f"{stats.ALPHA}), but whether it decides most of the variance cannot be told")
        if undetected:
            parts.append("no detectable setting effect on " +
                         _names(f"{f.score.label} ({p_value(f.effect.p)})" for f in undetected))
        sentence = "; ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."

    def named_first(self, setting: str) -> str:
        """What the verdict names ``setting`` first on: "best on" the scores it wins alone at its size, and the scores
        where it only heads a group that cannot be separated (or a tie), said as such."""
        won = [(f.score.label, b.winner) for f in self.findings for b in f.sizes if b.winner is not None]
        best = [label for label, w in won if w.settings == (setting,)]
        heads = [label for label, w in won if w.settings[0] == setting and not w.separated]
        parts = []
        if best:
            parts.append(f"best on {', '.join(best)}")
        if heads:
            parts.append(f"named first, not separable from others, on {', '.join(heads)}")
        collapsed = self.collapse.of(setting) if self.collapse is not None else None
        if parts and collapsed:
            parts.append(f"collapsed in {collapsed[0]} of {collapsed[1]} seeds")
        return "; ".join(parts)

    @property
    def headline(self) -> str | None:
        """One sentence with its n: the first judged score's finding at each latent size (``verdict_scores``: what the
        data kind is for first), else reconstruction's."""
        judged = [f for f in self.findings if f.metric != RECONSTRUCTION] or self.findings
        if not judged:
            return None
        first = judged[0]
        sizes = "; ".join(f"at {best.size}, {best.best_phrase}" for best in first.sizes)
        n = "" if first.settings == 1 else f"; n = {first.cells} cells of {first.settings} settings"  # else in the phrase
        return f"{first.label}: {sizes}{n}."


def verdict(frame: pd.DataFrame, matrices: dict[str, tuple[str, int, dict]] | None = None,
            checkpoints: pd.DataFrame | None = None, excluded: list[str] | None = None,
            threshold: float = stats.WINNER_THRESHOLD, references: pd.DataFrame | None = None,
            judged: tuple[str, ...] = HEADLINE) -> Verdict:
    """Findings from the frame of on-protocol scores (see the module's docstring): reconstruction's, then those of the
    ``judged`` scores the frame holds (``vaebench.metrics.spec.verdict_scores`` of the study's data kinds).

    ``matrices``: cell -> (setting, seed, metrics.json "matrices"); ``checkpoints``: scores along training (columns
    setting, seed, step, metric, value and, for accuracies, points: their evaluation points); ``references``: the
    calibration rows (columns title, latent_dim (NaN where a row has none), metric, value).
    """
    if frame.empty:
        return Verdict([], None, excluded or [], threshold)
    frame = frame.dropna(subset=["value"])
    sizes = _sizes(frame)
    collapsed = collapse(frame)
    recon = frame[frame["metric"] == RECONSTRUCTION]
    costs = stats.same_size_cost(_summary(recon)) if not recon.empty else pd.Series(dtype=float)
    #: per size, the setting that reconstructs best there (its cost is 0)
    best_recon = {sizes[name]: name for name in costs[costs == 0].index[::-1]}
    findings = []
    for metric in (RECONSTRUCTION, *judged):
        scored = frame[frame["metric"] == metric]
        if scored.empty:
            continue
        at_size = [_best(part, metric, size, threshold, costs, best_recon.get(size), references,
                         collapsed.settings if collapsed is not None else {})
                   for size, part in scored.groupby(scored["setting"].map(sizes), sort=False)]
        order = list(dict.fromkeys(sizes.values()))
        findings.append(Finding(metric, sorted(at_size, key=lambda b: order.index(b.size)), stats.setting_effect(scored),
                                stats.decomposition(scored), convergence(checkpoints, metric, sizes, stats.seed_spread(scored)),
                                len(scored), scored["setting"].nunique(), stats.objective_against_strength(scored),
                                stats.variance_components(scored)))
    return Verdict(findings, capture(matrices or {}), excluded or [], threshold, collapsed)


def _sizes(frame: pd.DataFrame) -> dict[str, str]:
    """Setting -> its latent size as the page names it ("z = 4", or "z = 4 on wine" where the frame holds several
    datasets), in the order of dataset and size."""
    first = frame.drop_duplicates("setting").sort_values(["dataset", "latent_dim", "setting"])
    several = first["dataset"].nunique() > 1
    return {row.setting: f"z = {int(row.latent_dim)}" + (f" on {row.dataset}" if several else "")
            for row in first.itertuples()}


def _best(scored: pd.DataFrame, metric: str, size: str, threshold: float, costs: pd.Series, best_recon: str | None,
          references: pd.DataFrame | None, collapsed: dict[str, tuple[int, int]]) -> Best:
    """Who is best on ``metric`` among the settings of one size (``scored``: their cells); ``costs``: every setting's
    reconstruction cost at its size, ``best_recon``: the setting that reconstructs best at this one."""
    higher = SCORES[metric].ranked_higher
    found = stats.winner(scored, higher, threshold)
    by = scored.groupby("setting")["value"]
    seeds = int(by.size().min())
    top_two = None
    if found is not None and found.top_two is not None:
        first, second = found.top_two
        top_two = stats.dominance(by.get_group(first), by.get_group(second), higher)
    cost = {}
    if found is not None and metric != RECONSTRUCTION:
        cost = {name: (float(costs[name]), best_recon) for name in found.settings if name in costs.index}
    latent_dim = int(scored["latent_dim"].iloc[0])
    statistic = found.statistic if found is not None else stats.named_statistic(int(by.size().max()))
    values = by.agg(stats.STATISTICS[statistic])
    return Best(metric, size, found, len(values), len(scored), seeds, top_two, cost,
                _below_linear(values, references, metric, latent_dim, statistic, higher),
                _calibration(references, metric, latent_dim),
                {name: collapsed[name] for name in values.index if name in collapsed})


def _below_linear(values: pd.Series, references: pd.DataFrame | None, metric: str, latent_dim: int, statistic: str,
                  higher: bool) -> tuple[int, int, float] | None:
    """How many settings (``values``: their statistic) score worse than the linear code at their size."""
    if references is None or references.empty:
        return None
    rows = references[(references["title"] == LINEAR_CODE) & (references["metric"] == metric)
                      & (references["latent_dim"] == latent_dim)]["value"].dropna()
    if rows.empty:
        return None
    linear = float(stats.STATISTICS[statistic](rows.to_numpy(float)))
    below = (values < linear) if higher else (values > linear)
    return int(below.sum()), len(values), linear


def _calibration(references: pd.DataFrame | None, metric: str, latent_dim: int) -> dict[str, float]:
    """Each reference row's median of ``metric`` at ``latent_dim`` (rows without a latent size count at every size)."""
    if references is None or references.empty:
        return {}
    rows = references[(references["metric"] == metric) & references["value"].notna()]
    rows = rows[rows["latent_dim"].isna() | (rows["latent_dim"] == latent_dim)]
    medians = rows.groupby("title", sort=False)["value"].median()
    order = list(REFERENCE_TITLES.values())
    return {title: float(medians[title]) for title in sorted(medians.index, key=lambda t: order.index(t) if t in order else len(order))}


def _summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per setting: dataset, latent size and its statistic over seeds (``stats.named_statistic`` of its seeds)."""
    grouped = frame.groupby("setting")
    statistic = stats.named_statistic(int(grouped.size().max()))
    return pd.DataFrame({"dataset": grouped["dataset"].first(), "latent_dim": grouped["latent_dim"].first(),
                         "value": grouped["value"].agg(stats.STATISTICS[statistic])}).reset_index()
