"""Procedural sine waves: a time-series dataset with known generating factors, like dSprites for sequences.

x(t) = 0.5 + offset + amplitude · sin(2π · frequency · t / T + phase), t = 0..T−1,
with every factor on a small grid (values stay inside [0.05, 0.95]). Each
sequence is a pure function of its factor indices; the label is the frequency.
"""

from __future__ import annotations

import numpy as np

from vaebench.data.base import FactorDataset

LENGTH = 32


class Sines(FactorDataset):
    """(LENGTH, 1) float32 sequences in [0, 1]; factors frequency, amplitude, phase, offset."""

    name = "sines"
    shape = (LENGTH, 1)
    factor_names = ("frequency", "amplitude", "phase", "offset")
    factor_sizes = (4, 4, 8, 5)
    num_classes = 4

    def __init__(self):
        self.factor_values = (
            np.array([1.0, 1.5, 2.0, 3.0]),                       # cycles per sequence
            np.linspace(0.1, 0.3, 4),
            np.linspace(0.0, 2 * np.pi, 8, endpoint=False),
            np.linspace(-0.1, 0.1, 5),
        )

    def labels_for(self, factors: np.ndarray) -> np.ndarray:
        return np.asarray(factors)[:, 0].astype(np.int64)

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        factors = np.asarray(factors)
        frequency, amplitude, phase, offset = (values[factors[:, i]][:, None] for i, values in enumerate(self.factor_values))
        t = np.arange(LENGTH)[None, :]
        waves = 0.5 + offset + amplitude * np.sin(2 * np.pi * frequency * t / LENGTH + phase)
        return waves.astype(np.float32)[..., None]
