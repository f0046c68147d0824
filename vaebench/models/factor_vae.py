"""FactorVAE (Kim & Mnih 2018): loss = VAE loss + γ·TC, TC estimated by a discriminator.

The discriminator D tells codes z ~ q(z) (class 0) from codes whose dimensions
were shuffled independently across the batch (class 1, samples of Π_d q(z_d));
its logit difference estimates the density ratio, TC ≈ E[D₀(z) − D₁(z)].

Both networks train in the same step of ``fit``, on any backend. The model
returns one scalar whose gradient is the VAE loss's for the VAE weights and
D's cross-entropy's for D's weights (stop-gradients route each part), and
:class:`DiscriminatorAdam` updates D's weights with D's own Adam settings and
moments.
"""

import keras
from keras import layers, ops

from vaebench.models.keras_private import variable_key
from vaebench.models.probability import permute_dims
from vaebench.models.vae import VAE

#: the literature's discriminator: 6 layers of 1000 leaky-ReLU units, Adam(1e-4, β₁ 0.5, β₂ 0.9)
DISCRIMINATOR_UNITS = (1000,) * 6
DISCRIMINATOR_ADAM = {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9}


def discriminator(latent_dim: int) -> keras.Model:
    z = keras.Input((latent_dim,))
    h = z
    for units in DISCRIMINATOR_UNITS:
        h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
    return keras.Model(z, layers.Dense(2)(h), name="discriminator")


def discriminator_loss(logits_real, logits_permuted):
    """Cross-entropy of D: real codes are class 0, permuted codes class 1 (mean of both halves)."""
    real = keras.losses.sparse_categorical_crossentropy(ops.zeros(ops.shape(logits_real)[:1], "int32"), logits_real, from_logits=True)
    permuted = keras.losses.sparse_categorical_crossentropy(ops.ones(ops.shape(logits_permuted)[:1], "int32"), logits_permuted, from_logits=True)
    return 0.5 * (ops.mean(real) + ops.mean(permuted))


def density_ratio_tc(logits_real):
    """TC ≈ mean over the batch of log D₀(z) − log D₁(z) = logit₀ − logit₁."""
    return ops.mean(logits_real[:, 0] - logits_real[:, 1])


@keras.saving.register_keras_serializable(package="vaebench")
class DiscriminatorAdam(keras.optimizers.Adam):
    """Adam for the whole FactorVAE; the discriminator's weights get their own learning rate and betas.

    ``discriminator`` is attached by :meth:`FactorVAE.compile` (also when a saved model is reloaded).
    """

    def __init__(self, learning_rate: float = 1e-4, discriminator: keras.Model | None = None, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.discriminator = discriminator

    def build(self, variables):
        super().build(variables)
        self._discriminator_keys = {variable_key(self, variable) for variable in self.discriminator.trainable_variables}

    def update_step(self, gradient, variable, learning_rate):
        if variable_key(self, variable) not in self._discriminator_keys:
            return super().update_step(gradient, variable, learning_rate)
        # Adam's update reads its betas from self; they are Python floats, so swap them while tracing D's update.
        saved = self.beta_1, self.beta_2
        self.beta_1, self.beta_2 = DISCRIMINATOR_ADAM["beta_1"], DISCRIMINATOR_ADAM["beta_2"]
        try:
            super().update_step(gradient, variable, DISCRIMINATOR_ADAM["learning_rate"])
        finally:
            self.beta_1, self.beta_2 = saved


@keras.saving.register_keras_serializable(package="vaebench")
class FactorVAE(VAE):
    description = "FactorVAE; VAE + γ·total correlation, estimated by a discriminator on dimension-shuffled codes"
    hparams = {"gamma": 10.0}
    loss_terms = ("recon", "kl", "tc", "discriminator")

    def __init__(self, encoder, decoder, seed: int = 0, **hparams):
        super().__init__(encoder, decoder, seed=seed, **hparams)
        self.discriminator = discriminator(encoder.outputs[0].shape[-1])
        self.permutation_seed = keras.random.SeedGenerator(seed + 1)

    def call(self, x, training=False):
        outputs = super().call(x, training)
        z = ops.stop_gradient(outputs["z"])
        return {**outputs, "logits_real": self.discriminator(outputs["z"]),
                "logits_real_fixed": self.discriminator(z),
                "logits_permuted": self.discriminator(permute_dims(z, self.permutation_seed))}

    def objective(self, x, outputs) -> dict:
        terms = super().objective(x, outputs)
        tc = density_ratio_tc(outputs["logits_real"])
        d_loss = discriminator_loss(outputs["logits_real_fixed"], outputs["logits_permuted"])
        vae_loss = terms["loss"] + self.gamma * tc
        # D's gradient must be its own loss's: remove what γ·tc contributes to it (the same tc on
        # stopped codes), and add the value back as a constant so the loss reported is the VAE's.
        d_part = d_loss - self.gamma * density_ratio_tc(outputs["logits_real_fixed"])
        return {**terms, "loss": vae_loss + d_part - ops.stop_gradient(d_part), "tc": tc, "discriminator": d_loss}

    def make_optimizer(self, learning_rate: float) -> keras.optimizers.Optimizer:
        return DiscriminatorAdam(learning_rate, self.discriminator, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    def compile(self, optimizer="rmsprop", **kwargs):
        if not isinstance(optimizer, DiscriminatorAdam):
            raise ValueError("FactorVAE trains with its DiscriminatorAdam: compile(optimizer=model.make_optimizer(lr))")
        optimizer.discriminator = self.discriminator
        super().compile(optimizer=optimizer, **kwargs)
