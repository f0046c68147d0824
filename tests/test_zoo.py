"""The literature models beyond the β-VAE: losses by hand, schedules, training on both backends, saving."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from fake_data import Squares
from vaebench.models import get_model_class
from vaebench.models.dip_vae import covariance, dip_penalty

HERE = Path(__file__).parent
ZOO = ("dip_vae_i", "dip_vae_ii", "annealed_vae")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_dip_penalty_by_hand():
    means = np.array([[1.0, 0.0], [-1.0, 2.0], [0.0, -2.0]], np.float32)
    cov = np.cov(means, rowvar=False, bias=True)
    np.testing.assert_allclose(_np(covariance(means)), cov, rtol=1e-6)
    expected = 3.0 * 2 * cov[0, 1] ** 2 + 5.0 * ((cov[0, 0] - 1) ** 2 + (cov[1, 1] - 1) ** 2)
    assert float(_np(dip_penalty(covariance(means), 3.0, 5.0))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["dip_vae_i", "dip_vae_ii"])
def test_dip_objective_adds_the_penalty_to_the_vae_loss(name):
    model = get_model_class(name).create("mlp", (2, 2, 1), 2, seed=0, lambda_od=2.0, lambda_d=3.0)
    x = np.random.default_rng(0).random((5, 2, 2, 1)).astype(np.float32)
    outputs = model(x, training=False)
    terms = {k: float(_np(v)) for k, v in model.objective(x, outputs).items()}
    mean, logvar = _np(outputs["mean"]), _np(outputs["logvar"])
    cov = np.cov(mean, rowvar=False, bias=True)
    if name == "dip_vae_ii":
        cov = cov + np.diag(np.exp(logvar).mean(axis=0))
    penalty = 2.0 * (cov[0, 1] ** 2 * 2) + 3.0 * np.sum((np.diag(cov) - 1) ** 2)
    assert terms["dip"] == pytest.approx(penalty, rel=1e-4, abs=1e-6)
    assert terms["loss"] == pytest.approx(terms["recon"] + terms["kl"] + penalty, rel=1e-5)


def test_annealed_capacity_rises_linearly_then_holds():
    model = get_model_class("annealed_vae").create("mlp", (2, 2, 1), 2, seed=0, c_max=10.0, anneal_steps=4.0, gamma=2.0)
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((8, 2, 2, 1)).astype(np.float32)
    assert float(_np(model.capacity())) == 0.0
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    assert float(_np(model.capacity())) == pytest.approx(5.0)
    model.fit(x, batch_size=8, epochs=4, verbose=0)
    assert float(_np(model.capacity())) == pytest.approx(10.0)
    outputs = model(x, training=False)
    terms = {k: float(_np(v)) for k, v in model.objective(x, outputs).items()}
    assert terms["loss"] == pytest.approx(terms["recon"] + 2.0 * abs(terms["kl"] - 10.0), rel=1e-5)


TRAIN_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import keras, numpy as np
from fake_data import Squares
from vaebench.models import get_model_class
report = {{}}
for name in {names!r}:
    model = get_model_class(name).create("conv", (16, 16, 1), 3, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = Squares()
    x = data.render(data.sample_factors(256, np.random.default_rng(0)))
    history = model.fit(x, batch_size=32, epochs=3, verbose=0).history
    path = {out!r} + "/" + name + ".keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    same = np.allclose(keras.ops.convert_to_numpy(model(x[:8])["logits"]), keras.ops.convert_to_numpy(loaded(x[:8])["logits"]), atol=1e-5)
    report[name] = {{"finite": bool(np.isfinite(history["loss"]).all()), "falls": history["loss"][-1] < history["loss"][0], "same": bool(same)}}
    if name == "annealed_vae":  # 3 epochs of 8 steps: the step counter must advance on every backend
        report[name]["capacity"] = round(float(keras.ops.convert_to_numpy(model.capacity())), 6)
print(json.dumps({{"backend": keras.backend.backend(), "models": report}}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_literature_models_train_and_round_trip_on_both_backends(backend, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax")
    script = TRAIN_SCRIPT.format(tests=str(HERE), names=list(ZOO), out=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, "KERAS_BACKEND": backend},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    expected = {name: {"finite": True, "falls": True, "same": True} for name in ZOO}
    expected["annealed_vae"]["capacity"] = round(25.0 * 24 / 100_000, 6)
    assert report["models"] == expected
