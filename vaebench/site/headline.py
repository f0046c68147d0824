"""The numbers the leaderboard shows: each setting's median over seeds.

A *setting* is one model configuration at one latent size; its seeds are repeated runs of it.
"""

from __future__ import annotations

import pandas as pd


def over_seeds(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (config, latent_dim, metric): median, min, max and n over the setting's seeds.

    ``frame`` is the tidy metrics frame (columns config, latent_dim, seed, metric, value); rows whose
    value is NaN (a score that does not apply) count towards no n.
    """
    scored = frame.dropna(subset=["value"])
    grouped = scored.groupby(["config", "latent_dim", "metric"])["value"]
    summary = grouped.agg(median="median", min="min", max="max", n="count").reset_index()
    summary["latent_dim"] = summary["latent_dim"].astype(int)
    return summary.sort_values(["config", "latent_dim", "metric"]).reset_index(drop=True)
