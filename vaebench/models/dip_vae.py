"""DIP-VAE (Kumar et al. 2018): the VAE loss plus a penalty pulling a latent covariance towards the identity.

penalty = λ_od · Σ_{i≠j} C_ij² + λ_d · Σ_i (C_ii − 1)², with C the covariance over the batch of
the posterior means (DIP-VAE-I) or of the whole posterior, Cov(μ) + mean(diag σ²) (DIP-VAE-II).
"""

import keras
from keras import ops

from vaebench.models.vae import VAE


def covariance(values):
    """Covariance over the batch of (batch, L) values: (L, L)."""
    centred = values - ops.mean(values, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centred), centred) / ops.cast(ops.shape(values)[0], values.dtype)


def dip_penalty(cov, lambda_od: float, lambda_d: float):
    diagonal = ops.diagonal(cov)
    off_diagonal = cov - ops.diag(diagonal)
    return lambda_od * ops.sum(ops.square(off_diagonal)) + lambda_d * ops.sum(ops.square(diagonal - 1.0))


@keras.saving.register_keras_serializable(package="vaebench")
class DIPVAEI(VAE):
    description = "DIP-VAE-I; VAE + penalty on the covariance of the posterior means (λ_od off-diagonal, λ_d diagonal)"
    hparams = {"lambda_od": 10.0, "lambda_d": 100.0}
    loss_terms = ("recon", "kl", "dip")

    def latent_covariance(self, outputs):
        return covariance(outputs["mean"])

    def objective(self, x, outputs) -> dict:
        terms = super().objective(x, outputs)
        dip = dip_penalty(self.latent_covariance(outputs), self.lambda_od, self.lambda_d)
        return {**terms, "loss": terms["loss"] + dip, "dip": dip}


@keras.saving.register_keras_serializable(package="vaebench")
class DIPVAEII(DIPVAEI):
    description = "DIP-VAE-II; VAE + penalty on the covariance of the whole posterior, Cov(μ) + E[diag σ²]"
    hparams = {"lambda_od": 10.0, "lambda_d": 10.0}

    def latent_covariance(self, outputs):
        return covariance(outputs["mean"]) + ops.diag(ops.mean(ops.exp(outputs["logvar"]), axis=0))
