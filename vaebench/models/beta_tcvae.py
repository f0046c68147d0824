"""β-TCVAE (Chen et al. 2018): loss = reconstruction + KL + (β − 1)·TC.

The KL is split as mutual information + total correlation + dimension-wise KL;
only the total correlation is up-weighted, estimated on the minibatch by
minibatch-weighted sampling (``probability.total_correlation_mws``).
"""

import keras

from vaebench.models.probability import total_correlation_mws
from vaebench.models.vae import VAE


@keras.saving.register_keras_serializable(package="vaebench")
class BetaTCVAE(VAE):
    description = "β-TCVAE; VAE + (β − 1)·total correlation, estimated by minibatch-weighted sampling"
    hparams = {"beta": 6.0}
    loss_terms = ("recon", "kl", "tc")

    def objective(self, x, outputs) -> dict:
        terms = super().objective(x, outputs)
        tc = total_correlation_mws(outputs["z"], outputs["mean"], outputs["logvar"])
        return {**terms, "loss": terms["loss"] + (self.beta - 1.0) * tc, "tc": tc}
