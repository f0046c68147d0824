"""AnnealedVAE (Burgess et al. 2018): loss = reconstruction + γ·|KL − C|, capacity C rising linearly to C_max.

C grows from 0 to ``c_max`` nats over the first ``anneal_steps`` training steps. The step is a
non-trainable variable advanced in ``compute_loss``, which every Keras backend carries through its
training step (JAX included, where state changes are returned rather than assigned in place).
"""

import keras
from keras import ops

from vaebench.models.probability import gaussian_kl
from vaebench.models.vae import VAE


@keras.saving.register_keras_serializable(package="vaebench")
class AnnealedVAE(VAE):
    description = "AnnealedVAE; γ·|KL − C| with capacity C raised linearly from 0 to C_max nats"
    hparams = {"c_max": 25.0, "gamma": 1000.0, "anneal_steps": 100_000.0}
    loss_terms = ("recon", "kl", "capacity")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = self.add_weight(shape=(), initializer="zeros", trainable=False, name="step", dtype="float32")

    def capacity(self):
        return self.c_max * ops.minimum(self.step / self.anneal_steps, 1.0)

    def objective(self, x, outputs) -> dict:
        recon = self.reconstruction_nll(self.observations(x), outputs["logits"])
        kl = ops.mean(gaussian_kl(outputs["mean"], outputs["logvar"]))
        capacity = self.capacity()
        return {"loss": recon + self.gamma * ops.abs(kl - capacity), "recon": recon, "kl": kl, "capacity": capacity}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        if training:
            self.step.assign(self.step + 1.0)
        return loss
