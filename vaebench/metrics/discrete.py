"""Input checks, the histogram discretiser, and discrete entropy / mutual information.

Every function here is vectorised over latents and factors: the mutual
information of all (latent, factor) pairs comes from one ``bincount``.
"""

from __future__ import annotations

import numpy as np


class UnscorableInput(ValueError):
    """Well-formed codes, factors or labels that a metric cannot score (e.g. a factor that never varies).

    Scoring stores ``"n/a: <message>"`` for the metric's scores and goes on; any other
    error is a bug and keeps its traceback.
    """


def check_codes(codes) -> np.ndarray:
    """codes as a finite (n, L) float64 array, or a ValueError naming the problem."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] == 0:
        raise ValueError(f"codes must have shape (n, latents), got {codes.shape}")
    if not np.isfinite(codes).all():
        raise UnscorableInput("codes contain NaN or inf")
    return codes


def check_codes_and_factors(codes, factors, min_samples: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validated (codes (n, L) float64, factors (n, F) int64 relabelled 0..K-1 per factor)."""
    codes = check_codes(codes)
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] == 0:
        raise ValueError(f"factors must have shape (n, factors), got {factors.shape}")
    if len(codes) != len(factors):
        raise ValueError(f"codes and factors have different lengths: {len(codes)} and {len(factors)}")
    if len(codes) < min_samples:
        raise UnscorableInput(f"{len(codes)} samples are fewer than the {min_samples} this metric needs")
    relabelled = np.empty(factors.shape, np.int64)
    for j in range(factors.shape[1]):
        values, relabelled[:, j] = np.unique(factors[:, j], return_inverse=True)
        if len(values) < 2:
            raise UnscorableInput(f"factor {j} has a single value; every factor must vary")
    return codes, relabelled


def histogram_discretize(codes, bins: int = 20) -> np.ndarray:
    """Each latent into ``bins`` equal-width bins over its own range: (n, L) int in 1..bins.

    Exactly ``np.digitize(c, np.histogram(c, bins)[1][:-1])`` per latent column,
    the discretiser of the reference MIG implementation.
    """
    codes = check_codes(codes)
    if len(codes) < bins:
        raise UnscorableInput(f"{len(codes)} samples are fewer than the {bins} bins")
    low, high = codes.min(axis=0), codes.max(axis=0)
    constant = low == high
    low, high = np.where(constant, low - 0.5, low), np.where(constant, high + 0.5, high)
    # same edges as np.histogram: linspace per latent, endpoint included
    edges = np.linspace(low, high, bins + 1, axis=1)[:, :-1]  # (L, bins) left edges
    return (codes[:, :, None] >= edges[None, :, :]).sum(axis=2)


def entropy(labels) -> np.ndarray:
    """Discrete entropy in nats of each column of an (n, F) integer array: (F,)."""
    labels = np.asarray(labels)
    labels = labels[:, None] if labels.ndim == 1 else labels
    return np.diag(mutual_information(labels, labels)) if labels.shape[1] else np.zeros(0)


def mutual_information(a, b) -> np.ndarray:
    """I(a_i; b_j) in nats for every column pair of integer arrays a (n, A), b (n, B): (A, B).

    Equal to ``sklearn.metrics.mutual_info_score(a[:, i], b[:, j])`` for each pair, and exactly 0
    where a column takes a single value: each cell's ratio n·c_ab / (c_a·c_b) is formed from
    integer counts, so independence gives log 1 = 0 exactly rather than rounding noise.
    """
    a, b = _dense_labels(a), _dense_labels(b)
    n, (n_a, n_b) = len(a), (a.shape[1], b.shape[1])
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    # one joint index per (column of a, value of a, column of b, value of b): a single bincount
    a_part = np.arange(n_a)[None, :] * ka + a
    index = (a_part[:, :, None] * n_b + np.arange(n_b)[None, None, :]) * kb + b[:, None, :]
    joint = np.bincount(index.ravel(), minlength=n_a * ka * n_b * kb).reshape(n_a, ka, n_b, kb)
    count_a = joint[:, :, 0, :].sum(axis=2)  # (A, ka): value counts of each column of a
    count_b = joint[0, :, :, :].sum(axis=0)  # (B, kb)
    outer = count_a[:, :, None, None] * count_b[None, None, :, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint / n * (np.log(n * joint) - np.log(outer)), 0.0)
    return np.maximum(terms.sum(axis=(1, 3)), 0.0)  # MI ≥ 0; scikit-learn clips the same way


def _dense_labels(labels) -> np.ndarray:
    """Each column relabelled to 0..K-1 (K its number of distinct values)."""
    labels = np.asarray(labels)
    labels = labels[:, None] if labels.ndim == 1 else labels
    return np.stack([np.unique(column, return_inverse=True)[1] for column in labels.T], axis=1)
