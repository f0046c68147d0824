"""Encoder and decoder builders, one pair per architecture family.

Every encoder maps an observation to the parameters of a diagonal Gaussian,
outputs ``[mean, logvar]`` (a deterministic encoder outputs ``[mean]``); every
decoder maps a latent code to Bernoulli logits with the observation's shape.
The ``conv`` family is the disentanglement literature's standard network
(Locatello et al. 2019); ``mlp`` is its fully connected variant.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from vaebench.models.heads import gaussian_heads
from vaebench.models.recurrent import rnn_decoder, rnn_encoder


def conv_encoder(shape, latent_dim: int, gaussian: bool = True) -> keras.Model:
    _require_conv_shape(shape)
    inputs = keras.Input(shape)
    h = inputs
    for filters, kernel in ((32, 4), (32, 4), (64, 2), (64, 2)):
        h = layers.Conv2D(filters, kernel, strides=2, padding="same", activation="relu")(h)
    h = layers.Dense(256, activation="relu")(layers.Flatten()(h))
    return keras.Model(inputs, gaussian_heads(h, latent_dim, gaussian), name="encoder")


def conv_decoder(shape, latent_dim: int) -> keras.Model:
    _require_conv_shape(shape)
    height, width, channels = shape
    z = keras.Input((latent_dim,))
    h = layers.Dense(256, activation="relu")(z)
    h = layers.Dense((height // 16) * (width // 16) * 64, activation="relu")(h)
    h = layers.Reshape((height // 16, width // 16, 64))(h)
    for filters in (64, 32, 32):
        h = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="logits")(h)
    return keras.Model(z, logits, name="decoder")


def mlp_encoder(shape, latent_dim: int, gaussian: bool = True) -> keras.Model:
    inputs = keras.Input(shape)
    h = layers.Flatten()(inputs)
    for _ in range(2):
        h = layers.Dense(1200, activation="relu")(h)
    return keras.Model(inputs, gaussian_heads(h, latent_dim, gaussian), name="encoder")


def mlp_decoder(shape, latent_dim: int) -> keras.Model:
    z = keras.Input((latent_dim,))
    h = z
    for _ in range(3):
        h = layers.Dense(1200, activation="tanh")(h)
    logits = layers.Reshape(tuple(shape), name="logits")(layers.Dense(math.prod(shape))(h))
    return keras.Model(z, logits, name="decoder")


@keras.saving.register_keras_serializable(package="vaebench")
class AppendLabel(layers.Layer):
    """Concatenate a one-hot label to every position of an input: (B, ..., C) and (B, K) → (B, ..., C + K)."""

    def call(self, inputs):
        x, label = inputs
        label = ops.reshape(ops.cast(label, x.dtype), (-1,) + (1,) * (len(x.shape) - 2) + (label.shape[-1],))
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * label], axis=-1)

    def compute_output_shape(self, input_shapes):
        x_shape, label_shape = input_shapes
        return tuple(x_shape[:-1]) + (x_shape[-1] + label_shape[-1],)


def conditional_encoder(family: str, shape, latent_dim: int, num_classes: int, gaussian: bool = True) -> keras.Model:
    """q(z | x, c): the family's encoder applied to the observation with the one-hot label appended as channels."""
    x, label = keras.Input(shape), keras.Input((num_classes,))
    inner = FAMILIES[family][0](tuple(shape[:-1]) + (shape[-1] + num_classes,), latent_dim, gaussian=gaussian)
    return keras.Model([x, label], inner(AppendLabel()([x, label])), name="encoder")


def conditional_decoder(family: str, shape, latent_dim: int, num_classes: int, **options) -> keras.Model:
    """p(x | z, c): the family's decoder applied to the code with the one-hot label appended."""
    z, label = keras.Input((latent_dim,)), keras.Input((num_classes,))
    inner = FAMILIES[family][1](shape, latent_dim + num_classes, **options)
    return keras.Model([z, label], inner(AppendLabel()([z, label])), name="decoder")


def classifier(latent_dim: int, num_classes: int) -> keras.Model:
    """A small MLP from a latent code to class logits."""
    z = keras.Input((latent_dim,))
    h = layers.Dense(128, activation="relu")(z)
    return keras.Model(z, layers.Dense(num_classes, name="logits")(h), name="classifier")


def _require_conv_shape(shape) -> None:
    if len(shape) != 3 or shape[0] % 16 or shape[1] % 16:
        raise ValueError(f"the conv family needs (H, W, C) images with H and W multiples of 16, got {tuple(shape)}")


#: family name -> (encoder builder, decoder builder)
FAMILIES = {
    "conv": (conv_encoder, conv_decoder),
    "mlp": (mlp_encoder, mlp_decoder),
    "rnn": (rnn_encoder, rnn_decoder),
}
