"""The statistics a verdict stands on (see README, "How the verdict is decided", and the project's statistics notes).

Pure functions of a tidy frame of one score: one row per cell with the columns ``setting`` (everything that
defines a cell except its seed), ``seed`` and ``value``; the decomposition, the objective-against-strength test and
the variance components also read ``objective`` and ``latent_dim`` (a setting's strength is what tells it from the
other settings of its objective and latent size). Every random draw (a permutation of the cells across settings, a
bootstrap over seeds within settings) comes from a fixed seed, so the same results give the same numbers. Usable on
any results dir through ``vaebench.metrics_frame`` (see ``settings_frame``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: bootstrap resamples of the seeds within each setting, and their fixed seed
RESAMPLES = 1000
BOOTSTRAP_SEED = 0
#: a setting is named the winner of a score only when it is best in at least this share of resamples
WINNER_THRESHOLD = 0.9
#: permutations of the cells' values across settings behind the test of a setting effect, and their fixed seed
PERMUTATIONS = 10_000
PERMUTATION_SEED = 0
#: permutations drawn at once (bounds the memory to this many copies of the cells' values)
PERMUTATION_CHUNK = 1_000
#: a setting effect is detected, and the objective-against-strength test rejects, below this p
ALPHA = 0.05
#: the confidence of η²'s noncentral-F interval (Steiger 2004): F_obs at the 95th and at the 5th percentile
CONFIDENCE = 0.90
#: the largest noncentrality searched (scipy's noncentral F turns NaN past about 10¹⁰); an interval end beyond it is
#: η² = 1, which λ / (λ + N) misses by N / λ, nothing at two decimals
NONCENTRALITY_LIMIT = 1e8


@dataclass(frozen=True)
class SettingEffect:
    """Whether the setting moves a score at all and how much of its variance across cells it explains.

    The test is a permutation test (exact under exchangeable cells, no normality assumed); the interval is the
    noncentral-F interval of the population η² (normal seeds of equal spread assumed); ω² is the effect size.
    """

    #: SS_between / SS_total: biased upwards, ``chance`` is its expectation when settings do not matter
    eta2: float
    #: (SS_between − (G − 1)·MS_within) / (SS_total + MS_within): the effect size
    omega2: float
    #: the population η²'s CONFIDENCE interval, λ/(λ + N) at the noncentralities that put F_obs at its ends
    low: float
    high: float
    #: (G − 1) / (N − 1)
    chance: float
    #: MS_between / MS_within on (G − 1, N − G) degrees of freedom
    f: float
    df: tuple[int, int]
    #: (1 + #{η²_perm ≥ η²_obs}) / (1 + permutations)
    p: float
    permutations: int
    cells: int
    settings: int

    @property
    def detected(self) -> bool:
        return self.p < ALPHA


def _groups(frame: pd.DataFrame) -> tuple[list[str], list[np.ndarray]]:
    frame = frame.dropna(subset=["value"])
    names = sorted(frame["setting"].unique())
    return names, [frame.loc[frame["setting"] == name, "value"].to_numpy(float) for name in names]


def _permutation_p(groups: list[np.ndarray], permutations: int, seed: int) -> float:
    """p of SS_between (η² up to the constant SS_total) under shuffles of the cells across settings that keep
    each setting's number of cells."""
    values = np.concatenate(groups)
    values = values - values.mean()  # the grand sum is then 0 and SS_between = Σ_g (Σ_g x)² / n_g
    sizes = np.array([len(g) for g in groups], float)
    member = np.repeat(np.eye(len(groups)), sizes.astype(int), axis=0)  # (N, G) one-hot of each cell's setting
    observed = float((values @ member) ** 2 @ (1 / sizes))
    tolerance = 1e-9 * float(values @ values)  # a shuffle that only reorders seeds within settings is a tie
    rng = np.random.default_rng(seed)
    exceeding = 0
    for start in range(0, permutations, PERMUTATION_CHUNK):
        shuffled = rng.permuted(np.tile(values, (min(PERMUTATION_CHUNK, permutations - start), 1)), axis=1)
        exceeding += int((((shuffled @ member) ** 2 @ (1 / sizes)) >= observed - tolerance).sum())
    return (1 + exceeding) / (1 + permutations)


def _noncentrality(f_obs: float, df1: int, df2: int, quantile: float) -> float:
    """The λ at which ``f_obs`` is the ``quantile`` of the noncentral F(df1, df2, λ); 0 where it is below that
    quantile already at λ = 0 (the cdf at f_obs falls as λ grows), infinite beyond NONCENTRALITY_LIMIT."""
    from scipy.optimize import brentq
    from scipy.stats import f, ncf

    if f.cdf(f_obs, df1, df2) <= quantile:
        return 0.0
    high = 1.0
    while ncf.cdf(f_obs, df1, df2, high) > quantile:
        if high > NONCENTRALITY_LIMIT:
            return float("inf")
        high *= 4
    return float(brentq(lambda nc: ncf.cdf(f_obs, df1, df2, nc) - quantile, 0.0, high, xtol=1e-10, rtol=1e-12))


def setting_effect(frame: pd.DataFrame, permutations: int = PERMUTATIONS,
                   seed: int = PERMUTATION_SEED) -> SettingEffect | None:
    """The permutation test of the setting effect, η² with its noncentral-F interval and chance level, and ω².

    None when there are fewer than two settings, no setting has two seeds, or the score does not vary.
    """
    _, groups = _groups(frame)
    cells, settings = sum(len(g) for g in groups), len(groups)
    everything = np.concatenate(groups) if groups else np.array([])
    total = float(((everything - everything.mean()) ** 2).sum()) if cells else 0.0
    if settings < 2 or cells <= settings or total == 0:
        return None
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    df1, df2 = settings - 1, cells - settings
    ms_within = within / df2
    eta2, omega2 = (total - within) / total, (total - within - df1 * ms_within) / (total + ms_within)
    f_obs = (total - within) / df1 / ms_within if within > 0 else float("inf")  # infinite: no seed moves it
    tail = (1 - CONFIDENCE) / 2
    low, high = (1 - cells / (nc + cells) for nc in (_noncentrality(f_obs, df1, df2, 1 - tail),
                                                      _noncentrality(f_obs, df1, df2, tail)))
    return SettingEffect(eta2, omega2, low, high, df1 / (cells - 1), f_obs, (df1, df2),
                         _permutation_p(groups, permutations, seed), permutations, cells, settings)


#: the parts of Locatello et al.'s decomposition, in the order they are taken off SS_total; the latent size is taken
#: off within each objective, so it carries the objective × latent size interaction
PARTS = ("objective", "latent size with objective × latent size", "strength within objective", "seed")


@dataclass(frozen=True)
class Part:
    """One part of the decomposition: its share of SS_total, its degrees of freedom and the share pure noise gives
    it, df / (N − 1) (a share at its null level is noise)."""

    share: float
    df: int
    null: float


def _sums_of_squares(frame: pd.DataFrame, levels: list[str]) -> tuple[float, int]:
    """SS between the groups of ``levels`` (about the grand mean), and their number."""
    groups = frame.groupby(levels)["value"]
    grand = frame["value"].mean()
    return float((groups.size() * (groups.mean() - grand) ** 2).sum()), groups.ngroups


def decomposition(frame: pd.DataFrame) -> dict[str, Part] | None:
    """Shares of SS_total (they add up to 1), each with its df and null share: between objectives; between latent
    sizes within an objective (the latent size with its interaction with the objective); between settings within an
    objective and latent size (the strength); and between seeds within settings.

    Sequential sums of squares, so they also add up on an unbalanced grid. Needs the columns ``objective`` and
    ``latent_dim``; None when the score does not vary or fewer than two settings have it.
    """
    frame = frame.dropna(subset=["value"])
    cells = len(frame)
    total = float(((frame["value"] - frame["value"].mean()) ** 2).sum())
    if frame["setting"].nunique() < 2 or total == 0:
        return None
    ss_objective, objectives = _sums_of_squares(frame, ["objective"])
    ss_sized, sized = _sums_of_squares(frame, ["objective", "latent_dim"])
    ss_settings, settings = _sums_of_squares(frame, ["setting"])
    parts = ((ss_objective, objectives - 1), (ss_sized - ss_objective, sized - objectives),
             (ss_settings - ss_sized, settings - sized), (total - ss_settings, cells - settings))
    return {name: Part(ss / total, df, df / (cells - 1)) for name, (ss, df) in zip(PARTS, parts)}


@dataclass(frozen=True)
class FTest:
    """An F test: F on (df1, df2) degrees of freedom and its p."""

    f: float
    df: tuple[int, int]
    p: float

    @property
    def rejects(self) -> bool:
        return self.p < ALPHA


def objective_against_strength(frame: pd.DataFrame) -> dict[int, FTest]:
    """Per latent size: does the objective move the score more than its strength does? F = MS_objective /
    MS_strength-within-objective on (objectives − 1, settings − objectives) df (the settings' means, each weighted by
    its seeds). Few strengths per objective leave it little power. Sizes with one objective, or no objective with two
    strengths, or no spread between strengths, are left out. Needs ``objective`` and ``latent_dim``."""
    from scipy.stats import f

    out = {}
    for latent_dim, sized in frame.dropna(subset=["value"]).groupby("latent_dim"):
        ss_objective, objectives = _sums_of_squares(sized, ["objective"])
        ss_settings, settings = _sums_of_squares(sized, ["setting"])
        df = (objectives - 1, settings - objectives)
        ss_strength = ss_settings - ss_objective
        if min(df) < 1 or ss_strength <= 0:
            continue
        ratio = (ss_objective / df[0]) / (ss_strength / df[1])
        out[int(latent_dim)] = FTest(float(ratio), df, float(f.sf(ratio, *df)))
    return out


#: the levels of the random-effects model of one latent size, outermost first
LEVELS = ("objective", "strength within objective", "seed")


@dataclass(frozen=True)
class Components:
    """Random-effects variance components of one latent size: how much of a random run's variance is due to each
    level (method of moments on the nested ANOVA, truncated at 0)."""

    #: level -> its variance component
    variances: dict[str, float]
    objectives: int
    #: the most strengths any objective has at this size
    strengths: int
    cells: int

    @property
    def shares(self) -> dict[str, float]:
        """Each level's share of a random run's variance (their sum); NaN where every component is 0."""
        total = sum(self.variances.values())
        return {level: value / total if total > 0 else float("nan") for level, value in self.variances.items()}


def variance_components(frame: pd.DataFrame) -> dict[int, Components]:
    """Per latent size with at least two objectives, an objective with two strengths and a setting with two seeds:
    the variance components of objective, strength within objective and seed by the method of moments (the ANOVA
    estimator: each level's sum of squares set equal to its expectation under the random-effects model, with the
    coefficients of an unbalanced nested grid), each truncated at 0 after solving. Needs ``objective`` and
    ``latent_dim``."""
    out = {}
    for latent_dim, sized in frame.dropna(subset=["value"]).groupby("latent_dim"):
        cells = len(sized)
        ss_objective, objectives = _sums_of_squares(sized, ["objective"])
        ss_settings, settings = _sums_of_squares(sized, ["setting"])
        if objectives < 2 or settings <= objectives or cells <= settings:
            continue
        total = float(((sized["value"] - sized["value"].mean()) ** 2).sum())
        per_objective = sized.groupby("objective").size()
        per_setting = sized.groupby("setting").size()
        objective_of = sized.groupby("setting")["objective"].first()
        # Σ_s n_s² / n_(objective of s): how far the settings' sizes concentrate within their objectives
        nested = float((per_setting ** 2 / per_objective[objective_of].to_numpy()).sum())
        seed = (total - ss_settings) / (cells - settings)
        strength = (ss_settings - ss_objective - (settings - objectives) * seed) / (cells - nested)
        objective = ((ss_objective - (nested - float((per_setting ** 2).sum()) / cells) * strength
                      - (objectives - 1) * seed) / (cells - float((per_objective ** 2).sum()) / cells))
        out[int(latent_dim)] = Components(
            {level: max(float(v), 0.0) for level, v in zip(LEVELS, (objective, strength, seed))},
            objectives, int(sized.groupby("objective")["setting"].nunique().max()), cells)
    return out


def _resampled(groups: list[np.ndarray], resamples: int, seed: int) -> list[np.ndarray]:
    """Per setting, a (resamples, n_g) array of its seeds drawn with replacement."""
    rng = np.random.default_rng(seed)
    return [values[rng.integers(0, len(values), size=(resamples, len(values)))] for values in groups]


#: bootstrap resamples behind P(best): at 10,000 the named group no longer depends on the generator's seed
BEST_RESAMPLES = 10_000
#: P(best) ranks settings by their mean up to this many seeds per setting (a resample's median at n = 5 is whichever
#: seed is drawn three times, so one strong seed alone would win it), by their median above
MEAN_UP_TO_SEEDS = 7
#: the fewest seeds every compared setting needs for P(best): with one seed there is nothing to resample
FEWEST_SEEDS = 2
#: statistics a setting is ranked by, over the seeds of an array's last axis
STATISTICS = {"mean": np.mean, "median": np.median}
#: two statistics closer than this share of their size are equal (a mean of the same seeds summed in another order)
EQUAL = 1e-12


def named_statistic(seeds: int) -> str:
    """The statistic settings are ranked by when they have at most ``seeds`` seeds: "mean" or "median"."""
    return "mean" if seeds <= MEAN_UP_TO_SEEDS else "median"


def _best(signed: np.ndarray) -> np.ndarray:
    """Along the last axis, which entries equal the largest (up to EQUAL)."""
    top = signed.max(axis=-1, keepdims=True)
    return signed >= top - EQUAL * np.maximum(1.0, np.abs(top))


def p_best(frame: pd.DataFrame, higher_is_better: bool, statistic: str = "mean", resamples: int = BEST_RESAMPLES,
           seed: int = BOOTSTRAP_SEED) -> pd.Series:
    """Per setting, the share of bootstrap resamples (seeds within settings) in which its ``statistic`` is the best.

    An exact tie in a resample splits that win among the tied settings; the values add up to 1. Best first.
    """
    names, groups = _groups(frame)
    if not groups:
        return pd.Series(dtype=float)
    rng = np.random.default_rng(seed)
    summary = STATISTICS[statistic]
    drawn = np.stack([summary(g[rng.integers(0, len(g), size=(resamples, len(g)))], axis=1) for g in groups], axis=1)
    best = _best(drawn if higher_is_better else -drawn)
    wins = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return pd.Series(wins, index=names).sort_values(ascending=False, kind="stable")


def dominance(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> float:
    """P(a random seed of A beats a random seed of B), ties counting one half: Mann–Whitney U / (n_A · n_B)."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    wins = (a > b) if higher_is_better else (a < b)
    return float((wins + 0.5 * (a == b)).mean())


@dataclass(frozen=True)
class Winner:
    """Who is best on a score among comparable settings: one setting, or the group that cannot be separated."""

    #: the settings named, best P(best) first: one when it clears the threshold, else the smallest group that does
    settings: tuple[str, ...]
    p_best: dict[str, float]
    #: "mean" or "median": what P(best) and the ranking compare
    statistic: str
    #: every compared setting's statistic over its seeds, best first (ties in name order)
    values: dict[str, float]
    #: every compared setting's median over its seeds (shown beside the mean)
    medians: dict[str, float]
    #: the settings whose observed statistic equals the best one (a tie; never a winner)
    tied: tuple[str, ...]
    #: the fewest seeds of any compared setting
    seeds: int
    threshold: float = WINNER_THRESHOLD
    resamples: int = BEST_RESAMPLES

    @property
    def separated(self) -> bool:
        return len(self.settings) == 1

    @property
    def top_two(self) -> tuple[str, str] | None:
        """The first and second settings by the statistic; None with one setting."""
        ranked = list(self.values)
        return (ranked[0], ranked[1]) if len(ranked) > 1 else None


def winner(frame: pd.DataFrame, higher_is_better: bool, threshold: float = WINNER_THRESHOLD,
           resamples: int = BEST_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Winner | None:
    """The setting whose P(best) clears ``threshold``; otherwise the smallest group whose P(best) adds up to it.

    Compare settings of one latent size and dataset only. The statistic is ``named_statistic`` of the most seeds of
    any setting; settings with exactly the best observed statistic are a tie and always named together. None when
    some setting has fewer than FEWEST_SEEDS seeds: no resample can tell its seeds apart, so nothing is named.
    """
    names, groups = _groups(frame)
    if not groups or min(len(g) for g in groups) < FEWEST_SEEDS:
        return None
    statistic = named_statistic(max(len(g) for g in groups))
    chances = p_best(frame, higher_is_better, statistic, resamples, seed)
    observed = np.array([STATISTICS[statistic](g) for g in groups])
    signed = observed if higher_is_better else -observed
    is_best = dict(zip(names, _best(signed)))
    tied = tuple(name for name in chances.index if is_best[name])
    group, total = list(tied), float(chances[list(tied)].sum())
    for name in chances.index:
        if total >= threshold - EQUAL:
            break
        if name not in group:
            group.append(name)
            total += float(chances[name])
    ordered = tuple(sorted(group, key=lambda name: -chances[name]))
    ranked = sorted(range(len(names)), key=lambda k: (-signed[k], names[k]))
    return Winner(ordered, {name: float(chances[name]) for name in ordered}, statistic,
                  {names[k]: float(observed[k]) for k in ranked},
                  {names[k]: float(np.median(groups[k])) for k in ranked}, tied,
                  min(len(g) for g in groups), threshold, resamples)


def same_size_cost(summary: pd.DataFrame) -> pd.Series:
    """Each setting's reconstruction cost: its NLL minus the best NLL among the settings of the same dataset and
    latent size (columns setting, dataset, latent_dim, value: the setting's statistic over seeds; lower is better)."""
    best = summary.groupby(["dataset", "latent_dim"])["value"].transform("min")
    return pd.Series((summary["value"] - best).to_numpy(), index=summary["setting"].to_numpy())


def kendall_tau(first: pd.Series, second: pd.Series) -> tuple[float, int]:
    """Kendall's τ-b between two scorings of the same settings (indexed by setting), and the n settings it read."""
    from scipy.stats import kendalltau

    both = pd.concat([first, second], axis=1, join="inner").dropna()
    if len(both) < 3:
        return float("nan"), len(both)
    tau = kendalltau(both.iloc[:, 0], both.iloc[:, 1]).statistic
    return float(tau), len(both)


@dataclass(frozen=True)
class PairedChange:
    """How one score moved between two checkpoints of training, each cell (setting and seed) paired with itself."""

    steps: tuple[int, int]
    #: cells measured at both steps
    cells: int
    #: cells whose score moved towards the better end, and towards the worse
    better: int
    worse: int
    #: the median over cells of (score at the later step − score at the earlier)
    median: float
    #: two-sided Wilcoxon signed-rank p of the cells' changes (cells that did not move dropped); 1 when none moved
    p: float

    def can_reach(self, level: float) -> bool:
        """Whether the test could find a change significant at ``level`` with these cells: its smallest two-sided p,
        every moved cell moving one way, is 2 / 2^n (0.0625 for 5 cells). Where it cannot, "no significant change"
        says nothing; where no cell moved at all, the absence of a change is plain."""
        moved = self.better + self.worse
        return moved == 0 or 2 * 0.5 ** moved < level


def paired_change(frame: pd.DataFrame, before: int, after: int, higher_is_better: bool) -> PairedChange | None:
    """The paired change of a score from step ``before`` to step ``after`` (columns setting, seed, step, value),
    over the cells measured at both; None when no cell is."""
    from scipy.stats import wilcoxon

    at = {step: frame[frame["step"] == step].groupby(["setting", "seed"])["value"].mean() for step in (before, after)}
    both = pd.concat([at[before], at[after]], axis=1, join="inner").dropna()
    if both.empty:
        return None
    change = (both.iloc[:, 1] - both.iloc[:, 0]).to_numpy(float)
    up, down = int((change > 0).sum()), int((change < 0).sum())
    p = float(wilcoxon(change[change != 0]).pvalue) if up + down else 1.0
    return PairedChange((int(before), int(after)), len(change), up if higher_is_better else down,
                        down if higher_is_better else up, float(np.median(change)), p)


def accuracy_noise(accuracies: np.ndarray, points: int) -> float:
    """The binomial standard error √(p(1 − p)/m) of accuracies measured on m = ``points`` points each, as the root
    mean square over ``accuracies`` (a measurement's own noise, before any seed or setting moves it)."""
    p = np.asarray(accuracies, float)
    return float(np.sqrt(np.mean(p * (1 - p)) / points))


def seed_spread(frame: pd.DataFrame) -> float:
    """The median over settings of the standard deviation of a setting's seeds (settings with two or more); NaN
    without any."""
    spread = frame.dropna(subset=["value"]).groupby("setting")["value"].std(ddof=1).dropna()
    return float(spread.median()) if len(spread) else float("nan")


def pareto_front(cost: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Which points no other point dominates (lower or equal cost and higher or equal gain, better in one)."""
    cost, gain = np.asarray(cost, float), np.asarray(gain, float)
    better_or_equal = (cost[None, :] <= cost[:, None]) & (gain[None, :] >= gain[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (gain[None, :] > gain[:, None])
    return ~(better_or_equal & strictly).any(axis=1)
