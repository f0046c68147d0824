"""DCI disentanglement, completeness, informativeness (Eastwood & Williams 2018)."""

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from vaebench.metrics.discrete import check_codes_and_factors


def importance_matrix(codes_train, factors_train, codes_test, factors_test, trees: int = 100, seed: int = 0):
    """Feature importances (L, F) of one gradient-boosted classifier per factor, and its mean accuracies.

    ``trees`` boosting rounds (scikit-learn's default 100 is the standard); each
    round fits one tree per class, which is what makes DCI the slowest metric.
    """
    importances = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    train_accuracy, test_accuracy = [], []
    for j in range(factors_train.shape[1]):
        model = GradientBoostingClassifier(n_estimators=trees, random_state=seed).fit(codes_train, factors_train[:, j])
        importances[:, j] = np.abs(model.feature_importances_)
        train_accuracy.append(model.score(codes_train, factors_train[:, j]))
        test_accuracy.append(model.score(codes_test, factors_test[:, j]))
    return importances, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def _weighted_specificity(importances: np.ndarray) -> float:
    """Σ_rows weight · (1 − entropy of the row, base = number of columns)."""
    rows = importances / (importances.sum(axis=1, keepdims=True) + 1e-11)
    base = importances.shape[1]
    row_entropy = -(rows * np.log(rows + 1e-11)).sum(axis=1) / np.log(base)
    total = importances.sum()
    weights = importances.sum(axis=1) / total if total > 0 else np.full(len(importances), 1 / len(importances))
    return float((weights * (1 - row_entropy)).sum())


def dci(codes_train, factors_train, codes_test, factors_test, trees: int = 100, seed: int = 0) -> dict:
    """DCI from codes (n, L) and factor indices (n, F), train and test sets.

    Disentanglement: how much each latent explains a single factor; completeness:
    how much each factor is explained by a single latent; both in [0, 1].
    Informativeness: mean classification accuracy over factors.
    Returns {"disentanglement", "completeness", "informativeness_train", "informativeness_test"}.
    """
    codes_train, factors_train = check_codes_and_factors(codes_train, factors_train)
    codes_test, factors_test = check_codes_and_factors(codes_test, factors_test)
    importances, train_accuracy, test_accuracy = importance_matrix(codes_train, factors_train, codes_test, factors_test,
                                                                   trees, seed)
    return {"disentanglement": _weighted_specificity(importances) if importances.shape[1] > 1 else 1.0,
            "completeness": _weighted_specificity(importances.T) if importances.shape[0] > 1 else 1.0,
            "informativeness_train": train_accuracy, "informativeness_test": test_accuracy}
