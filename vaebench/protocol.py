"""One scoring protocol per comparison: which cells of a study were scored alike, score by score.

A cell's protocol for a score is the settings its ``metrics.json`` records for the metric that writes that
score (sample counts, bins, trees, seed). A study's protocol for a metric is the one most of its scored
cells share; a cell scored otherwise is *off protocol* for that metric's scores: the report badges it and
leaves those scores out of the verdict and the leaderboard. Keras-free and pure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from vaebench.metrics.spec import METRIC_OF, METRICS
from vaebench.results.records import Metrics

Settings = tuple[tuple[str, int], ...]


def _settings(metrics: Metrics | None, metric: str) -> Settings | None:
    """The settings a cell scored ``metric`` with; None where it recorded none or none of its scores is a number."""
    scores = metrics.scores if metrics else {}
    keys = METRICS[metric].keys if metric in METRICS else ()
    if not any(isinstance(scores.get(key), (int, float)) and not isinstance(scores.get(key), bool) for key in keys):
        return None
    recorded = metrics.settings.get(metric)
    return tuple(sorted(recorded.items())) if isinstance(recorded, dict) else None


@dataclass(frozen=True)
class Protocol:
    """Per metric, the settings the study's cells share, and per cell name the metrics it was scored otherwise."""

    settings: dict[str, Settings]
    off: dict[str, tuple[str, ...]]
    #: per metric, how many scored cells share the study's settings, and how many were scored otherwise
    counts: dict[str, tuple[int, int]]

    def on(self, cell: str, score: str) -> bool:
        """Whether a cell's score was computed under the study's protocol (scores of no known metric always are)."""
        return METRIC_OF.get(score) not in self.off.get(cell, ())

    def off_lines(self, describe) -> list[str]:
        """One line per setting (``describe(cell)`` names a cell's) with cells scored otherwise, and for which metrics."""
        grouped: dict[tuple[str, tuple[str, ...]], int] = {}
        for cell, metrics in sorted(self.off.items()):
            key = (describe(cell), metrics)
            grouped[key] = grouped.get(key, 0) + 1
        return [f"{setting} ({cells} cell{'s' if cells > 1 else ''}) was scored with other settings than the study's "
                f"for {', '.join(metric_label(m) for m in metrics)}; those scores are left out of its comparisons."
                for (setting, metrics), cells in grouped.items()]


def metric_label(metric: str) -> str:
    """A metric by the label of its score the report leads with, else its first ("DCI disentanglement" for DCI)."""
    if metric not in METRICS:
        return metric
    scores = METRICS[metric].scores
    return next((score.label for score in scores if score.role), scores[0].label)


def study_protocol(cells: dict[str, Metrics | None]) -> Protocol:
    """The protocol of a study from each cell's metrics.json (cell name -> its record, or None).

    The study's settings of a metric are the most common ones among its cells (on a tie, the larger sample
    counts, which is the order of the sorted settings' values compared from the largest).
    """
    used: dict[str, Counter] = {}
    for metrics in cells.values():
        for metric in (metrics.settings if metrics else {}):
            found = _settings(metrics, metric)
            if found is not None:
                used.setdefault(metric, Counter())[found] += 1
    chosen = {metric: max(counter, key=lambda s: (counter[s], sorted((v for _, v in s), reverse=True)))
              for metric, counter in used.items()}
    off = {}
    for name, metrics in cells.items():
        others = tuple(sorted(metric for metric in chosen
                              if _settings(metrics, metric) not in (None, chosen[metric])))
        if others:
            off[name] = others
    counts = {metric: (counter[chosen[metric]], sum(counter.values()) - counter[chosen[metric]])
              for metric, counter in used.items()}
    return Protocol(chosen, off, counts)
