"""Posterior collapse: cells whose code carries nothing about the input, and settings that collapse in most seeds.

Pure: reads the tidy frame of a study's scores (columns setting, seed, metric, value). A collapsed model still gets
a factor score (an estimator's bias on a code that ignores the input), so the verdict says it collapsed wherever it
names one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vaebench.metrics.spec import SCORES

#: the count of latents whose posterior mean varies over held-out data: none active is a collapsed code
ACTIVE = "active_units"
#: KL(q(z|x) || p(z)) of held-out data: the posterior is the prior, whatever the input, below COLLAPSED_KL
KL = "elbo_kl"
#: the KL (nats per observation) under which a cell's posterior counts as the prior
COLLAPSED_KL = 0.01
#: the rule, as the page states it
RULE = f"no active latent or a {SCORES[KL].label} below {COLLAPSED_KL} nats"


@dataclass(frozen=True)
class Collapse:
    """Which cells collapsed, and the settings that did in most of their seeds."""

    #: cells with either score, and those of them collapsed
    cells: int
    collapsed: int
    #: setting -> (its collapsed seeds, its seeds with either score), for the settings collapsed in most seeds
    settings: dict[str, tuple[int, int]]
    #: settings with either score
    judged: int

    def of(self, setting: str) -> tuple[int, int] | None:
        """(collapsed seeds, seeds) of a setting collapsed in most seeds; None for any other."""
        return self.settings.get(setting)

    @property
    def sentence(self) -> str:
        if not self.collapsed:
            return f"Collapse: 0 of {self.cells} cells collapsed (a cell collapses with {RULE})."
        sentence = (f"Collapse: {self.collapsed} of {self.cells} cells collapsed, with {RULE}: their code carries "
                    "nothing about the input")
        if not self.settings:
            return sentence + "; no setting collapsed in most of its seeds."
        each = "; ".join(f"{name} ({k} of {n})" for name, (k, n) in self.settings.items())
        return (sentence + f"; {len(self.settings)} of {self.judged} settings collapsed in most of their seeds: {each}. "
                "Their factor scores measure the estimators' bias, not a learnt code.")


def collapsed_cells(frame: pd.DataFrame) -> pd.Series:
    """Per cell (setting, seed) with an ACTIVE or KL score: whether it collapsed (True) or not (False)."""
    scores = frame[frame["metric"].isin([ACTIVE, KL])].dropna(subset=["value"])
    wide = scores.pivot_table(index=["setting", "seed"], columns="metric", values="value", aggfunc="first")
    no_active = wide[ACTIVE] == 0 if ACTIVE in wide else False
    no_kl = wide[KL] < COLLAPSED_KL if KL in wide else False
    return (no_active | no_kl).astype(bool) if not wide.empty else pd.Series(dtype=bool)


def collapse(frame: pd.DataFrame) -> Collapse | None:
    """The study's collapse; None when no cell has either score (nothing to judge it by)."""
    cells = collapsed_cells(frame)
    if cells.empty:
        return None
    by_setting = cells.groupby(level="setting", sort=False).agg(["sum", "count"])
    most = by_setting[by_setting["sum"] * 2 > by_setting["count"]]
    return Collapse(len(cells), int(cells.sum()),
                    {name: (int(row["sum"]), int(row["count"])) for name, row in most.iterrows()}, len(by_setting))
