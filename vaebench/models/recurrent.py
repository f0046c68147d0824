"""The recurrent family for sequences (T, C): a GRU encoder and a GRU decoder with three decoder modes.

- ``repeat_latent``: the code is the decoder's input at every step.
- ``concat_output_latent``: each step reads the code concatenated with the previous step's output.
- ``output_as_input``: each step reads only the previous output; the code reaches the decoder
  through the initial state alone.

In every mode the initial state is a learned function of the code.

The fed-back output is the model's own (free running, no teacher forcing), so
the decoder is a function of the code alone, like every other decoder. The
previous output is recomputed from the previous state with the shared output
layer, so the recurrent state is just the GRU's.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from vaebench.models.heads import gaussian_heads

UNITS = 128
DECODER_MODES = ("repeat_latent", "concat_output_latent", "output_as_input")


def rnn_encoder(shape, latent_dim: int, gaussian: bool = True) -> keras.Model:
    inputs = keras.Input(shape)
    h = layers.GRU(UNITS)(inputs)
    return keras.Model(inputs, gaussian_heads(layers.Dense(UNITS, activation="relu")(h), latent_dim, gaussian), name="encoder")


@keras.saving.register_keras_serializable(package="vaebench")
class FeedbackCell(layers.Layer):
    """A GRU step whose input includes the previous step's output, sigmoid(out(h_{t−1}))."""

    def __init__(self, units: int, output_dim: int, read_step_input: bool, **kwargs):
        super().__init__(**kwargs)
        self.units, self.output_dim, self.read_step_input = units, output_dim, read_step_input
        self.state_size, self.output_size = units, output_dim
        self.gru = layers.GRUCell(units)
        self.out = layers.Dense(output_dim)

    def build(self, input_shape):
        step_input = (input_shape[-1] if self.read_step_input else 0) + self.output_dim
        self.gru.build((None, step_input))
        self.out.build((None, self.units))

    def call(self, inputs, states):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        fed_back = ops.sigmoid(self.out(previous))
        step_input = ops.concatenate([inputs, fed_back], axis=-1) if self.read_step_input else fed_back
        h, _ = self.gru(step_input, [previous])
        return self.out(h), [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "output_dim": self.output_dim, "read_step_input": self.read_step_input}


def rnn_decoder(shape, latent_dim: int, decoder_mode: str = "repeat_latent") -> keras.Model:
    if decoder_mode not in DECODER_MODES:
        raise ValueError(f"unknown decoder mode {decoder_mode!r}; accepted: {', '.join(DECODER_MODES)}")
    steps, channels = shape
    z = keras.Input((latent_dim,))
    repeated = layers.RepeatVector(steps)(z)
    # every mode starts from a state set by the code: from a zero state and a constant input, a GRU
    # hardly learns to start a wave at the right phase
    initial = [layers.Dense(UNITS, activation="tanh")(z)]
    if decoder_mode == "repeat_latent":
        logits = layers.Dense(channels)(layers.GRU(UNITS, return_sequences=True)(repeated, initial_state=initial))
    else:
        cell = FeedbackCell(UNITS, channels, read_step_input=decoder_mode == "concat_output_latent")
        logits = layers.RNN(cell, return_sequences=True)(repeated, initial_state=initial)
    return keras.Model(z, logits, name="decoder")
