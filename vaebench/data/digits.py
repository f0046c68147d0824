"""scikit-learn's bundled 8×8 handwritten digits: a small real dataset that needs no download."""

import numpy as np

from vaebench.data.base import ArrayDataset

TEST_FRACTION = 0.2


def load_digits_dataset() -> ArrayDataset:
    """1,797 digits as (16, 16, 1) float32 in [0, 1]; the last 20% is the test split; 10 classes.

    Each 8×8 pixel becomes a 2×2 block: the ``conv`` family halves the image four
    times, so its side must be a multiple of 16.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.kron(bunch.images / 16.0, np.ones((2, 2))).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int64)
    cut = int(round(len(images) * (1 - TEST_FRACTION)))
    return ArrayDataset("digits", (images[:cut], labels[:cut]), (images[cut:], labels[cut:]), num_classes=10)
