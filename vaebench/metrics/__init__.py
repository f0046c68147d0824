"""The metrics: their spec (cheap to import) and, loaded on first use, scoring (keras, scikit-learn).

``from vaebench.metrics import resolve_settings`` (or ``METRICS``, ``DEFAULT_SETTINGS``) loads only
the spec; ``score_cell`` and the rest of ``vaebench.metrics.scoring`` load with their first use.
"""

import importlib

from vaebench.metrics.spec import (DEFAULT_SETTINGS, FAST_SETTINGS, METRICS, SCORES, SETTINGS, MetricSettings, metric_names,
                                   resolve_settings)

__all__ = ["DEFAULT_SETTINGS", "FAST_SETTINGS", "METRICS", "SCORES", "SETTINGS", "MetricSettings", "metric_names",
           "resolve_settings"]


def __getattr__(name: str):
    scoring = importlib.import_module("vaebench.metrics.scoring")
    if not hasattr(scoring, name):
        raise AttributeError(f"module 'vaebench.metrics' has no attribute {name!r}")
    return getattr(scoring, name)
