"""Which cells form a sweep over a regularisation strength (Locatello et al. 2019 plot scores against it).

A model is swept when the results hold it at two or more values of one numeric hyperparameter. The plain VAE is
the β-VAE at β = 1, so its cells join the β-VAE's sweep wherever the results hold a β-VAE.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaebench.display import SYMBOLS, TITLES
from vaebench.results.records import Params

#: models that are another model's sweep at a fixed value: the VAE is the β-VAE at β = 1
SPECIAL_CASES = {"vae": ("beta_vae", "beta", 1.0)}


@dataclass(frozen=True)
class SweepPoint:
    sweep: str  # "β-VAE: β", as the charts name the panel row
    #: the model whose sweep it is (the VAE's cells belong to the β-VAE's), the objective of the decomposition
    objective: str
    strength: float


def sweep_points(records: list[Params]) -> dict[str, SweepPoint]:
    """Each swept cell's name with its sweep and strength; cells of unswept models are left out."""
    members: dict[tuple[str, str], dict[str, float]] = {}
    models = {record.model for record in records}
    for record in records:
        if record.model in SPECIAL_CASES and SPECIAL_CASES[record.model][0] in models:
            family, key, value = SPECIAL_CASES[record.model]
            members.setdefault((family, key), {})[record.name] = value
            continue
        for key, value in record.hparams.items():
            if not isinstance(value, str):  # a choice (a sequence model's decoder mode) is no strength
                members.setdefault((record.model, key), {})[record.name] = float(value)
    return {name: SweepPoint(f"{TITLES.get(family, family)}: {SYMBOLS.get(key, key)}", family, value)
            for (family, key), cells in sorted(members.items()) if len(set(cells.values())) >= 2
            for name, value in cells.items()}
