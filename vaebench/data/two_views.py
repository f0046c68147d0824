"""Two views of the same thing, for the shared-latent VAE: each sample carries a second rendering.

The first view is the base dataset's own observation (so factors, labels and
the metrics work unchanged); the second is a pure function of it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vaebench.data.base import Dataset, Sample


def inverted(images: np.ndarray) -> np.ndarray:
    """The photographic negative, 1 − x."""
    return 1.0 - images


def outline(images: np.ndarray) -> np.ndarray:
    """The shape's inner boundary: the image minus its 3×3 erosion (a minimum over the 4-neighbourhood)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    eroded = np.minimum.reduce([padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                                padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])
    return images - eroded


class TwoViews(Dataset):
    """``base`` with a second view ``second(images)`` attached to every sample."""

    def __init__(self, name: str, base: Dataset, second: Callable[[np.ndarray], np.ndarray]):
        self.name, self.base, self.second = name, base, second
        self.shape, self.num_classes = base.shape, base.num_classes
        self.factor_names, self.factor_sizes = base.factor_names, base.factor_sizes
        self.deterministic = base.deterministic

    def sample(self, n: int, rng: np.random.Generator, split: str = "train") -> Sample:
        sample = self.base.sample(n, rng, split)
        return Sample(sample.images, sample.factors, sample.labels, self.second(sample.images))

    # the factor grid is the first view's
    def render(self, factors, rng=None):
        return self.base.render(factors, rng)

    def labels_for(self, factors):
        return self.base.labels_for(factors)

    def grid_index(self, factors):
        return self.base.grid_index(factors)

    @property
    def grid_size(self) -> int:
        return self.base.grid_size
