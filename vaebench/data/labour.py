"""``labour``: a procedural table of working people, generated from known factors like dSprites.

Five independent discrete factors, drawn uniformly (row-major grid, 1,440 points):
age band (5: 20s … 60s), education (4: compulsory, vocational, bachelor, master+),
sector (6: agriculture, manufacturing, construction, retail, finance, public),
region (4: rural, town, city, capital) and contract (3: permanent, fixed-term, part-time).

A record's 14 observed columns are computed from the factor indices plus a noise stream
(the ``rng`` given to :meth:`Labour.render`: the same factors and the same stream give the same
records), each through a fixed function:

- numeric (Gaussian noise): ``age`` = 25 + 10·band; ``years_education`` = 9 + 2.5·education;
  ``weekly_hours`` = (40, 38, 22)[contract]; ``log_income`` = 9.6 + 0.28·education + 0.5·√band +
  sector premium + region premium + 0.6·log(hours/40); ``tenure_years`` = (1 + band)^1.6 ·
  (1, 0.35, 0.6)[contract] (clipped at 0); ``commute_km`` = (12, 18, 9, 6)[region] · lognormal noise;
  ``overtime_hours`` = sector overtime on a permanent contract, else 0.5 (clipped at 0);
- categorical (a lookup, replaced by a uniform draw with probability 0.1): ``occupation``
  (8 values, from sector and education), ``industry_code`` (6, from sector), ``qualification``
  (4, from education), ``settlement`` (4, from region), ``pension_scheme`` (3, from contract and sector);
- binary (Bernoulli draws): ``union_member`` (likelier in the public sector, manufacturing and on
  permanent contracts) and ``remote_work`` (likelier with education, in finance and in the city/capital).

The label, ``high_earner``, is 1 where the noise-free log income exceeds its median over the grid:
a function of the factors alone. Numeric columns are standardised with the mean and standard
deviation of four noisy renderings of the whole grid (a stream seeded with 0), fixed constants.
"""

from __future__ import annotations

import numpy as np

from vaebench.data.base import FactorDataset
from vaebench.data.columns import Column, encode, encoded_width
from vaebench.kinds import ColumnKind

FACTORS = {
    "age_band": ("20s", "30s", "40s", "50s", "60s"),
    "education": ("compulsory", "vocational", "bachelor", "master+"),
    "sector": ("agriculture", "manufacturing", "construction", "retail", "finance", "public"),
    "region": ("rural", "town", "city", "capital"),
    "contract": ("permanent", "fixed-term", "part-time"),
}
SECTOR_PREMIUM = np.array([-0.25, 0.05, 0.1, -0.2, 0.45, 0.0])
REGION_PREMIUM = np.array([-0.15, -0.05, 0.1, 0.25])
SECTOR_OVERTIME = np.array([6.0, 3.0, 5.0, 2.0, 4.0, 1.0])
HOURS = np.array([40.0, 38.0, 22.0])
TENURE_SHARE = np.array([1.0, 0.35, 0.6])
COMMUTE_KM = np.array([12.0, 18.0, 9.0, 6.0])
#: occupation for each (sector, education): 8 occupations
OCCUPATION = np.array([[0, 0, 1, 2], [3, 3, 4, 2], [3, 3, 4, 2], [5, 5, 6, 2], [5, 6, 6, 7], [5, 1, 6, 7]])
PENSION = np.array([[0, 0, 0, 0, 1, 2], [1, 1, 1, 1, 1, 2], [1, 1, 1, 1, 1, 1]])  # (contract, sector) → scheme
CATEGORICAL = {
    "occupation": ("farm worker", "technician", "engineer", "operator", "trades", "clerk", "specialist", "manager"),
    "industry_code": ("A", "C", "F", "G", "K", "O"),
    "qualification": ("none", "certificate", "degree", "postgraduate"),
    "settlement": ("village", "small town", "city", "metropolis"),
    "pension_scheme": ("none", "occupational", "public"),
}
NUMERIC = ("age", "years_education", "weekly_hours", "log_income", "tenure_years", "commute_km", "overtime_hours")
BINARY = ("union_member", "remote_work")
LOOKUP_NOISE = 0.1


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def noise_free_log_income(factors: np.ndarray) -> np.ndarray:
    age, education, sector, region, contract = np.asarray(factors).T
    return (9.6 + 0.28 * education + 0.5 * np.sqrt(age) + SECTOR_PREMIUM[sector] + REGION_PREMIUM[region]
            + 0.6 * np.log(HOURS[contract] / 40.0))


def column_values(factors: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each observed column's values for (n, 5) factor indices: numbers, or category indices."""
    factors = np.asarray(factors)
    age, education, sector, region, contract = factors.T
    n = len(factors)
    normal = rng.standard_normal((len(NUMERIC), n))
    hours = HOURS[contract] + 2.5 * normal[2]
    values = {
        "age": 25.0 + 10.0 * age + 2.8 * normal[0],
        "years_education": 9.0 + 2.5 * education + 0.8 * normal[1],
        "weekly_hours": hours,
        "log_income": noise_free_log_income(factors) + 0.6 * (np.log(np.maximum(hours, 1.0) / 40) - np.log(HOURS[contract] / 40))
                      + 0.12 * normal[3],
        "tenure_years": np.maximum((1.0 + age) ** 1.6 * TENURE_SHARE[contract] + 1.2 * normal[4], 0.0),
        "commute_km": COMMUTE_KM[region] * np.exp(0.35 * normal[5]),
        "overtime_hours": np.maximum(np.where(contract == 0, SECTOR_OVERTIME[sector], 0.5) + 1.0 * normal[6], 0.0),
    }
    lookups = {"occupation": OCCUPATION[sector, education], "industry_code": sector, "qualification": education,
               "settlement": region, "pension_scheme": PENSION[contract, sector]}
    for name, looked_up in lookups.items():
        replaced = rng.random(n) < LOOKUP_NOISE
        values[name] = np.where(replaced, rng.integers(0, len(CATEGORICAL[name]), n), looked_up)
    union = _sigmoid(-1.2 + 1.5 * (sector == 5) + 0.8 * (sector == 1) + 0.7 * (contract == 0))
    remote = _sigmoid(-2.5 + 0.8 * education + 1.0 * (sector == 4) + 0.6 * (region >= 2))
    values["union_member"] = (rng.random(n) < union).astype(np.int64)
    values["remote_work"] = (rng.random(n) < remote).astype(np.int64)
    return values


class Labour(FactorDataset):
    """The procedural labour-market table: 14 columns (7 numeric, 5 categorical, 2 binary) from 5 factors."""

    name = "labour"
    factor_names = tuple(FACTORS)
    factor_sizes = tuple(len(values) for values in FACTORS.values())
    num_classes = 2
    label_names = ("not high earner", "high earner")
    deterministic = False  # the noise stream is part of the rendering

    def __init__(self):
        grid = np.stack(np.unravel_index(np.arange(self.grid_size), self.factor_sizes), axis=1)
        reference = column_values(np.tile(grid, (4, 1)), np.random.default_rng(0))
        numeric = tuple(Column(name, ColumnKind.NUMERIC, (), float(reference[name].mean()), float(reference[name].std()))
                        for name in NUMERIC)
        categorical = tuple(Column(name, ColumnKind.CATEGORICAL, values) for name, values in CATEGORICAL.items())
        binary = tuple(Column(name, ColumnKind.BINARY, ("no", "yes")) for name in BINARY)
        self.columns = numeric + categorical + binary
        self.shape = (encoded_width(self.columns),)
        self._income_threshold = float(np.median(noise_free_log_income(grid)))

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = rng if rng is not None else np.random.default_rng()
        return encode(self.columns, column_values(factors, rng))

    def labels_for(self, factors: np.ndarray) -> np.ndarray:
        return (noise_free_log_income(factors) > self._income_threshold).astype(np.int64)
