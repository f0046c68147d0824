"""The index's compact leaderboard: each setting's median over seeds of the headline scores, the best marked."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vaebench.metrics.spec import SCORES
from vaebench.site import labels
from vaebench.site.headline import DISENTANGLEMENT, RECONSTRUCTION
from vaebench.site.numbers import significant

COLUMNS = (RECONSTRUCTION, "elbo", *DISENTANGLEMENT)


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


def leaderboard(summary: pd.DataFrame) -> tuple[list[Column], list[Row]]:
    """Columns (the headline scores present) and rows (config × latent size, latent sizes numerically).

    ``summary`` is ``headline.over_seeds``'s table. Each column's best median is marked, by the score's
    direction in the metric spec; ties are all marked.
    """
    keys = [key for key in COLUMNS if key in set(summary["metric"])]
    best = {}
    for key in keys:
        medians = summary.loc[summary["metric"] == key, "median"]
        best[key] = medians.min() if SCORES[key].higher_is_better is False else medians.max()
    rows = []
    for (config, latent_dim), setting in summary.groupby(["config", "latent_dim"], sort=True):
        by_metric = setting.set_index("metric")
        entries = {}
        for key in keys:
            if key not in by_metric.index:
                entries[key] = None
                continue
            score = by_metric.loc[key]
            entries[key] = Entry(significant(score["median"]), significant(score["min"]), significant(score["max"]),
                                 int(score["n"]), bool(score["median"] == best[key]))
        rows.append(Row(config, int(latent_dim), entries))
    return [Column(key) for key in keys], rows
