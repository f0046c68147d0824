"""Reconstruction error, the ELBO with its parts, and the importance-weighted bound on log p(x).

All values are per observation, in nats (MSE per pixel, or per encoded value of a
table record). The terms reuse the training objective's own likelihood
(``vaebench.models.likelihoods``) and probability functions, so evaluation and
training cannot disagree on a formula: on a table, log p(x|z) is the sum over its
columns' log-likelihoods.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np

from vaebench.models.likelihoods import Likelihood
from vaebench.models.probability import gaussian_kl, gaussian_log_density


def _np(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor), dtype=np.float64)


def reconstruction(likelihood: Likelihood, images: np.ndarray, outputs: np.ndarray) -> dict:
    """Negative log-likelihood per observation (nats; key "bce", the Bernoulli one on images) and the mean squared
    error per value between the likelihood's mean and the observation."""
    return {"bce": float(-_np(likelihood.log_likelihood(images, outputs)).mean()),
            "mse": float(np.mean((likelihood.mean(outputs) - images) ** 2))}


def log_mean_exp(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(mean(exp(values))) along ``axis``, stable for large magnitudes."""
    peak = values.max(axis=axis, keepdims=True)
    return (peak + np.log(np.exp(values - peak).mean(axis=axis, keepdims=True))).squeeze(axis)


def elbo_and_iwae(likelihood: Likelihood, images: np.ndarray, mean: np.ndarray, logvar: np.ndarray,
                  decode: Callable[[np.ndarray], np.ndarray], num_samples: int, rng: np.random.Generator) -> dict:
    """ELBO (one posterior sample, analytic KL) and IWAE_K per image, averaged over ``images``.

    log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x) with z_k ~ q(z|x); IWAE_K =
    log mean_k w_k ≥ ELBO, rising towards log p(x) with K.
    Returns {"elbo", "elbo_recon", "elbo_kl", "iwae"} as per-image means.
    """
    if num_samples < 1:
        raise ValueError(f"the IWAE bound needs at least 1 sample, got {num_samples}")
    n, latents = mean.shape
    eps = rng.standard_normal((n, num_samples, latents))
    z = mean[:, None] + np.exp(0.5 * logvar)[:, None] * eps
    flat_z = z.reshape(n * num_samples, latents).astype(np.float32)
    repeated = np.repeat(images, num_samples, axis=0)
    log_px = _np(likelihood.log_likelihood(repeated, decode(flat_z))).reshape(n, num_samples)
    log_pz = _np(gaussian_log_density(flat_z, np.float32(0.0), np.float32(0.0))).sum(axis=1).reshape(n, num_samples)
    log_qz = -0.5 * (math.log(2 * math.pi) + logvar[:, None] + eps**2).sum(axis=2)
    kl = _np(gaussian_kl(mean.astype(np.float32), logvar.astype(np.float32)))
    return {"elbo_recon": float(log_px[:, 0].mean()), "elbo_kl": float(kl.mean()),
            "elbo": float((log_px[:, 0] - kl).mean()),
            "iwae": float(log_mean_exp(log_px + log_pz - log_qz, axis=1).mean())}
