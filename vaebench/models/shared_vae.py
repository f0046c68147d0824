"""Shared-latent VAE for two views of the same thing: two encoders, two decoders, one latent space.

loss = Σ_views [−log p(view | z_view) − log p(view | z_other)]      (own and cross reconstruction)
     + KL(q_a || N(0, I)) + KL(q_b || N(0, I))
     + align · [KL(q_a || q_b) + KL(q_b || q_a)]                     (the views' posteriors pulled together)

View a is the dataset's first view: its encoder and decoder are the ones the
metrics and the report use, like any other model's.
"""

import keras
from keras import ops

from vaebench.kinds import DataKind
from vaebench.models.networks import FAMILIES
from vaebench.models.probability import gaussian_kl, gaussian_kl_between, reparameterize
from vaebench.models.vae import VAE
from vaebench.results.layout import NETWORKS


@keras.saving.register_keras_serializable(package="vaebench")
class SharedVAE(VAE):
    description = "shared-latent VAE for two views; cross-reconstruction and symmetric KL pulling the views' posteriors together"
    hparams = {"align": 1.0}
    loss_terms = ("recon", "cross", "kl", "align_kl")
    data_kind = DataKind.TWO_VIEWS
    default_dataset = "dsprites_outline"
    other_data_kinds: dict[DataKind, tuple[str, ...]] = {}
    network_names = (*NETWORKS, "encoder_b", "decoder_b")
    extra_inputs = ("second_view",)

    def __init__(self, encoder, decoder, encoder_b, decoder_b, seed: int = 0, **hparams):
        super().__init__(encoder, decoder, seed=seed, **hparams)
        self.encoder_b, self.decoder_b = encoder_b, decoder_b

    @classmethod
    def create(cls, family, shape, latent_dim, seed=0, num_classes=0, **hparams):
        make_encoder, make_decoder = FAMILIES[family]
        return cls(make_encoder(shape, latent_dim), make_decoder(shape, latent_dim),
                   make_encoder(shape, latent_dim), make_decoder(shape, latent_dim), seed=seed, **hparams)

    def observations(self, x):
        return x[0]

    def call(self, x, training=False):
        view_a, view_b = x
        mean_a, logvar_a = self.encoder(view_a)
        mean_b, logvar_b = self.encoder_b(view_b)
        z_a = reparameterize(mean_a, logvar_a, self.seed_generator) if training else mean_a
        z_b = reparameterize(mean_b, logvar_b, self.seed_generator) if training else mean_b
        return {"logits": self.decoder(z_a), "mean": mean_a, "logvar": logvar_a, "z": z_a,
                "mean_b": mean_b, "logvar_b": logvar_b,
                "logits_b": self.decoder_b(z_b), "logits_a_from_b": self.decoder(z_b), "logits_b_from_a": self.decoder_b(z_a)}

    def objective(self, x, outputs) -> dict:
        view_a, view_b = x
        recon = self.reconstruction_nll(view_a, outputs["logits"]) + self.reconstruction_nll(view_b, outputs["logits_b"])
        cross = (self.reconstruction_nll(view_a, outputs["logits_a_from_b"])
                 + self.reconstruction_nll(view_b, outputs["logits_b_from_a"]))
        a, b = (outputs["mean"], outputs["logvar"]), (outputs["mean_b"], outputs["logvar_b"])
        kl = ops.mean(gaussian_kl(*a) + gaussian_kl(*b))
        align = ops.mean(gaussian_kl_between(*a, *b) + gaussian_kl_between(*b, *a))
        return {"loss": recon + cross + kl + self.align * align, "recon": recon, "cross": cross, "kl": kl, "align_kl": align}
