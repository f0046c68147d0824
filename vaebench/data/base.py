"""The dataset contract every data source follows.

A dataset hands out batches as :class:`Sample` objects. Datasets with
ground-truth generative factors (procedural dSprites, sines) also expose the
factor grid and a renderer, which is what the disentanglement metrics need:
draw factor indices, render them, encode them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class NoRecord(LookupError):
    """No observation exists for the factors asked for (a table holds only the combinations it recorded)."""


@dataclass(frozen=True)
class Sample:
    """One batch.

    images:  (n, *shape) float32 in [0, 1].
    factors: (n, F) int64 factor indices, or None for datasets without factors.
    labels:  (n,) int64 class labels (dSprites: shape; digits/MNIST: class), or None.
    second_view: (n, *shape) the same things seen another way (two-view datasets), or None.
    """

    images: np.ndarray
    factors: np.ndarray | None = None
    labels: np.ndarray | None = None
    second_view: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


class Dataset(ABC):
    """Base class: a named source of image (or sequence) batches.

    Subclasses set ``name``, ``shape`` (one observation, e.g. (32, 32, 1)) and
    ``num_classes`` (0 when there are no labels). ``split`` is "train" or
    "test": procedural datasets draw both from the same distribution with
    independent random streams, array datasets from disjoint parts.
    """

    name: str
    shape: tuple[int, ...]
    num_classes: int = 0
    #: each label's name where the dataset has them (tables), else ()
    label_names: tuple[str, ...] = ()
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    #: a table's columns, in the order its encoded records hold them (see ``columns``); () for images and sequences
    columns: tuple = ()
    #: factors whose indices name categories (no order), e.g. dSprites' shape; charts colour them on categorical scales
    categorical_factors: tuple[str, ...] = ()
    #: a categorical factor's value names in index order, for legends (dSprites' shape: square, ellipse, heart)
    category_names: dict[str, tuple[str, ...]] = {}
    #: factors whose values wrap around (an angle): charts colour them on a cyclic scale
    cyclic_factors: tuple[str, ...] = ()
    #: True when an observation is a pure function of its factor indices, so
    #: metrics may encode each grid point once and look codes up by index.
    deterministic: bool = True
    #: what identifies the files a file dataset was read from (``vaebench.data.files.data_fingerprint``); None when built in
    fingerprint: dict | None = None

    @property
    def has_factors(self) -> bool:
        return len(self.factor_names) > 0

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator, split: str = "train") -> Sample:
        """Draw ``n`` observations (with their factors and labels when known)."""

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, F) int64 factor indices drawn uniformly from the factor grid."""
        self._require_factors()
        return np.stack([rng.integers(0, size, n) for size in self.factor_sizes], axis=1).astype(np.int64)

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Observations for given (n, F) factor indices: (n, *shape) float32."""
        self._require_factors()
        raise NotImplementedError

    def labels_for(self, factors: np.ndarray) -> np.ndarray | None:
        """Class labels implied by factor indices (None when the dataset has no labels)."""
        return None

    def _require_factors(self) -> None:
        if not self.has_factors:
            raise ValueError(f"dataset {self.name!r} has no ground-truth factors")


class FactorDataset(Dataset):
    """A dataset whose observations are rendered from a finite factor grid."""

    def sample(self, n: int, rng: np.random.Generator, split: str = "train") -> Sample:
        factors = self.sample_factors(n, rng)
        return Sample(self.render(factors, rng), factors, self.labels_for(factors))

    @property
    def grid_size(self) -> int:
        return int(np.prod(self.factor_sizes))

    def grid_index(self, factors: np.ndarray) -> np.ndarray:
        """Row-major position of each factor vector in the grid (last factor fastest)."""
        return np.ravel_multi_index(tuple(np.asarray(factors).T), self.factor_sizes)


class ArrayDataset(Dataset):
    """Images held in memory (digits, MNIST, Fashion-MNIST), with a fixed train/test split."""

    def __init__(self, name: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_classes: int):
        self.name = name
        self._splits = {"train": train, "test": test}
        self.shape = tuple(train[0].shape[1:])
        self.num_classes = num_classes

    def sample(self, n: int, rng: np.random.Generator, split: str = "train") -> Sample:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; accepted: train, test")
        images, labels = self._splits[split]
        idx = rng.integers(0, len(images), n)
        return Sample(images[idx], None, labels[idx])

    def split_size(self, split: str) -> int:
        return len(self._splits[split][0])
