"""The private Keras calls (vaebench.models.keras_private) still do what vaebench relies on, and the installed
keras is one of the releases pyproject allows."""

import tomllib
from importlib.metadata import version
from pathlib import Path

import keras
import numpy as np
from packaging.requirements import Requirement

from vaebench.models.keras_private import variable_key

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def keras_requirement() -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(Requirement(line) for line in dependencies if Requirement(line).name == "keras")


def test_the_installed_keras_is_inside_pyproject_s_bounded_range():
    requirement = keras_requirement()
    assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), \
        f"{requirement} has no upper bound: the private Keras calls are checked against known releases only"
    assert requirement.specifier.contains(version("keras")), f"keras {version('keras')} is outside {requirement}"


def test_the_optimizer_tells_a_keras_variable_and_the_backend_variable_under_it_by_one_key():
    """FactorVAE's DiscriminatorAdam gives D its own learning rate by this key (Keras' private Optimizer._var_key)."""
    optimizer = keras.optimizers.Adam()
    first, second = keras.Variable(np.zeros(2)), keras.Variable(np.zeros(2))
    assert variable_key(optimizer, first) == variable_key(optimizer, first) != variable_key(optimizer, second)
    if keras.backend.backend() == "tensorflow":  # update_step receives the tf.Variable under the KerasVariable
        assert variable_key(optimizer, first.value) == variable_key(optimizer, first)
