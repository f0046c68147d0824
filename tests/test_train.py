"""Training a cell: files, exact steps, determinism, NaN failures, both Keras backends."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import pandas as pd

from conftest import run_jax_script
from fake_data import Squares
from vaebench.grid import Cell
from vaebench.results.records import cell_status
from vaebench.run.train import train_cell

HERE = Path(__file__).parent


def _cell(**changes):
    fields = dict(dataset="squares", image_size=None, model="beta_vae", hparams=(("beta", 2.0),), family="conv",
                  latent_dim=2, seed=0, steps=30, batch_size=16, learning_rate=1e-3, log_every=10)
    return Cell(**{**fields, **changes})


def _weights(cell_dir):
    model = keras.saving.load_model(cell_dir / "encoder.keras")
    return [np.asarray(w) for w in model.get_weights()]


@pytest.mark.slow
def test_train_cell_writes_every_file_and_the_exact_step_count(tmp_path):
    params = train_cell(_cell(steps=25), Squares(), tmp_path / "c")
    assert params.status == "done"
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["decoder.keras", "encoder.keras", "history.csv", "params.json"]
    history = pd.read_csv(tmp_path / "c" / "history.csv")
    assert history["step"].tolist() == [10, 20, 25]
    assert {"loss", "recon", "kl"} <= set(history.columns)
    stored = json.loads((tmp_path / "c" / "params.json").read_text())
    assert stored["environment"]["backend"] == keras.backend.backend()
    assert stored["wall_seconds"] > 0 and stored["hparams"] == {"beta": 2.0}


@pytest.mark.slow
def test_same_seed_gives_same_weights_and_history(tmp_path):
    for run in ("a", "b"):
        train_cell(_cell(), Squares(), tmp_path / run)
    for left, right in zip(_weights(tmp_path / "a"), _weights(tmp_path / "b")):
        np.testing.assert_array_equal(left, right)
    assert (tmp_path / "a" / "history.csv").read_text() == (tmp_path / "b" / "history.csv").read_text()
    train_cell(_cell(seed=1), Squares(), tmp_path / "c")
    assert not np.array_equal(_weights(tmp_path / "a")[0], _weights(tmp_path / "c")[0])


@pytest.mark.slow
def test_non_finite_loss_marks_the_cell_failed_with_step(tmp_path):
    params = train_cell(_cell(steps=40), Squares(nan_after_batches=12), tmp_path / "c")
    assert params.status == "failed"
    assert params.failure.step <= 14 and "loss became nan" in params.failure.reason
    assert cell_status(tmp_path / "c") == "failed"
    assert not (tmp_path / "c" / "encoder.keras").exists()


PRECISION_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
import keras, numpy as np, pandas as pd
from fake_data import Squares
from test_train import _cell, _weights
from vaebench.run.train import train_cell
out, cell = Path({out!r}), _cell(family="mlp")
precisions = [train_cell(cell, Squares(), out / run, precision=run.split()[0]).precision
              for run in ("float32", "bfloat16", "float32 again")]
encoder = keras.saving.load_model(out / "bfloat16" / "encoder.keras")
losses = [pd.read_csv(out / run / "history.csv")["loss"] for run in ("float32", "bfloat16")]
print(json.dumps({{"precisions": precisions, "compute": sorted({{layer.dtype_policy.compute_dtype for layer in encoder.layers if layer.weights}}),
                  "weights": str(encoder.get_weights()[0].dtype), "loss_moved": not losses[0].equals(losses[1]),
                  "loss_close": bool(np.allclose(losses[0], losses[1], rtol=0.1)),
                  "float32_again_same": all(np.array_equal(a, b) for a, b in zip(_weights(out / "float32"), _weights(out / "float32 again")))}}))
"""


@pytest.mark.slow
def test_a_bfloat16_cell_computes_in_bfloat16_records_it_and_float32_stays_as_before(tmp_path):
    """JAX: float32, bfloat16, then float32 again in one process: the third cell is the first, bit for bit."""
    report = run_jax_script(PRECISION_SCRIPT.format(tests=str(HERE), out=str(tmp_path)))
    assert report["precisions"] == ["float32", "bfloat16", "float32"]
    assert (report["compute"], report["weights"]) == (["bfloat16"], "float32")
    assert report["loss_moved"] and report["loss_close"] and report["float32_again_same"]


@pytest.mark.slow
def test_training_replaces_leftovers_of_an_interrupted_run(tmp_path):
    cell_dir = tmp_path / "c"
    cell_dir.mkdir()
    (cell_dir / "history.csv").write_text("step,loss\n10,half-writ")
    train_cell(_cell(steps=10), Squares(), cell_dir)
    assert pd.read_csv(cell_dir / "history.csv")["step"].tolist() == [10]


JAX_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
import keras, numpy as np
from fake_data import Squares
from test_train import _cell, _weights
from vaebench.run.train import train_cell
assert keras.backend.backend() == "jax"
out = Path({out!r})
params = [train_cell(_cell(model=m, hparams=h), Squares(), out / m / r) for m, h in (("ae", ()), ("vae", ()), ("beta_vae", (("beta", 2.0),))) for r in "ab"]
same = all(np.array_equal(x, y) for m in ("ae", "vae", "beta_vae") for x, y in zip(_weights(out / m / "a"), _weights(out / m / "b")))
print(json.dumps({{"status": [p.status for p in params], "backend": params[0].environment["backend"], "same": same}}))
"""


@pytest.mark.slow
def test_core_training_under_the_jax_backend(tmp_path):
    report = run_jax_script(JAX_SCRIPT.format(tests=str(HERE), out=str(tmp_path)))
    assert report == {"status": ["done"] * 6, "backend": "jax", "same": True}


@pytest.mark.slow
def test_tensorboard_logs_go_into_the_cell_directory(tmp_path):
    train_cell(_cell(steps=10), Squares(), tmp_path / "c", tensorboard=True)
    assert any((tmp_path / "c" / "logs").rglob("events.out.tfevents.*"))
