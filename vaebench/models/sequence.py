"""Sequence autoencoders: a GRU encoder and a GRU decoder in one of three modes (``decoder_mode``).

``seq_ae``, ``seq_vae`` and ``seq_cvae`` are the autoencoder, VAE and
conditional VAE objectives on the recurrent family (see ``recurrent``); they
train on sequences, by default the procedural sines.
"""

import keras

from vaebench.kinds import DataKind
from vaebench.models.base import Autoencoder
from vaebench.models.cvae import CVAE
from vaebench.models.recurrent import DECODER_MODES
from vaebench.models.vae import VAE

SEQUENCE_SETTINGS = {
    "hparams": {"decoder_mode": "repeat_latent"},
    "hparam_choices": {"decoder_mode": DECODER_MODES},
    "decoder_options": ("decoder_mode",),
    "data_kind": DataKind.SEQUENCES,
    "default_dataset": "sines",
    "families": ("rnn",),
    "other_data_kinds": {},
}


def _sequence_model(base, name: str, description: str):
    model_class = type(name, (base,), {**SEQUENCE_SETTINGS, "description": description, "__module__": __name__})
    return keras.saving.register_keras_serializable(package="vaebench")(model_class)


SeqAE = _sequence_model(Autoencoder, "SeqAE", "sequence autoencoder; GRU encoder, GRU decoder in decoder_mode, no prior on z")
SeqVAE = _sequence_model(VAE, "SeqVAE", "sequence VAE; GRU encoder, GRU decoder in decoder_mode, N(0, I) prior")
SeqCVAE = _sequence_model(CVAE, "SeqCVAE", "conditional sequence VAE; the one-hot label joins the GRU encoder's input and the decoder's code")
