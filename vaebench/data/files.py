"""Datasets read from local files; nothing is ever downloaded.

- the official dSprites ``.npz`` (keys ``imgs``, ``latents_values``, ``latents_classes``);
- MNIST and Fashion-MNIST, from Keras' ``.npz`` (x_train, y_train, x_test, y_test) or a
  folder with the four IDX ``.gz`` files.
Problems are reported as one-line ``VaebenchError``s naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import numpy as np

from vaebench.data.base import ArrayDataset, FactorDataset
from vaebench.data.source import DataSource, check_data_file
from vaebench.errors import VaebenchError

DSPRITES_FACTORS = ("shape", "scale", "orientation", "pos_x", "pos_y")


def _file_fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def data_fingerprint(source: DataSource) -> dict:
    """What identifies the data a file dataset reads, as JSON: the file's size and SHA-256 (each file's, by
    name, for a folder) and the CSV column options. The path is left out: moved data is the same data."""
    path = Path(source.path)
    files = (_file_fingerprint(path) if path.is_file() else
             {"files": {child.name: _file_fingerprint(child) for child in sorted(path.iterdir()) if child.is_file()}})
    return {**files, "label_column": source.label_column, "factor_columns": list(source.factor_columns),
            "categorical": list(source.categorical)}


def _open_npz(path: Path, keys: tuple[str, ...]) -> dict:
    check_data_file(path, f"a .npz file with keys {', '.join(keys)}")
    try:
        archive = np.load(path, allow_pickle=False)
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise VaebenchError(f"data file {path} lacks keys {', '.join(missing)}; expected keys {', '.join(keys)}")
        return {key: archive[key] for key in keys}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise VaebenchError(f"data file {path} is not a readable .npz ({error}); expected keys {', '.join(keys)}") from None


class DSpritesFile(FactorDataset):
    """The official dSprites array; the grid is read from ``latents_classes`` (its colour column is constant)."""

    name = "dsprites_npz"
    factor_names = DSPRITES_FACTORS
    categorical_factors = ("shape",)
    num_classes = 3

    def __init__(self, path: str | Path):
        path = Path(path)
        arrays = _open_npz(path, ("imgs", "latents_classes"))
        images, classes = arrays["imgs"], arrays["latents_classes"]
        if images.ndim != 3 or classes.ndim != 2 or classes.shape != (len(images), 6):
            raise VaebenchError(f"data file {path}: expected imgs (N, H, W) and latents_classes (N, 6), "
                                f"got {images.shape} and {classes.shape}")
        sizes = tuple(int(s) for s in classes[:, 1:].max(axis=0) + 1)
        expected = np.stack(np.unravel_index(np.arange(len(images)), sizes), axis=1)
        if int(np.prod(sizes)) != len(images) or not np.array_equal(classes[:, 1:], expected):
            raise VaebenchError(f"data file {path}: latents_classes is not the row-major factor grid "
                                "(shape, scale, orientation, x, y; y fastest)")
        self.factor_sizes = sizes
        self.shape = images.shape[1:] + (1,)
        self._images = images

    def render(self, factors, rng=None):
        return self._images[self.grid_index(factors)].astype(np.float32)[..., None]

    def labels_for(self, factors):
        return np.asarray(factors)[:, 0].astype(np.int64)


IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip-compressed): magic 0x0000 08 NDIM, NDIM big-endian sizes, data."""
    check_data_file(path, f"the IDX file {path.name}")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        raise VaebenchError(f"data file {path} is not gzip-compressed IDX ({error})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise VaebenchError(f"data file {path}: bad IDX magic number; expected 0x0000 08 (unsigned bytes)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise VaebenchError(f"data file {path} is truncated: header says {dims}, found {len(raw) - header} bytes of data")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def load_mnist_like(name: str, path: str | Path) -> ArrayDataset:
    """MNIST or Fashion-MNIST padded to (32, 32, 1) in [0, 1], so the conv family applies."""
    path = Path(path)
    if path.is_dir():
        parts = {key: read_idx(path / filename) for key, filename in IDX_FILES.items()}
    else:
        arrays = _open_npz(path, ("x_train", "y_train", "x_test", "y_test"))
        parts = {"train_images": arrays["x_train"], "train_labels": arrays["y_train"],
                 "test_images": arrays["x_test"], "test_labels": arrays["y_test"]}
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (len(images),):
            raise VaebenchError(f"{name} data at {path}: expected {split} images (N, 28, 28) and labels (N,), "
                                f"got {images.shape} and {labels.shape}")

    def prepare(images):
        return np.pad(images.astype(np.float32) / 255.0, ((0, 0), (2, 2), (2, 2)))[..., None]

    return ArrayDataset(name, (prepare(parts["train_images"]), parts["train_labels"].astype(np.int64)),
                        (prepare(parts["test_images"]), parts["test_labels"].astype(np.int64)), num_classes=10)
