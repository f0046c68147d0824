"""Which factors the models capture, and on which latent: one latent that carries two factors is one code, not two.

Pure: reads each cell's per-factor matrix (MIG's normalised mutual information, latents × factors, rows z0, z1, …).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

#: a factor is "captured" by a cell's latent when that latent is the factor's most informative one and carries at least
#: this share of the factor's entropy (normalised mutual information I(z_i; v_k) / H(v_k)); far above the estimator's
#: bias (about 0.02 for a 40-valued factor at 5,000 samples and 20 bins), so a value below it is "none"; the cell pages
#: use the same cut
CAPTURED_SHARE = 0.25
#: the per-factor matrix the capture map reads: the normalised mutual information of MIG
FACTOR_MATRIX = "mig"

#: latent -> the factors it captures, in the matrix's factor order
Latents = dict[str, tuple[str, ...]]


def captured_by(matrix: dict) -> Latents:
    """One cell's captured factors by latent: each factor's most informative latent where it reaches CAPTURED_SHARE."""
    values = np.asarray(matrix["values"], float)
    out: dict[str, list[str]] = {}
    for k, factor in enumerate(matrix["columns"]):
        best = int(np.argmax(values[:, k]))
        if values[best, k] >= CAPTURED_SHARE:
            out.setdefault(matrix["rows"][best], []).append(factor)
    return {latent: tuple(factors) for latent, factors in out.items()}


def _captures(latents: Latents, factor: str) -> bool:
    return any(factor in factors for factors in latents.values())


def _phrase(latents: Latents) -> str:
    return "; ".join(f"{latent}: {' and '.join(factors)}" for latent, factors in latents.items()) or "none"


@dataclass(frozen=True)
class Capture:
    """The factor-capture map: per setting and factor, the best latent's share; per cell, which latent captures what."""

    factors: tuple[str, ...]
    #: setting -> factor -> (median over seeds of the best latent's share, cells passing CAPTURED_SHARE, cells)
    rows: dict[str, dict[str, tuple[float, int, int]]]
    #: setting -> (seed, the cell's captured factors by latent) per cell
    cells: dict[str, list[tuple[int, Latents]]]

    def passing(self, factor: str) -> tuple[int, int]:
        cells = [row[factor] for row in self.rows.values() if factor in row]
        return sum(c[1] for c in cells), sum(c[2] for c in cells)

    def seed_lines(self, setting: str) -> list[str]:
        """Per seed of ``setting``: "s0: z5: shape and scale; z2: pos_x" ("none" where no latent captures a factor)."""
        return [f"s{seed}: {_phrase(latents)}" for seed, latents in self.cells.get(setting, [])]

    @property
    def lines(self) -> list[str]:
        """Per set of factors that one latent carries together in some cells: how often, against the cells that capture
        each of them (one latent for two factors is not two captured factors)."""
        every = [latents for cells in self.cells.values() for _, latents in cells]
        shared = Counter(factors for latents in every for factors in latents.values() if len(factors) > 1)
        out = []
        for factors, count in shared.most_common():
            of_each = ", ".join(f"{count} of the {sum(_captures(latents, f) for latents in every)} cells that capture {f}"
                                for f in factors)
            out.append(f"One latent for both ({' and '.join(factors)}) in {count} of {len(every)} cells: there they are one "
                       f"code, not {len(factors)} captured factors ({of_each}).")
        return out


def capture(matrices: dict[str, tuple[str, int, dict]]) -> Capture | None:
    """The capture map from each cell's (setting, seed, matrices); cells without the MIG matrix are skipped."""
    shares: dict[str, dict[str, list[float]]] = {}
    cells: dict[str, list[tuple[int, Latents]]] = {}
    factors: list[str] = []
    for setting, seed, cell in matrices.values():
        matrix = (cell or {}).get(FACTOR_MATRIX)
        if not matrix:
            continue
        for k, factor in enumerate(matrix["columns"]):
            if factor not in factors:
                factors.append(factor)
            shares.setdefault(setting, {}).setdefault(factor, []).append(max(row[k] for row in matrix["values"]))
        cells.setdefault(setting, []).append((seed, captured_by(matrix)))
    if not shares:
        return None
    rows = {setting: {factor: (float(np.median(values)), sum(v >= CAPTURED_SHARE for v in values), len(values))
                      for factor, values in by_factor.items()}
            for setting, by_factor in shares.items()}
    return Capture(tuple(factors), rows, cells)
