"""Conditional VAE: q(z | x, c) and p(x | z, c), with c the one-hot class label.

The label is appended to the encoder's input (as extra channels) and to the
code fed to the decoder, so z is free to leave the label out. Loss = the VAE
loss. On dSprites the label is the shape; on digits/MNIST the class.
"""

import keras

from vaebench.models.likelihoods import BERNOULLI
from vaebench.models.networks import conditional_decoder, conditional_encoder
from vaebench.models.vae import VAE


@keras.saving.register_keras_serializable(package="vaebench")
class CVAE(VAE):
    description = "conditional VAE; the one-hot label is appended to the encoder's input and to the decoder's code"
    extra_inputs = ("labels",)
    reads_labels = True

    @classmethod
    def create(cls, family, shape, latent_dim, seed=0, num_classes=0, likelihood=BERNOULLI, **hparams):
        cls.check_num_classes(num_classes)
        return cls(conditional_encoder(family, shape, latent_dim, num_classes, gaussian=cls.gaussian),
                   conditional_decoder(family, shape, latent_dim, num_classes, **cls.decoder_kwargs(hparams)),
                   seed=seed, likelihood=likelihood, **hparams)

    def encode(self, x):
        return super().encode(list(x))

    def decode(self, z, x):
        return self.decoder([z, x[1]])

    def observations(self, x):
        return x[0]
