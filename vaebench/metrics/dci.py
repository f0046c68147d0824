"""DCI disentanglement, completeness, informativeness (Eastwood & Williams 2018)."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from vaebench.metrics.discrete import check_codes_and_factors


def _fit_factor(codes_train, targets_train, codes_test, targets_test, trees, seed):
    """(importances over latents, train accuracy, test accuracy) of one factor's boosted classifier."""
    model = GradientBoostingClassifier(n_estimators=trees, random_state=seed).fit(codes_train, targets_train)
    return (np.abs(model.feature_importances_), model.score(codes_train, targets_train),
            model.score(codes_test, targets_test))


def importance_matrix(codes_train, factors_train, codes_test, factors_test, trees: int = 100, seed: int = 0,
                      n_jobs: int = 1):
    """Feature importances (L, F) of one gradient-boosted classifier per factor, and its mean accuracies.

    ``trees`` boosting rounds (scikit-learn's default 100 is the standard); each
    round fits one tree per class, which is what makes DCI the slowest metric.
    ``n_jobs`` fits factors in parallel threads (the trees are grown without the GIL); the result does
    not depend on it.
    """
    fits = Parallel(n_jobs=min(n_jobs, factors_train.shape[1]), prefer="threads")(
        delayed(_fit_factor)(codes_train, factors_train[:, j], codes_test, factors_test[:, j], trees, seed)
        for j in range(factors_train.shape[1]))
    importances = np.stack([fit[0] for fit in fits], axis=1)
    return importances, float(np.mean([fit[1] for fit in fits])), float(np.mean([fit[2] for fit in fits]))


def _weighted_specificity(importances: np.ndarray) -> float:
    """Σ_rows weight · (1 − entropy of the row, base = number of columns).

    As in the reference, 1e-11 is added to a row before it is normalised, so a row of zeros
    is uniform (entropy 1, specificity 0), and zero total importance gives uniform weights:
    a representation carrying no information scores 0.
    """
    rows = importances + 1e-11
    rows = rows / rows.sum(axis=1, keepdims=True)
    row_entropy = -(rows * np.log(rows)).sum(axis=1) / np.log(importances.shape[1])
    total = importances.sum()
    weights = importances.sum(axis=1) / total if total > 0 else np.full(len(importances), 1 / len(importances))
    return float((weights * (1 - row_entropy)).sum())


def dci(codes_train, factors_train, codes_test, factors_test, trees: int = 100, seed: int = 0,
        n_jobs: int = 1) -> dict:
    """DCI from codes (n, L) and factor indices (n, F), train and test sets.

    Disentanglement: how much each latent explains a single factor; completeness:
    how much each factor is explained by a single latent; both in [0, 1].
    Informativeness: mean classification accuracy over factors, in [0, 1].
    ``n_jobs``: threads fitting the factors' classifiers (the scores do not depend on it).
    Returns {"disentanglement", "completeness", "informativeness_train", "informativeness_test"} and
    "importance": the (L, F) importance matrix, each factor's column normalised to sum to 1.
    """
    codes_train, factors_train = check_codes_and_factors(codes_train, factors_train)
    codes_test, factors_test = check_codes_and_factors(codes_test, factors_test)
    importances, train_accuracy, test_accuracy = importance_matrix(codes_train, factors_train, codes_test, factors_test,
                                                                   trees, seed, n_jobs)
    return {"disentanglement": _weighted_specificity(importances) if importances.shape[1] > 1 else 1.0,
            "completeness": _weighted_specificity(importances.T) if importances.shape[0] > 1 else 1.0,
            "informativeness_train": train_accuracy, "informativeness_test": test_accuracy,
            "importance": (importances / np.maximum(importances.sum(axis=0, keepdims=True), 1e-12)).tolist()}
