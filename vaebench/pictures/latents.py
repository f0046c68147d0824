"""Which latents a cell's pictures show, in what order, at what values: shared by every drawer."""

from __future__ import annotations

import numpy as np

from vaebench.pictures.spec import INFORMATIVE_KL, INFORMATIVE_VARIANCE_SHARE, TRAVERSAL_VALUES


def strength_name(gaussian: bool) -> str:
    """What orders the latents: mean KL to the prior for a Gaussian encoder, else the variance of the codes."""
    return "mean KL to the prior (nats)" if gaussian else "variance of the codes"


def latent_order(mean: np.ndarray, logvar: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latents sorted by informativeness: mean KL per dimension (VAEs) or variance of the codes (autoencoders).

    Returns (order, strength per latent, informative per latent).
    """
    if logvar is None:
        strength = mean.var(axis=0)
        informative = strength >= INFORMATIVE_VARIANCE_SHARE * strength.max()
    else:
        strength = (0.5 * (np.exp(logvar) + mean**2 - 1 - logvar)).mean(axis=0)
        informative = strength >= INFORMATIVE_KL
    return np.argsort(-strength, kind="stable"), strength, informative


def traversal_values(mean: np.ndarray, gaussian: bool) -> np.ndarray:
    """(steps, L) values each latent takes in a traversal, given the (n, L) posterior means of held-out inputs.

    TRAVERSAL_VALUES in prior units for a Gaussian encoder; an autoencoder has no prior, so its latents go
    TRAVERSAL_VALUES standard deviations of their codes either side of the codes' mean.
    """
    steps = TRAVERSAL_VALUES[:, None]
    if gaussian:
        return np.repeat(steps, mean.shape[1], axis=1)
    return mean.mean(axis=0) + steps * mean.std(axis=0)
