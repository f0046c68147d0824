"""Scores about the class label: how much of it the code carries, and how well a trained classifier reads it."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from vaebench.metrics.discrete import UnscorableInput, check_codes


def _check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
    if len(np.unique(labels)) < 2:
        raise UnscorableInput("labels take a single value: there is nothing to predict")
    return labels


def label_predictability(codes, labels, seed: int = 0) -> float:
    """Accuracy in [0, 1] of a logistic regression predicting ``labels`` (n,) from ``codes`` (n, L).

    Fitted on the first half, scored on the second. Near chance means the
    code carries little of the label (what a conditional VAE aims for); near 1
    means the label is linearly readable from it.
    """
    codes = check_codes(codes)
    labels = _check_labels(labels, len(codes))
    half = len(codes) // 2
    if half < 2:
        raise UnscorableInput(f"label predictability needs at least 4 samples, got {len(codes)}")
    scale = codes[:half].std(axis=0) + 1e-8
    centred = (codes - codes[:half].mean(axis=0)) / scale
    classifier = LogisticRegression(max_iter=2000, random_state=seed).fit(centred[:half], labels[:half])
    return float(classifier.score(centred[half:], labels[half:]))


def classification_accuracy(logits, labels) -> float:
    """Fraction of rows of ``logits`` (n, classes) whose arg-max is the label (n,): in [0, 1]."""
    logits = check_codes(logits)
    labels = np.asarray(labels)
    if labels.shape != (len(logits),):
        raise ValueError(f"labels must have shape ({len(logits)},), got {labels.shape}")
    return float(np.mean(np.argmax(logits, axis=1) == labels))
