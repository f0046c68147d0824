"""The Model class every objective extends.

A model owns an encoder and a decoder (see ``networks``) and states its loss
in :meth:`Autoencoder.objective`. Training goes through Keras' own
``fit``: we override ``compute_loss`` only, so the same code trains on every
Keras backend (TensorFlow, JAX, torch).
"""

from __future__ import annotations

import keras
from keras import ops

from vaebench.data.base import Sample
from vaebench.models.networks import FAMILIES
from vaebench.models.probability import bernoulli_log_likelihood


@keras.saving.register_keras_serializable(package="vaebench")
class Autoencoder(keras.Model):
    """Deterministic autoencoder: z = enc(x), loss = Bernoulli reconstruction NLL."""

    description = "deterministic autoencoder; Bernoulli reconstruction loss, no prior on z"
    #: hyperparameter name -> default; values become float attributes of the model.
    hparams: dict[str, float] = {}
    #: True when the encoder outputs a Gaussian posterior [mean, logvar].
    gaussian = False
    #: the loss terms tracked during training and written to history.csv.
    loss_terms: tuple[str, ...] = ("recon",)

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int = 0, **hparams):
        unknown = set(hparams) - set(self.hparams)
        if unknown:
            raise ValueError(f"unknown hyperparameters {sorted(unknown)} for {type(self).__name__}; accepted: {sorted(self.hparams) or 'none'}")
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.hparam_values = {name: float(hparams.get(name, default)) for name, default in self.hparams.items()}
        for name, value in self.hparam_values.items():
            setattr(self, name, value)
        self.trackers = {term: keras.metrics.Mean(name=term) for term in self.loss_terms}

    @classmethod
    def create(cls, family: str, shape, latent_dim: int, seed: int = 0, **hparams) -> "Autoencoder":
        """A fresh model with the ``family``'s encoder and decoder for observations of ``shape``."""
        make_encoder, make_decoder = FAMILIES[family]
        return cls(make_encoder(shape, latent_dim, gaussian=cls.gaussian), make_decoder(shape, latent_dim), seed=seed, **hparams)

    @staticmethod
    def inputs_for(sample: Sample):
        """What ``fit`` receives as x for one batch (conditional models add labels)."""
        return sample.images

    def encode(self, x):
        """Posterior parameters: (mean, logvar), logvar None for a deterministic encoder."""
        outputs = self.encoder(x)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return outputs[0], (outputs[1] if len(outputs) > 1 else None)

    def call(self, x, training=False):
        mean, _ = self.encode(x)
        return {"logits": self.decoder(mean), "mean": mean}

    def reconstruction_nll(self, x, logits):
        """Mean over the batch of -log p(x|z), in nats per observation."""
        return -ops.mean(bernoulli_log_likelihood(x, logits))

    def objective(self, x, outputs) -> dict:
        """The loss and its parts as scalars; must contain "loss" and every ``loss_terms`` entry."""
        recon = self.reconstruction_nll(x, outputs["logits"])
        return {"loss": recon, "recon": recon}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.objective(x, y_pred)
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return terms["loss"]

    @property
    def metrics(self):
        return list(self.trackers.values()) + super().metrics

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "seed": self.seed,
            **self.hparam_values,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)
