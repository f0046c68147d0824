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


def p_best(frame: pd.DataFrame, higher_is_better: bool, resamples: int = RESAMPLES,
           seed: int = BOOTSTRAP_SEED) -> pd.Series:
    """Per setting, the share of bootstrap resamples (seeds within settings) in which its median is the best.

    An exact tie in a resample splits that win among the tied settings; the values add up to 1. Best first.
    """
    names, groups = _groups(frame)
    if not groups:
        return pd.Series(dtype=float)
    medians = np.stack([np.median(g, axis=1) for g in _resampled(groups, resamples, seed)], axis=1)  # (B, G)
    signed = medians if higher_is_better else -medians
    best = signed == signed.max(axis=1, keepdims=True)
    wins = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return pd.Series(wins, index=names).sort_values(ascending=False, kind="stable")


def dominance(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> float:
    """P(a random seed of A beats a random seed of B), ties counting one half: Mann–Whitney U / (n_A · n_B)."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    wins = (a > b) if higher_is_better else (a < b)
    return float((wins + 0.5 * (a == b)).mean())


@dataclass(frozen=True)
class Winner:
    """Who is best on a score: one setting, or the group that cannot be separated at these seeds."""

    #: the settings named, best P(best) first: one when it clears the threshold, else the smallest group that does
    settings: tuple[str, ...]
    p_best: dict[str, float]
    medians: dict[str, float]
    #: the settings whose observed medians equal the best one (a tie; never a winner)
    tied: tuple[str, ...]
    seeds: int
    threshold: float = WINNER_THRESHOLD

    @property
    def separated(self) -> bool:
        return len(self.settings) == 1


def winner(frame: pd.DataFrame, higher_is_better: bool, threshold: float = WINNER_THRESHOLD,
           resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Winner | None:
    """The setting whose P(best) clears ``threshold``; otherwise the smallest group whose P(best) adds up to it.

    Settings with exactly the best observed median are a tie and always named together.
    """
    names, groups = _groups(frame)
    if not groups:
        return None
    chances = p_best(frame, higher_is_better, resamples, seed)
    medians = {name: float(np.median(g)) for name, g in zip(names, groups)}
    best = (max if higher_is_better else min)(medians.values())
    tied = tuple(name for name in chances.index if medians[name] == best)
    group, total = list(tied), float(chances[list(tied)].sum())
    for name in chances.index:
        if total >= threshold - 1e-12:
            break
        if name not in group:
            group.append(name)
            total += float(chances[name])
    ordered = tuple(sorted(group, key=lambda name: -chances[name]))
    return Winner(ordered, {name: float(chances[name]) for name in ordered}, {name: medians[name] for name in ordered},
                  tied, min(len(groups[names.index(name)]) for name in ordered), threshold)


def same_size_cost(medians: pd.DataFrame) -> pd.Series:
    """Each setting's reconstruction cost: its median NLL minus the best median NLL among the settings of the same
    dataset and latent size (columns setting, dataset, latent_dim, median; lower NLL is better)."""
    best = medians.groupby(["dataset", "latent_dim"])["median"].transform("min")
    return pd.Series((medians["median"] - best).to_numpy(), index=medians["setting"].to_numpy())


def kendall_tau(first: pd.Series, second: pd.Series) -> tuple[float, int]:
    """Kendall's τ-b between two scorings of the same settings (indexed by setting), and the n settings it read."""
    from scipy.stats import kendalltau

    both = pd.concat([first, second], axis=1, join="inner").dropna()
    if len(both) < 3:
        return float("nan"), len(both)
    tau = kendalltau(both.iloc[:, 0], both.iloc[:, 1]).statistic
    return float(tau), len(both)


def pareto_front(cost: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Which points no other point dominates (lower or equal cost and higher or equal gain, better in one)."""
    cost, gain = np.asarray(cost, float), np.asarray(gain, float)
    better_or_equal = (cost[None, :] <= cost[:, None]) & (gain[None, :] >= gain[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (gain[None, :] > gain[:, None])
    return ~(better_or_equal & strictly).any(axis=1)
