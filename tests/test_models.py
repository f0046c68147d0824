"""Each objective's loss against values computed by hand on tiny inputs."""

import math

import keras
import numpy as np
import pytest

from vaebench.models import MODELS, get_model_class
from vaebench.models.probability import bernoulli_log_likelihood, gaussian_kl, gaussian_log_density
from vaebench.errors import VaebenchError


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_gaussian_kl_matches_closed_form():
    mean = np.array([[0.0, 1.0], [0.5, -2.0]], np.float32)
    logvar = np.array([[0.0, math.log(2.0)], [math.log(0.5), 0.0]], np.float32)
    # KL = 0.5 * sum(var + mean^2 - 1 - log var)
    expected = [0.5 * ((1 + 0 - 1 - 0) + (2 + 1 - 1 - math.log(2))), 0.5 * ((0.5 + 0.25 - 1 - math.log(0.5)) + (1 + 4 - 1))]
    np.testing.assert_allclose(_np(gaussian_kl(mean, logvar)), expected, rtol=1e-6)


def test_bernoulli_log_likelihood_matches_closed_form():
    x = np.array([[1.0, 0.0, 0.5]], np.float32)
    logits = np.array([[2.0, -1.0, 0.0]], np.float32)
    p = 1 / (1 + np.exp(-logits))
    expected = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    np.testing.assert_allclose(_np(bernoulli_log_likelihood(x, logits)), [expected], rtol=1e-6)


def test_gaussian_log_density_matches_scipy_formula():
    z, mean, logvar = np.float32(0.3), np.float32(-0.2), np.float32(math.log(0.7))
    expected = -0.5 * math.log(2 * math.pi * 0.7) - (0.5**2) / (2 * 0.7)
    np.testing.assert_allclose(_np(gaussian_log_density(z, mean, logvar)), expected, rtol=1e-6)


def _tiny(name, **hparams):
    return get_model_class(name).create("mlp", (2, 2, 1), 2, seed=0, **hparams)


def _objective_by_hand(x, logits, mean=None, logvar=None, kl_weight=0.0):
    p = 1 / (1 + np.exp(-logits))
    recon = -np.mean(np.sum((x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1), axis=1))
    if mean is None:
        return recon, 0.0
    kl = np.mean(0.5 * np.sum(np.exp(logvar) + mean**2 - 1 - logvar, axis=1))
    return recon + kl_weight * kl, kl


@pytest.mark.parametrize("name, hparams, kl_weight", [("ae", {}, None), ("vae", {}, 1.0), ("beta_vae", {"beta": 4.0}, 4.0)])
def test_objective_on_a_tiny_batch(name, hparams, kl_weight):
    model = _tiny(name, **hparams)
    x = np.array([[[[1.0], [0.0]], [[0.0], [1.0]]], [[[0.5], [0.5]], [[1.0], [1.0]]]], np.float32)
    outputs = model(x, training=False)
    terms = {k: float(_np(v)) for k, v in model.objective(x, outputs).items()}
    logits = _np(outputs["logits"])
    if kl_weight is None:
        expected_loss, _ = _objective_by_hand(x, logits)
        assert set(terms) == {"loss", "recon"}
    else:
        expected_loss, expected_kl = _objective_by_hand(x, logits, _np(outputs["mean"]), _np(outputs["logvar"]), kl_weight)
        assert terms["kl"] == pytest.approx(expected_kl, rel=1e-4, abs=1e-6)
    assert terms["loss"] == pytest.approx(expected_loss, rel=1e-5)


def test_every_model_has_a_description_and_float_or_choice_hparams():
    for name, model_class in MODELS.items():
        assert model_class.description, name
        for key, value in model_class.hparams.items():
            assert isinstance(value, float) or value in model_class.hparam_choices[key], (name, key)


def test_unknown_model_and_hparam_are_rejected():
    with pytest.raises(VaebenchError, match="unknown model 'nope'; accepted: ae, vae"):
        get_model_class("nope")
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        _tiny("vae", beta=2.0)


def test_full_model_round_trips_through_keras_format(tmp_path):
    model = _tiny("beta_vae", beta=3.0)
    x = np.random.default_rng(0).random((3, 2, 2, 1)).astype(np.float32)
    before = _np(model(x)["logits"])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.beta == 3.0
    np.testing.assert_allclose(_np(loaded(x)["logits"]), before, rtol=1e-6)
