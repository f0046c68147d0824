"""VAE (Kingma & Welling 2014): loss = -E_q[log p(x|z)] + KL(q(z|x) || N(0, I))."""

import keras
from keras import ops

from vaebench.models.base import Autoencoder
from vaebench.models.probability import gaussian_kl, reparameterize


@keras.saving.register_keras_serializable(package="vaebench")
class VAE(Autoencoder):
    description = "variational autoencoder; Gaussian posterior, N(0, I) prior, Bernoulli decoder"
    gaussian = True
    loss_terms = ("recon", "kl")

    def kl_weight(self) -> float:
        return 1.0

    def call(self, x, training=False):
        mean, logvar = self.encode(x)
        z = reparameterize(mean, logvar, self.seed_generator) if training else mean
        return {"logits": self.decode(z, x), "mean": mean, "logvar": logvar, "z": z}

    def objective(self, x, outputs) -> dict:
        recon = self.reconstruction_nll(self.observations(x), outputs["logits"])
        kl = ops.mean(gaussian_kl(outputs["mean"], outputs["logvar"]))
        return {"loss": recon + self.kl_weight() * kl, "recon": recon, "kl": kl}
