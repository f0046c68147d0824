"""Probability pieces shared by every objective, written once with ``keras.ops``.

Shapes: ``mean``/``logvar``/``z`` are (batch, latents); images and logits are
(batch, *observation_shape). Per-sample results are summed over every
non-batch axis and returned with shape (batch,).
"""

import math

import keras
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


def gaussian_kl_per_dim(mean, logvar):
    """The same KL split by latent dimension: (batch, latents)."""
    return -0.5 * (1.0 + logvar - ops.square(mean) - ops.exp(logvar))


def gaussian_log_density(z, mean, logvar):
    """Elementwise log N(z; mean, exp(logvar)), same shape as ``z``."""
    return -0.5 * (LOG_2PI + logvar + ops.square(z - mean) * ops.exp(-logvar))


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) per sample for targets x in [0, 1]: (batch,).

    Uses the stable form x*l - softplus(l), i.e. minus the sigmoid cross-entropy.
    """
    return _sum_per_sample(x * logits - ops.softplus(logits))
