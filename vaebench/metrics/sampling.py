"""From a dataset and a trained encoder to codes: the thin layer between models and the pure metrics.

The representation is the posterior mean, as in the literature. For datasets
whose observations are a pure function of their factor indices, each grid
point is rendered and encoded at most once and looked up by grid index
afterwards: the same distribution of scores at a fraction of the encoding.
"""

from __future__ import annotations

import keras
import numpy as np

from vaebench.data.base import Dataset

#: grids up to this many points get a dense code table; larger ones are encoded sample by sample
DENSE_TABLE_LIMIT = 4_000_000


def _inputs(data: np.ndarray, labels: np.ndarray | None, num_classes: int):
    """A network's input: ``data``, and the one-hot labels as a second input where labels are given."""
    if labels is None:
        return data
    return [data, np.eye(num_classes, dtype=np.float32)[labels]]


#: the smallest batch :func:`predict` pads to
MIN_PADDED_BATCH = 32


def padded_size(real: int, batch_size: int) -> int:
    """The batch size ``real`` rows are padded to: the next power of two from MIN_PADDED_BATCH up to ``batch_size``.

    A model traces once per padded size, so at most log2(batch_size / MIN_PADDED_BATCH) + 1 times, while a
    handful of rows (a traversal, a small test set) no longer costs a whole ``batch_size`` batch.
    """
    return min(batch_size, max(MIN_PADDED_BATCH, 1 << (real - 1).bit_length()))


def predict(model: keras.Model, inputs, batch_size: int) -> list[np.ndarray]:
    """``predict_on_batch`` over batches of at most ``batch_size`` rows, each padded to :func:`padded_size`."""
    arrays = inputs if isinstance(inputs, list) else [inputs]
    chunks = []
    for start in range(0, len(arrays[0]), batch_size):
        batch = [a[start:start + batch_size] for a in arrays]
        real = len(batch[0])
        batch = [np.concatenate([b, np.repeat(b[-1:], padded_size(real, batch_size) - real, axis=0)]) for b in batch]
        outputs = model.predict_on_batch(batch if len(batch) > 1 else batch[0])
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        chunks.append([np.asarray(o)[:real] for o in outputs])
    return [np.concatenate(parts) for parts in zip(*chunks)]


def encode(encoder: keras.Model, images: np.ndarray, labels=None, num_classes: int = 0, batch_size: int = 1024):
    """Posterior (mean, logvar) for (n, *shape) images, batched; logvar None for a deterministic encoder.

    ``labels``: (n,) class indices, only for a model that reads them (its card's ``reads_labels``); else None.
    """
    outputs = predict(encoder, _inputs(images, labels, num_classes), batch_size)
    return outputs[0], (outputs[1] if len(outputs) > 1 else None)


def decode(decoder: keras.Model, codes: np.ndarray, labels=None, num_classes: int = 0, batch_size: int = 2048) -> np.ndarray:
    """The decoder's outputs (Bernoulli logits; a table's per-column outputs) for (n, L) codes, batched; ``labels`` as for :func:`encode`."""
    return predict(decoder, _inputs(codes, labels, num_classes), batch_size)[0]


class CodeLookup:
    """Posterior means for factor vectors: ``lookup(factors (..., F), rng) -> codes (..., L)``.

    ``rng`` is the caller's render stream (used where rendering is random); the table of a
    deterministic dataset is shared by every caller, since its codes do not depend on any stream.
    """

    def __init__(self, dataset: Dataset, encoder: keras.Model, reads_labels: bool, batch_size: int = 1024):
        self.dataset, self.encoder, self.reads_labels, self.batch_size = dataset, encoder, reads_labels, batch_size
        self.render_chunk = 16 * batch_size
        self.encoded = 0  # observations encoded so far (the cost this cache saves)
        self._table: np.ndarray | None = None
        self._known: np.ndarray | None = None

    def _encode_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # rendered in chunks so that a million factor vectors never become a million images at once
        codes = []
        for start in range(0, len(factors), self.render_chunk):
            chunk = factors[start:start + self.render_chunk]
            images = self.dataset.render(chunk, rng)
            labels = self.dataset.labels_for(chunk) if self.reads_labels else None
            codes.append(encode(self.encoder, images, labels, self.dataset.num_classes, self.batch_size)[0])
            self.encoded += len(chunk)
        return np.concatenate(codes)

    def __call__(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factors = np.asarray(factors)
        flat = factors.reshape(-1, factors.shape[-1])
        if not self.dataset.deterministic or self.dataset.grid_size > DENSE_TABLE_LIMIT:
            return self._encode_factors(flat, rng).reshape(factors.shape[:-1] + (-1,))
        index = self.dataset.grid_index(flat)
        unique, inverse = np.unique(index, return_inverse=True)
        missing = unique if self._known is None else unique[~self._known[unique]]
        if len(missing):
            codes = self._encode_factors(np.stack(np.unravel_index(missing, self.dataset.factor_sizes), axis=1), rng)
            if self._table is None:
                self._table = np.zeros((self.dataset.grid_size, codes.shape[1]), np.float32)
                self._known = np.zeros(self.dataset.grid_size, bool)
            self._table[missing] = codes
            self._known[missing] = True
        return self._table[unique][inverse].reshape(factors.shape[:-1] + (-1,))
