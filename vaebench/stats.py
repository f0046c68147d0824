"""The statistics a verdict stands on (see README, "How the verdict is decided").

Pure functions of a tidy frame of one score: one row per cell with the columns ``setting`` (everything that
defines a cell except its seed), ``seed`` and ``value``; the decomposition also reads ``objective``,
``strength`` and ``latent_dim``. Every random draw is a bootstrap over seeds within settings from a fixed
seed, so the same results give the same numbers. Usable on any results dir through
``vaebench.metrics_frame`` (see ``settings_frame``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: bootstrap resamples of the seeds within each setting, and their fixed seed
RESAMPLES = 1000
BOOTSTRAP_SEED = 0
#: the interval every share is reported with
INTERVAL = (5, 95)
#: a setting is named the winner of a score only when it is best in at least this share of resamples
WINNER_THRESHOLD = 0.9


@dataclass(frozen=True)
class Share:
    """A share of the variance across cells, with its bootstrap interval over seeds."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class VarianceShare:
    """How much of a score's variance across cells the setting explains, against its seeds (η², ω²)."""

    eta2: Share
    omega2: float
    #: η²'s expectation when settings do not matter: (G − 1) / (N − 1)
    chance: float
    cells: int
    settings: int


def _groups(frame: pd.DataFrame) -> tuple[list[str], list[np.ndarray]]:
    frame = frame.dropna(subset=["value"])
    names = sorted(frame["setting"].unique())
    return names, [frame.loc[frame["setting"] == name, "value"].to_numpy(float) for name in names]


def _resampled(groups: list[np.ndarray], resamples: int, seed: int) -> list[np.ndarray]:
    """Per setting, a (resamples, n_g) array of its seeds drawn with replacement."""
    rng = np.random.default_rng(seed)
    return [values[rng.integers(0, len(values), size=(resamples, len(values)))] for values in groups]


def _eta2(groups: list[np.ndarray]) -> np.ndarray:
    """η² of each row of stacked resamples (groups: arrays of shape (B, n_g)); NaN where SS_total is 0."""
    everything = np.concatenate(groups, axis=1)
    grand = everything.mean(axis=1, keepdims=True)
    total = ((everything - grand) ** 2).sum(axis=1)
    between = sum(g.shape[1] * (g.mean(axis=1) - grand[:, 0]) ** 2 for g in groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, between / total, np.nan)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    low, high = np.percentile(samples, INTERVAL)
    return float(low), float(high)


def variance_share(frame: pd.DataFrame, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> VarianceShare | None:
    """η² = SS_between / SS_total of the settings, ω², the chance level and a bootstrap interval over seeds.

    None when there are fewer than two settings or no setting has two seeds (nothing to compare).
    """
    names, groups = _groups(frame)
    cells = sum(len(g) for g in groups)
    if len(groups) < 2 or cells <= len(groups):
        return None
    eta2 = float(_eta2([g[None, :] for g in groups])[0])
    everything = np.concatenate(groups)
    total = float(((everything - everything.mean()) ** 2).sum())
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    ms_within = within / (cells - len(groups))
    omega2 = (total - within - (len(groups) - 1) * ms_within) / (total + ms_within) if total > 0 else float("nan")
    low, high = _interval(_eta2(_resampled(groups, resamples, seed)))
    return VarianceShare(Share(eta2, low, high), float(omega2), (len(groups) - 1) / (cells - 1), cells, len(groups))


#: the parts of Locatello et al.'s decomposition, in the order they are taken off SS_total
PARTS = ("objective", "latent size", "strength within objective", "seed")


def decomposition(frame: pd.DataFrame, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict[str, Share] | None:
    """Shares of SS_total: between objectives, between latent sizes, between settings within an objective and
    latent size (strength, with any interaction), and between seeds within settings; they add up to 1.

    Sequential sums of squares, so they also add up on an unbalanced grid. Needs the columns ``objective`` and
    ``latent_dim``; None when the score does not vary or fewer than two settings have it.
    """
    frame = frame.dropna(subset=["value"]).sort_values(["setting", "seed"])
    names, groups = _groups(frame)
    if len(groups) < 2:
        return None
    first = frame.drop_duplicates("setting").set_index("setting").loc[names]
    objective, latent = first["objective"].to_numpy(), first["latent_dim"].to_numpy()

    def shares(stacked: list[np.ndarray]) -> np.ndarray:
        sizes = np.array([g.shape[1] for g in stacked], float)
        means = np.stack([g.mean(axis=1) for g in stacked], axis=1)  # (B, G)
        everything = np.concatenate(stacked, axis=1)
        grand = everything.mean(axis=1, keepdims=True)
        total = ((everything - grand) ** 2).sum(axis=1)
        between = (sizes * (means - grand) ** 2).sum(axis=1)

        def factor(levels: np.ndarray) -> np.ndarray:
            ss = np.zeros(len(grand))
            for level in np.unique(levels):
                mask = levels == level
                level_mean = (means[:, mask] * sizes[mask]).sum(axis=1) / sizes[mask].sum()
                ss += sizes[mask].sum() * (level_mean - grand[:, 0]) ** 2
            return ss

        ss_objective = factor(objective)
        ss_latent = factor(np.array([f"{o}|{z}" for o, z in zip(objective, latent)])) - ss_objective
        parts = np.stack([ss_objective, ss_latent, between - ss_objective - ss_latent, total - between], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return parts / total[:, None]

    point = shares([g[None, :] for g in groups])[0]
    if not np.all(np.isfinite(point)):
        return None
    boot = shares(_resampled(groups, resamples, seed))
    return {part: Share(float(point[k]), *_interval(boot[:, k])) for k, part in enumerate(PARTS)}


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
