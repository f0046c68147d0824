"""Modularity and explicitness (Ridgeway & Mozer 2018)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import label_binarize

from vaebench.metrics.discrete import check_codes_and_factors, histogram_discretize, mutual_information


def modularity(codes, factors, bins: int = 20) -> float:
    """1 − how far each latent's squared mutual informations are from a single factor; mean over latents, [0, 1]."""
    codes, factors = check_codes_and_factors(codes, factors, min_samples=bins)
    squared = mutual_information(histogram_discretize(codes, bins), factors) ** 2  # (L, F)
    theta = squared.max(axis=1)
    num_factors = squared.shape[1]
    if num_factors < 2:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - theta) / (theta * (num_factors - 1))
    return float(np.where(theta > 0, 1.0 - delta, 0.0).mean())


def explicitness(codes_train, factors_train, codes_test, factors_test, seed: int = 0) -> dict:
    """Mean over factors of the one-vs-rest ROC AUC of a logistic regression on standardised codes."""
    mean, std = codes_train.mean(axis=0), codes_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    train, test = (codes_train - mean) / std, (codes_test - mean) / std
    aucs = {"train": [], "test": []}
    for j in range(factors_train.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(random_state=seed).fit(train, factors_train[:, j])
        for split, x, y in (("train", train, factors_train[:, j]), ("test", test, factors_test[:, j])):
            truth = label_binarize(y, classes=model.classes_)
            truth = np.hstack([1 - truth, truth]) if truth.shape[1] == 1 else truth
            present = (truth.min(axis=0) == 0) & (truth.max(axis=0) == 1)  # AUC needs both outcomes
            aucs[split].append(roc_auc_score(truth[:, present], model.predict_proba(x)[:, present], average="macro"))
    return {"train": float(np.mean(aucs["train"])), "test": float(np.mean(aucs["test"]))}


def modularity_explicitness(codes_train, factors_train, codes_test, factors_test, bins: int = 20, seed: int = 0) -> dict:
    """Returns {"modularity_score", "explicitness_score_train", "explicitness_score_test"}."""
    codes_train, factors_train = check_codes_and_factors(codes_train, factors_train, min_samples=bins)
    codes_test, factors_test = check_codes_and_factors(codes_test, factors_test)
    scores = explicitness(codes_train, factors_train, codes_test, factors_test, seed)
    return {"modularity_score": modularity(codes_train, factors_train, bins),
            "explicitness_score_train": scores["train"], "explicitness_score_test": scores["test"]}
