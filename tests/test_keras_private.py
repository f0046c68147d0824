"""The private Keras calls (vaebench.models.keras_private) still do what vaebench relies on, and the installed
keras is one of the releases pyproject allows."""

import tomllib
from importlib.metadata import version
from pathlib import Path

import keras
import numpy as np
from packaging.requirements import Requirement

from fake_data import Squares
from test_packing import _cell
from vaebench.models import get_model_class
from vaebench.models.keras_private import build_for_training, variable_key
from vaebench.run.batches import batches
from vaebench.run.train import build_model

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


def test_building_for_training_creates_the_optimizer_and_metrics_variables_fit_would():
    """Packing stacks every variable before the first step (Keras' private Trainer._symbolic_build)."""
    dataset, cell = Squares(), _cell()
    model = build_model(cell, dataset)
    assert len(model.optimizer.variables) < len(model.trainable_variables)  # iteration and learning rate only
    build_for_training(model, next(batches(dataset, get_model_class(cell.model), cell.batch_size, cell.seed)))
    assert len(model.optimizer.variables) >= 2 * len(model.trainable_variables)  # Adam: two moments per weight
    assert model.metrics_variables
