"""The private Keras calls vaebench makes, each behind one function, so that a Keras release that changes one
breaks one function and its test (tests/test_keras_private.py) rather than training.

pyproject bounds keras to the releases these were checked against; the test suite checks that the installed
keras is inside that range.
"""

from __future__ import annotations

import keras


def variable_key(optimizer: keras.optimizers.Optimizer, variable) -> str:
    """The key an optimizer files ``variable`` under, the same for a KerasVariable and the backend variable under it.

    Keras' private ``Optimizer._var_key``: TensorFlow hands ``update_step`` the tf.Variable under each
    KerasVariable, so only this key tells which model a variable belongs to (FactorVAE's discriminator).
    """
    return optimizer._var_key(variable)


def build_for_training(model: keras.Model, batch) -> None:
    """Build a compiled model's optimiser and metrics variables from one batch, as ``fit`` does before its first step.

    Keras' private ``Trainer._symbolic_build``: packing stacks every member's variables before the first step,
    so they must all exist by then.
    """
    model._symbolic_build(data_batch=batch)
