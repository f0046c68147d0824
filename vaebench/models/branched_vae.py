"""VAE with a classifier branch: loss = VAE loss + w · cross-entropy(label, classifier(z)).

The classifier reads the sampled code during training (the mean at test time),
so the latent space is pushed to carry the label linearly-ish; its held-out
accuracy is scored as ``classifier_accuracy``.
"""

import keras
from keras import ops

from vaebench.models.likelihoods import BERNOULLI
from vaebench.models.networks import FAMILIES, classifier
from vaebench.models.vae import VAE
from vaebench.results.layout import NETWORKS


@keras.saving.register_keras_serializable(package="vaebench")
class BranchedVAE(VAE):
    description = "VAE with a classifier branch on z; third loss term: label cross-entropy weighted by classifier_weight"
    hparams = {"classifier_weight": 1.0}
    extra_inputs = ("labels",)
    loss_terms = ("recon", "kl", "classifier")
    network_names = (*NETWORKS, "classifier")

    def __init__(self, encoder, decoder, classifier, seed: int = 0, **hparams):
        super().__init__(encoder, decoder, seed=seed, **hparams)
        self.classifier = classifier

    @classmethod
    def create(cls, family, shape, latent_dim, seed=0, num_classes=0, likelihood=BERNOULLI, **hparams):
        cls.check_num_classes(num_classes)
        make_encoder, make_decoder = FAMILIES[family]
        return cls(make_encoder(shape, latent_dim, gaussian=True), make_decoder(shape, latent_dim),
                   classifier(latent_dim, num_classes), seed=seed, likelihood=likelihood, **hparams)

    def encode(self, x):
        return super().encode(x[0])

    def observations(self, x):
        return x[0]

    def call(self, x, training=False):
        outputs = super().call(x, training)
        return {**outputs, "class_logits": self.classifier(outputs["z"])}

    def objective(self, x, outputs) -> dict:
        terms = super().objective(x, outputs)
        cross_entropy = ops.mean(keras.losses.categorical_crossentropy(x[1], outputs["class_logits"], from_logits=True))
        return {**terms, "loss": terms["loss"] + self.classifier_weight * cross_entropy, "classifier": cross_entropy}
