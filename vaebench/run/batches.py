"""Training batches: an endless stream per cell, reproducible from the cell's seed.

Every batch comes from one numpy stream, ``np.random.default_rng(seed)``. A
dataset that draws its batches as ``render(sample_factors(n, rng))`` (the
plain :class:`FactorDataset` contract, with ``deterministic`` images) can
instead have its whole factor grid rendered once per process and held on the
device: a batch is then the grid rows at ``grid_index(sample_factors(n, rng))``,
the very same factors from the very same stream, so the same seed gives the
same batches either way, on every backend. Packed training goes one step further
(:func:`grid_positions`): it draws only the grid positions on the host and looks
the images up inside its compiled program (:func:`lookup`).
"""

from __future__ import annotations

from functools import lru_cache

import keras
import numpy as np

from vaebench.data.base import Dataset, FactorDataset, Sample
from vaebench.environment import gpu_names

#: a grid this small (float32 bytes) is kept resident even on a CPU, where it costs nothing to hold
SMALL_GRID_BYTES = 64 * 2**20
#: the most an accelerator holds (stored bytes); the 64×64 dSprites grid is 3 GB as bytes
ACCELERATOR_GRID_BYTES = 8 * 2**30
#: grid rows rendered at a time while filling the resident copy
RENDER_CHUNK = 16_384
#: exact one-byte encodings tried, as the scale that turns every pixel into an integer 0..255
#: (binary images: 255; the 2×2 block average of 32×32 dSprites: quarters)
BYTE_SCALES = (255.0, 4.0)


class ResidentGrid:
    """Every observation of a factor grid, stored once (on the device under JAX), looked up by grid index."""

    def __init__(self, rows, scale: float | None):
        self.rows = rows
        self.scale = scale

    @classmethod
    def render(cls, dataset: FactorDataset) -> "ResidentGrid":
        factors = np.stack(np.unravel_index(np.arange(dataset.grid_size), dataset.factor_sizes), axis=1)

        def chunks():
            for start in range(0, len(factors), RENDER_CHUNK):
                yield dataset.render(factors[start:start + RENDER_CHUNK])

        # one byte per value where that is exact (a 4× smaller copy), else float32; chunk by chunk,
        # so the float32 rendering of a large grid is never held whole
        for scale in BYTE_SCALES:
            encoded = []
            for chunk in chunks():
                codes = np.rint(chunk * scale)
                if not np.isfinite(codes).all() or codes.min(initial=0) < 0 or codes.max(initial=0) > 255 or not np.array_equal(
                        codes.astype(np.uint8).astype(np.float32) / np.float32(scale), chunk):
                    break
                encoded.append(codes.astype(np.uint8))
            else:
                return cls(_to_device(np.concatenate(encoded)), scale)
        return cls(_to_device(np.concatenate(list(chunks()))), None)

    def images(self, index: np.ndarray):
        """float32 observations at grid positions ``index``: (n, *shape)."""
        return lookup(self.rows, index, self.scale)


def lookup(rows, index, scale: float | None):
    """float32 observations at grid positions ``index`` of a grid stored as ``rows`` (bytes when ``scale``).

    Eager here, and traced inside packed training's compiled program, where ``rows`` is an argument.
    """
    rows = rows[index]
    return rows if scale is None else rows.astype("float32") / np.float32(scale)


def _to_device(array: np.ndarray):
    if keras.backend.backend() == "jax":
        import jax

        return jax.device_put(array)
    return array  # TensorFlow reads a generator's batches through the host anyway


def can_be_resident(dataset: Dataset) -> bool:
    """Whether ``dataset``'s batches can be looked up in a resident grid, and it is worth holding here.

    Only datasets that keep FactorDataset's own ``sample`` qualify: one that overrides it may add
    something per batch (a second view, noise) that the grid cannot hold.
    """
    if not (isinstance(dataset, FactorDataset) and dataset.deterministic and type(dataset).sample is FactorDataset.sample):
        return False
    values = dataset.grid_size * int(np.prod(dataset.shape))
    return values * 4 <= SMALL_GRID_BYTES or (bool(gpu_names()) and values <= ACCELERATOR_GRID_BYTES)


@lru_cache(maxsize=4)
def resident_grid(dataset: FactorDataset) -> ResidentGrid:
    """The dataset's grid, rendered once per process."""
    return ResidentGrid.render(dataset)


def sampler(dataset: Dataset):
    """``draw(n, rng) -> Sample``: the dataset's own ``sample``, or the same draw looked up in its resident grid."""
    if not can_be_resident(dataset):
        return dataset.sample
    grid = resident_grid(dataset)

    def draw(n: int, rng: np.random.Generator) -> Sample:
        factors = dataset.sample_factors(n, rng)
        return Sample(grid.images(dataset.grid_index(factors)), factors, dataset.labels_for(factors))

    return draw


def grid_positions(dataset: FactorDataset, batch_size: int, seed: int):
    """An endless stream of (batch_size,) int32 grid positions: those whose images :func:`batches` yields for ``seed``."""
    rng = np.random.default_rng(seed)
    while True:
        yield dataset.grid_index(dataset.sample_factors(batch_size, rng)).astype(np.int32)


def batches(dataset: Dataset, model_class, batch_size: int, seed: int):
    """An endless stream of training inputs ``(x,)``, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    draw = sampler(dataset)
    while True:
        yield (model_class.inputs_for(draw(batch_size, rng), dataset.num_classes),)
