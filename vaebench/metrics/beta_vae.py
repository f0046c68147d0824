"""β-VAE score (Higgins et al. 2017)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from vaebench.metrics.discrete import UnscorableInput, check_codes


def pair_batches(sample_factors, num_factors: int, points: int, batch_size: int, rng: np.random.Generator):
    """Factor batches for ``points`` training points: (points, batch, F) twice, and the fixed factor (points,).

    Each point fixes one factor, chosen uniformly, to the same value within every pair.
    """
    fixed = rng.integers(0, num_factors, points)
    first = sample_factors(points * batch_size, rng).reshape(points, batch_size, -1)
    second = sample_factors(points * batch_size, rng).reshape(points, batch_size, -1)
    second[np.arange(points), :, fixed] = first[np.arange(points), :, fixed]
    return first, second, fixed


def pair_features(first_codes, second_codes) -> np.ndarray:
    """Mean absolute difference of paired codes (points, batch, L) → features (points, L)."""
    return np.abs(np.asarray(first_codes) - np.asarray(second_codes)).mean(axis=1)


def beta_vae_score(train_features, train_labels, eval_features, eval_labels, seed: int = 0) -> dict:
    """Accuracy of a logistic regression that predicts the fixed factor from pair features.

    Features (points, L) from :func:`pair_features`, labels (points,) the fixed
    factor. Range [0, 1]; chance is 1/F. Returns {"train_accuracy", "eval_accuracy"}.
    """
    train_features, eval_features = check_codes(train_features), check_codes(eval_features)
    if len(train_features) != len(train_labels) or len(eval_features) != len(eval_labels):
        raise ValueError("features and labels have different lengths")
    if len(np.unique(train_labels)) < 2:
        raise UnscorableInput("the training points fix a single factor; need at least 2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the reference keeps sklearn's default max_iter
        model = LogisticRegression(random_state=seed).fit(train_features, train_labels)
    return {"train_accuracy": float(model.score(train_features, train_labels)),
            "eval_accuracy": float(model.score(eval_features, eval_labels))}
