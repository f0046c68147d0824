"""The index's compact leaderboard: each setting's median over seeds of the headline scores, the best marked."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vaebench.metrics.spec import HEADLINE, RECONSTRUCTION, SCORES
from vaebench.site import labels
from vaebench.site.numbers import significant

COLUMNS = (RECONSTRUCTION, "elbo", *HEADLINE)


@dataclass(frozen=True)
class Column:
    key: str

    @property
    def label(self) -> str:
        return SCORES[self.key].label

    @property
    def unit(self) -> str | None:
        return SCORES[self.key].unit

    @property
    def arrow(self) -> str:
        return labels.arrow(self.key)


@dataclass(frozen=True)
class Entry:
    median: str
    low: str
    high: str
    n: int
    best: bool


@dataclass(frozen=True)
class Row:
    config: str
    latent_dim: int
    entries: dict[str, Entry | None]
    #: the labels of the scores some of its cells were scored for under another protocol (left out here)
    off_protocol: tuple[str, ...] = ()


def leaderboard(summary: pd.DataFrame, configs: list[str] | None = None,
                off: dict[str, list[str]] | None = None) -> tuple[list[Column], list[Row]]:
    """Columns (the headline scores present) and rows (config × latent size, in ``configs``' order, latent sizes
    numerically).

    ``summary`` is ``headline.over_seeds``'s table of the on-protocol cells; ``off``: setting -> the score keys
    some of its cells were scored for under another protocol (the row is badged with them). Each column's best
    median is marked, by the score's direction in the metric spec; ties are all marked.
    """
    order = {config: k for k, config in enumerate(configs or sorted(set(summary["config"])))}
    off = off or {}
    keys = [key for key in COLUMNS if key in set(summary["metric"])]
    best = {}
    for key in keys:
        medians = summary.loc[summary["metric"] == key, "median"]
        best[key] = medians.min() if SCORES[key].higher_is_better is False else medians.max()
    rows = []
    groups = sorted(summary.groupby(["config", "latent_dim"]), key=lambda g: (order.get(g[0][0], len(order)), g[0]))
    for (config, latent_dim), setting in groups:
        by_metric = setting.set_index("metric")
        entries = {}
        for key in keys:
            if key not in by_metric.index:
                entries[key] = None
                continue
            score = by_metric.loc[key]
            entries[key] = Entry(significant(score["median"]), significant(score["min"]), significant(score["max"]),
                                 int(score["n"]), bool(score["median"] == best[key]))
        badge = tuple(SCORES[key].label for key in off.get(f"{config}, z = {int(latent_dim)}", ()) if key in keys)
        rows.append(Row(config, int(latent_dim), entries, badge))
    return [Column(key) for key in keys], rows
