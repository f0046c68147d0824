"""Scores that need no ground-truth factors: active units and the dependence between latents."""

import numpy as np

from vaebench.metrics.discrete import UnscorableInput, check_codes


def active_units(codes, threshold: float = 0.01) -> int:
    """Number of latents whose posterior mean varies over the data (variance > ``threshold``)."""
    return int((check_codes(codes).var(axis=0) > threshold).sum())


def gaussian_total_correlation(codes) -> float:
    """TC of a Gaussian with the codes' covariance Σ: ½(Σᵢ log Σᵢᵢ − log det Σ), in nats, ≥ 0.

    A singular Σ (a constant latent, or one that is a linear combination of others) makes it
    infinite: that is an UnscorableInput saying so, not a number.
    """
    cov = np.atleast_2d(np.cov(check_codes(codes), rowvar=False))
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise UnscorableInput("not finite (inf): singular covariance of the codes "
                              "(a latent is constant or a linear combination of others)")
    return float(0.5 * (np.log(np.diag(cov)).sum() - logdet))
