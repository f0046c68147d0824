"""How the report names a score, from the metric spec: its label, unit and which end is better."""

from __future__ import annotations

from vaebench.metrics.spec import SCORES


def label(metric: str) -> str:
    """The metric's label with its unit; an unknown key (from a newer or foreign results dir) is its own label."""
    return SCORES[metric].title if metric in SCORES else metric


def direction(metric: str) -> str | None:
    """"higher is better", "lower is better", or None for a score that is not a quality (or not known)."""
    better = SCORES[metric].higher_is_better if metric in SCORES else None
    return None if better is None else ("higher is better" if better else "lower is better")


def arrow(metric: str) -> str:
    """↑ where higher is better, ↓ where lower is, nothing where neither."""
    return {"higher is better": "↑", "lower is better": "↓", None: ""}[direction(metric)]


def heading(metric: str) -> str:
    """The label with its unit and which end is better: "MIG (higher is better)"."""
    if metric not in SCORES:
        return metric
    notes = [note for note in (SCORES[metric].unit, direction(metric)) if note]
    return f"{SCORES[metric].label} ({', '.join(notes)})" if notes else SCORES[metric].label
