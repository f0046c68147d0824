"""Probability pieces shared by every objective, written once with ``keras.ops``.

Shapes: ``mean``/``logvar``/``z`` are (batch, latents); images and logits are
(batch, *observation_shape). Per-sample results are summed over every
non-batch axis and returned with shape (batch,).
"""

import math

import keras
import numpy as np
from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_sample(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def reparameterize(mean, logvar, seed_generator):
    """z = mean + sigma * eps with eps ~ N(0, I), drawn from ``seed_generator``."""
    eps = keras.random.normal(ops.shape(mean), seed=seed_generator)
    return mean + ops.exp(0.5 * logvar) * eps


def gaussian_kl(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, I)) per sample, in nats: (batch,)."""
    return -0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=1)


def gaussian_log_density(z, mean, logvar):
    """Elementwise log N(z; mean, exp(logvar)), same shape as ``z``."""
    return -0.5 * (LOG_2PI + logvar + ops.square(z - mean) * ops.exp(-logvar))


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) per sample for targets x in [0, 1]: (batch,).

    Uses the stable form x*l - softplus(l), i.e. minus the sigmoid cross-entropy.
    """
    return _sum_per_sample(x * logits - ops.softplus(logits))


def sigmoid(logits) -> np.ndarray:
    """1 / (1 + e^−x) in numpy float64, without overflow for large negative logits."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, np.float64)))


def total_correlation_mws(z, mean, logvar):
    """Minibatch estimate of TC = KL(q(z) || Π_d q(z_d)) for samples z_i ~ q(z|x_i): a scalar.

    Minibatch-weighted sampling (Chen et al. 2018): the aggregate posterior at
    z_i is the mean of the batch's posterior densities, q(z_i) ≈ (1/M) Σ_j
    q(z_i|x_j), and likewise per dimension. The paper also divides by the
    dataset size N inside each log; that only shifts the estimate by the
    constant (D − 1)·log N and leaves every gradient unchanged, so it is left
    out and the value logged estimates the TC itself. Shapes: (M, D) each.
    """
    # log q(z_i,d | x_j) for every pair (i, j): (M, M, D)
    pairwise = gaussian_log_density(ops.expand_dims(z, 1), ops.expand_dims(mean, 0), ops.expand_dims(logvar, 0))
    log_m = ops.log(ops.cast(ops.shape(z)[0], z.dtype))
    log_qz = ops.logsumexp(ops.sum(pairwise, axis=2), axis=1) - log_m
    log_prod_marginals = ops.sum(ops.logsumexp(pairwise, axis=1) - log_m, axis=1)
    return ops.mean(log_qz - log_prod_marginals)


def permute_dims(z, seed_generator):
    """Shuffle each latent dimension independently across the batch: samples of Π_d q(z_d). Shape kept."""
    order = ops.argsort(keras.random.uniform(ops.shape(z), seed=seed_generator), axis=0)
    return ops.take_along_axis(z, order, axis=0)


def gaussian_kl_between(mean_q, logvar_q, mean_p, logvar_p):
    """KL(N(mean_q, exp(logvar_q)) || N(mean_p, exp(logvar_p))) per sample, diagonal Gaussians: (batch,)."""
    return 0.5 * ops.sum(logvar_p - logvar_q + (ops.exp(logvar_q) + ops.square(mean_q - mean_p)) * ops.exp(-logvar_p) - 1.0, axis=1)
