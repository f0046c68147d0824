"""The Model class every objective extends.

A model owns an encoder and a decoder (see ``networks``) and states its loss
in :meth:`Autoencoder.objective`. Training goes through Keras' own
``fit``: we override ``compute_loss`` only, so the same code trains on every
Keras backend (TensorFlow, JAX, torch).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from vaebench.data.base import Sample
from vaebench.kinds import DataKind
from vaebench.models.networks import FAMILIES
from vaebench.models.likelihoods import BERNOULLI, Likelihood, likelihood_from_config
from vaebench.results.layout import NETWORKS
from vaebench.results.records import ModelCard


class FirstNonFinite(keras.metrics.Metric):
    """The step (1-based, since the last reset) at which the loss first was not finite, and that loss; 0 and 0 while finite.

    Kept on the device, so training checks finiteness once per logging interval yet names the exact step.
    """

    def __init__(self, name: str = "nonfinite"):
        super().__init__(name=name)
        self.steps = self.add_variable(shape=(), initializer="zeros", name="steps")
        self.first_step = self.add_variable(shape=(), initializer="zeros", name="first_step")
        self.first_loss = self.add_variable(shape=(), initializer="zeros", name="first_loss")

    def update_state(self, loss):
        steps = ops.convert_to_tensor(self.steps) + 1.0
        first_step, first_loss = ops.convert_to_tensor(self.first_step), ops.convert_to_tensor(self.first_loss)
        new = ops.logical_and(first_step == 0.0, ops.logical_not(ops.isfinite(loss)))
        self.steps.assign(steps)
        self.first_step.assign(ops.where(new, steps, first_step))
        self.first_loss.assign(ops.where(new, ops.cast(loss, "float32"), first_loss))

    def result(self):
        return {"nonfinite_step": ops.convert_to_tensor(self.first_step), "nonfinite_loss": ops.convert_to_tensor(self.first_loss)}


#: the keys FirstNonFinite adds to the training logs (not loss terms, so not history columns)
NONFINITE_KEYS = ("nonfinite_step", "nonfinite_loss")


@keras.saving.register_keras_serializable(package="vaebench")
class Autoencoder(keras.Model):
    """Deterministic autoencoder: z = enc(x), loss = reconstruction NLL under the data's likelihood."""

    description = "deterministic autoencoder; reconstruction loss (Bernoulli, or per column on tables), no prior on z"
    #: hyperparameter name -> default; values become attributes of the model (floats, or strings from hparam_choices).
    hparams: dict[str, float | str] = {}
    #: the accepted values of each string hyperparameter
    hparam_choices: dict[str, tuple[str, ...]] = {}
    #: hyperparameters handed to the decoder builder as keywords (e.g. a recurrent decoder's mode)
    decoder_options: tuple[str, ...] = ()
    #: the kind of dataset it trains on, its usual dataset, its families
    data_kind = DataKind.IMAGES
    default_dataset = "dsprites"
    families: tuple[str, ...] = ("conv", "mlp")
    #: the other kinds of dataset it trains on, each with the families it uses there
    other_data_kinds: dict[DataKind, tuple[str, ...]] = {DataKind.TABLES: ("mlp",)}
    #: True when the encoder outputs a Gaussian posterior [mean, logvar].
    gaussian = False
    #: True when the encoder and decoder also take the one-hot class label as input (conditional models).
    reads_labels = False
    #: the loss terms tracked during training and written to history.csv.
    loss_terms: tuple[str, ...] = ("recon",)

    #: what ``fit``'s x holds for one batch beside the images, by :class:`vaebench.data.base.Sample` field: the one-hot
    #: "labels" (the dataset must have them) or the "second_view". A pack of models that read the images alone looks
    #: its batches up inside its compiled program (:func:`vaebench.run.packing.drawn_in_program`).
    extra_inputs: tuple[str, ...] = ()
    #: the sub-networks (attributes) stored with a trained cell, each in ``vaebench.results.layout.network_file``
    network_names: tuple[str, ...] = NETWORKS

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int = 0, likelihood: Likelihood = BERNOULLI,
                 **hparams):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.seed = seed
        self.likelihood = likelihood
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.hparam_values = self.resolve_hparams(hparams)
        for name, value in self.hparam_values.items():
            setattr(self, name, value)
        self.trackers = {term: keras.metrics.Mean(name=term) for term in self.loss_terms}
        self.nonfinite = FirstNonFinite()

    @classmethod
    def resolve_hparams(cls, hparams: dict) -> dict[str, float | str]:
        """Every hyperparameter's value: ``hparams`` where given, else its default; unknown names or choices are errors."""
        unknown = set(hparams) - set(cls.hparams)
        if unknown:
            raise ValueError(f"unknown hyperparameters {sorted(unknown)} for {cls.__name__}; accepted: {sorted(cls.hparams) or 'none'}")
        values = {name: type(default)(hparams.get(name, default)) for name, default in cls.hparams.items()}
        for name, choices in cls.hparam_choices.items():
            if values[name] not in choices:
                raise ValueError(f"unknown {name} {values[name]!r}; accepted: {', '.join(choices)}")
        return values

    @classmethod
    def families_for(cls, data_kind: DataKind) -> tuple[str, ...]:
        """The families it uses on datasets of ``data_kind``; () where it does not train on them."""
        return cls.families if data_kind == cls.data_kind else cls.other_data_kinds.get(data_kind, ())

    @classmethod
    def card(cls, name: str, hparams: dict, likelihood: Likelihood = BERNOULLI) -> ModelCard:
        """What a trained cell of this model is, stored in its params.json so that scoring and the report need not guess.

        ``name``: the model's registry name; ``hparams``: its hyperparameters (defaults filled in);
        ``likelihood``: its decoder's, which also says whether it trained on a table.
        """
        return ModelCard(model=name, data_kind=likelihood.data_kind or cls.data_kind, reads_labels=cls.reads_labels,
                         gaussian=cls.gaussian, networks=tuple(cls.network_names), hparams=cls.resolve_hparams(hparams),
                         likelihood=likelihood.config())

    @classmethod
    def create(cls, family: str, shape, latent_dim: int, seed: int = 0, num_classes: int = 0,
               likelihood: Likelihood = BERNOULLI, **hparams) -> "Autoencoder":
        """A fresh model with the ``family``'s encoder and decoder for observations of ``shape``.

        ``num_classes`` is the number of labels in the data (used by models that read labels);
        ``likelihood`` scores the decoder's output (its width is the observation's, for every likelihood).
        """
        make_encoder, make_decoder = FAMILIES[family]
        return cls(make_encoder(shape, latent_dim, gaussian=cls.gaussian),
                   make_decoder(shape, latent_dim, **cls.decoder_kwargs(hparams)), seed=seed, likelihood=likelihood,
                   **hparams)

    @classmethod
    def check_num_classes(cls, num_classes: int) -> None:
        """A model that reads labels cannot be built for data without them."""
        if cls.needs_labels() and num_classes < 1:
            raise ValueError(f"{cls.__name__} needs a dataset with labels")

    @classmethod
    def decoder_kwargs(cls, hparams: dict) -> dict:
        return {name: hparams.get(name, cls.hparams[name]) for name in cls.decoder_options}

    def networks(self) -> dict[str, keras.Model]:
        """The sub-networks stored with a trained cell, by name."""
        return {name: getattr(self, name) for name in self.network_names}

    def make_optimizer(self, learning_rate: float) -> keras.optimizers.Optimizer:
        """The optimiser of the literature's standard setting (Adam, β₁ 0.9, β₂ 0.999, ε 1e-8)."""
        return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    @classmethod
    def needs_labels(cls) -> bool:
        """Whether training needs the dataset's class labels."""
        return "labels" in cls.extra_inputs

    @classmethod
    def inputs_for(cls, sample: Sample, num_classes: int = 0):
        """What ``fit`` receives as x for one batch: the images, then the :attr:`extra_inputs` of ``sample`` (labels one-hot)."""
        extras = tuple(np.eye(num_classes, dtype=np.float32)[sample.labels] if name == "labels" else getattr(sample, name)
                       for name in cls.extra_inputs)
        return (sample.images, *extras) if extras else sample.images

    def encode(self, x):
        """Posterior parameters: (mean, logvar), logvar None for a deterministic encoder."""
        outputs = self.encoder(x)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return outputs[0], (outputs[1] if len(outputs) > 1 else None)

    def decode(self, z, x):
        """The decoder's output for codes ``z``, read by the likelihood (``x``: the batch's inputs, for conditional decoders)."""
        return self.decoder(z)

    def observations(self, x):
        """The images inside ``fit``'s input ``x`` (x itself unless the model also reads labels)."""
        return x

    def call(self, x, training=False):
        mean, _ = self.encode(x)
        return {"logits": self.decode(mean, x), "mean": mean}

    def reconstruction_nll(self, x, logits):
        """Mean over the batch of -log p(x|z), in nats per observation."""
        return -ops.mean(self.likelihood.log_likelihood(x, logits))

    def objective(self, x, outputs) -> dict:
        """The loss and its parts as scalars; must contain "loss" and every ``loss_terms`` entry."""
        recon = self.reconstruction_nll(self.observations(x), outputs["logits"])
        return {"loss": recon, "recon": recon}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.objective(x, y_pred)
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        self.nonfinite.update_state(terms["loss"])
        return terms["loss"]

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.nonfinite] + super().metrics

    def get_config(self):
        networks = {name: keras.saving.serialize_keras_object(network) for name, network in self.networks().items()}
        return {"networks": networks, "seed": self.seed, "likelihood": self.likelihood.config(), **self.hparam_values}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        networks = {name: keras.saving.deserialize_keras_object(network) for name, network in config.pop("networks").items()}
        return cls(**networks, likelihood=likelihood_from_config(config.pop("likelihood", None)), **config)
