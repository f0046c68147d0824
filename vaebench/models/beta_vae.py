"""β-VAE (Higgins et al. 2017): the VAE loss with the KL term weighted by β."""

import keras

from vaebench.models.vae import VAE


@keras.saving.register_keras_serializable(package="vaebench")
class BetaVAE(VAE):
    description = "β-VAE; KL weighted by β > 1 to push towards a factorised posterior"
    hparams = {"beta": 4.0}

    def kl_weight(self) -> float:
        return self.beta
