"""SAP score: separated attribute predictability (Kumar et al. 2018)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from vaebench.metrics.discrete import UnscorableInput, check_codes_and_factors


def sap(codes_train, factors_train, codes_test, factors_test, c: float = 0.01) -> dict:
    """Mean over factors of the gap between the two latents that predict the factor best.

    Each (latent, factor) score is the test accuracy of a one-feature linear SVM
    (discrete factors). Range [0, 1]. Returns {"sap_score", "sap_matrix" (L × F)}.
    """
    codes_train, factors_train = check_codes_and_factors(codes_train, factors_train)
    codes_test, factors_test = check_codes_and_factors(codes_test, factors_test)
    if codes_train.shape[1] < 2:
        raise UnscorableInput("SAP needs at least 2 latents")
    scores = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # One classifier per (latent, factor) pair is the definition; the loop fits models, no arithmetic.
        for (latent, factor), _ in np.ndenumerate(scores):
            model = LinearSVC(C=c, class_weight="balanced").fit(codes_train[:, [latent]], factors_train[:, factor])
            scores[latent, factor] = model.score(codes_test[:, [latent]], factors_test[:, factor])
    top_two = -np.sort(-scores, axis=0)[:2]
    return {"sap_score": float((top_two[0] - top_two[1]).mean()), "sap_matrix": scores.tolist()}
