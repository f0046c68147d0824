"""Mutual information gap (Chen et al. 2018)."""

import numpy as np

from vaebench.metrics.discrete import UnscorableInput, check_codes_and_factors, entropy, histogram_discretize, mutual_information


def mig(codes, factors, bins: int = 20) -> dict:
    """MIG of codes (n, L) against factor indices (n, F); L ≥ 2.

    Each latent is discretised into ``bins`` equal-width bins; for each factor the
    gap between the two latents with the highest mutual information, divided by
    the factor's entropy; averaged over factors. Range [0, 1], 1 = every factor
    captured by exactly one latent.
    Returns {"mig": float, "mig_per_factor": list of F floats, "normalised_information": (L, F) nested list of
    each latent's mutual information with each factor divided by the factor's entropy}.
    """
    codes, factors = check_codes_and_factors(codes, factors, min_samples=bins)
    if codes.shape[1] < 2:
        raise UnscorableInput("MIG needs at least 2 latents")
    informations = mutual_information(histogram_discretize(codes, bins), factors)  # (L, F)
    entropies = entropy(factors)
    top_two = -np.sort(-informations, axis=0)[:2]
    gaps = (top_two[0] - top_two[1]) / entropies
    return {"mig": float(gaps.mean()), "mig_per_factor": gaps.tolist(), "normalised_information": (informations / entropies).tolist()}
