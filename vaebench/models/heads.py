"""The Gaussian posterior heads every encoder family ends with: ``[mean, logvar]``, or ``[mean]`` when deterministic."""

from __future__ import annotations

from keras import layers


def gaussian_heads(hidden, latent_dim: int, gaussian: bool) -> list:
    mean = layers.Dense(latent_dim, name="mean")(hidden)
    if not gaussian:
        return [mean]
    return [mean, layers.Dense(latent_dim, name="logvar")(hidden)]
