"""Tiny factor datasets for fast tests of the training, storage and scoring core."""

import numpy as np

from vaebench.data.base import FactorDataset


class Squares(FactorDataset):
    """16×16 images of a 4×4 square at one of 4×4 positions; factors (x, y)."""

    name = "squares"
    shape = (16, 16, 1)
    factor_names = ("x", "y")
    factor_sizes = (4, 4)
    num_classes = 4  # the label is the x position

    def __init__(self, nan_after_batches: int | None = None):
        self.nan_after_batches = nan_after_batches
        self.batches = 0

    def render(self, factors, rng=None):
        cells = np.arange(16) // 4
        in_column = cells[None, :] == factors[:, 0:1]
        in_row = cells[None, :] == factors[:, 1:2]
        return (in_row[:, :, None] & in_column[:, None, :]).astype(np.float32)[..., None]

    def labels_for(self, factors):
        return np.asarray(factors)[:, 0]

    def sample(self, n, rng, split="train"):
        self.batches += 1
        sample = super().sample(n, rng, split)
        if self.nan_after_batches is not None and self.batches > self.nan_after_batches:
            sample.images[:] = np.nan
        return sample


class NoisySquares(Squares):
    """Squares over uniform noise drawn from the render stream: an observation is not a function of its factors."""

    name = "noisy_squares"
    deterministic = False

    def render(self, factors, rng=None):
        return np.maximum(super().render(factors), rng.uniform(0.0, 0.5, (len(factors), 16, 16, 1)).astype(np.float32))
