"""Reconstruction error, the ELBO with its parts, and the importance-weighted bound on log p(x).

All values are per observation, in nats (MSE per pixel). The terms reuse the
training objective's own probability functions, so evaluation and training
cannot disagree on a formula.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np

from vaebench.models.probability import bernoulli_log_likelihood, gaussian_kl, gaussian_log_density


def _np(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor), dtype=np.float64)


def sigmoid(logits) -> np.ndarray:
    """1 / (1 + e^−x) without overflow for large negative logits."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, np.float64)))


def reconstruction(images: np.ndarray, logits: np.ndarray) -> dict:
    """Bernoulli negative log-likelihood per image (nats) and mean squared error per pixel."""
    probabilities = sigmoid(logits)
    return {"bce": float(-_np(bernoulli_log_likelihood(images, logits)).mean()),
            "mse": float(np.mean((probabilities - images) ** 2))}


def log_mean_exp(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(mean(exp(values))) along ``axis``, stable for large magnitudes."""
    peak = values.max(axis=axis, keepdims=True)
    return (peak + np.log(np.exp(values - peak).mean(axis=axis, keepdims=True))).squeeze(axis)


def elbo_and_iwae(images: np.ndarray, mean: np.ndarray, logvar: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
                  num_samples: int, rng: np.random.Generator) -> dict:
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
    log_px = _np(bernoulli_log_likelihood(repeated, decode(flat_z))).reshape(n, num_samples)
    log_pz = _np(gaussian_log_density(flat_z, np.float32(0.0), np.float32(0.0))).sum(axis=1).reshape(n, num_samples)
    log_qz = -0.5 * (math.log(2 * math.pi) + logvar[:, None] + eps**2).sum(axis=2)
    kl = _np(gaussian_kl(mean.astype(np.float32), logvar.astype(np.float32)))
    return {"elbo_recon": float(log_px[:, 0].mean()), "elbo_kl": float(kl.mean()),
            "elbo": float((log_px[:, 0] - kl).mean()),
            "iwae": float(log_mean_exp(log_px + log_pz - log_qz, axis=1).mean())}
