"""Packed training and the batches behind it: packs form from like cells, a packed cell is the cell trained alone."""

import io
import json
import os
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from rich.console import Console

from conftest import run_in_process, run_jax_script, run_vaebench, write_preset
from fake_data import NoisySquares, Squares
from vaebench.run.batches import batches, can_be_resident
from vaebench.data import get_dataset
from vaebench.data.base import FactorDataset, Sample
from vaebench.grid import Cell, load_preset
from vaebench.models import MODELS, get_model_class
from vaebench.results.layout import HISTORY_FILE, MODEL_FILES, PARAMS_FILE
from vaebench.run.pack_probe import OUT_OF_MEMORY, choose_pack_size, describe_choice
from vaebench.run.packing import drawn_in_program, form_packs
from vaebench.run.plan import make_plan
from vaebench.run.runner import plan_grid, training_packs

HERE = Path(__file__).parent


class PoisonedSquares(FactorDataset):
    """Squares with a third, invisible factor; the one grid point (3, 3, 63) renders as NaN.

    Keeps FactorDataset's own ``sample``, so its batches come from the resident grid, and a cell
    fails at the step its seed first draws the poisoned point: a different step for each seed.
    """

    name = "poisoned_squares"
    shape = (16, 16, 1)
    factor_names = ("x", "y", "hidden")
    factor_sizes = (4, 4, 64)

    def render(self, factors, rng=None):
        images = Squares().render(np.asarray(factors)[:, :2])
        images[np.all(np.asarray(factors) == (3, 3, 63), axis=1)] = np.nan
        return images


def _cell(**changes):
    fields = dict(dataset="poisoned_squares", image_size=None, model="beta_vae", hparams=(("beta", 2.0),), family="mlp",
                  latent_dim=2, seed=0, steps=30, batch_size=16, learning_rate=1e-3, log_every=10)
    return Cell(**{**fields, **changes})


def test_packs_hold_cells_that_differ_only_in_seed_and_numeric_hyperparameters():
    like = [_cell(seed=seed, hparams=(("beta", beta),)) for seed in (0, 1) for beta in (1.0, 4.0)]
    other_size = _cell(latent_dim=4)
    other_mode = [_cell(model="seq_vae", hparams=(("decoder_mode", mode),)) for mode in ("repeat_latent", "output_as_input")]
    packs = form_packs([*like, other_size, *other_mode], size=3)
    assert [[cell.name for cell in pack] for pack in packs] == [
        [cell.name for cell in like[:3]], [like[3].name], [other_size.name], [other_mode[0].name], [other_mode[1].name]]


@pytest.mark.parametrize("size", [4, "auto"])
def test_packing_off_the_jax_backend_says_so_once_and_trains_one_cell_at_a_time(tmp_path, size):
    preset = load_preset("smoke").with_overrides(models=["vae", "beta_vae"], seeds=[0, 1])
    out = io.StringIO()
    packs = training_packs(plan_grid(make_plan(preset), tmp_path / "results"), size, Console(file=out))
    assert out.getvalue().count("packing needs the JAX backend") == 1
    assert sorted(len(pack) for pack in packs) == [1] * 8


def test_resident_batches_are_the_batches_the_dataset_draws_itself():
    for dataset in (PoisonedSquares(), get_dataset("sines")):
        assert can_be_resident(dataset)
        model_class = get_model_class("vae")
        resident = batches(dataset, model_class, 32, seed=7)
        rng = np.random.default_rng(7)
        for _ in range(5):
            np.testing.assert_array_equal(np.asarray(next(resident)[0]), dataset.sample(32, rng).images)


def test_only_datasets_drawn_from_their_factor_grid_alone_are_resident():
    assert not can_be_resident(Squares())  # overrides sample
    assert not can_be_resident(get_dataset("noisy_dsprites", image_size=32))  # not a function of its factors
    assert not can_be_resident(get_dataset("digits"))  # no factor grid
    assert not can_be_resident(get_dataset("dsprites", image_size=32))  # 3 GB as float32: not on a CPU


PACK_SCRIPT = """
import json, sys, warnings
sys.path.insert(0, {tests!r})
from pathlib import Path
import keras, numpy as np, pandas as pd
from fake_data import NoisySquares
from test_packing import PoisonedSquares, _cell
from vaebench.run.batches import batches
from vaebench.models import MODELS, get_model_class
from vaebench.run.packing import drawn_in_program, train_pack
from vaebench.run.train import train_cell
assert keras.backend.backend() == "jax"
out, dataset = Path({out!r}), {dataset}
cells = {cells}
rng = np.random.default_rng(3)
same_batches = all(np.array_equal(np.asarray(next(stream)[0]), dataset.sample(16, rng).images, equal_nan=True)
                   for stream in [batches(dataset, get_model_class("vae"), 16, 3)] for _ in range(5))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("default")
    packed = train_pack(cells, dataset, out / "packed")
    train_pack(cells, dataset, out / "packed again")
alone = [train_cell(cell, dataset, out / "alone" / cell.name) for cell in cells]
z = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
report = {{"same_batches": same_batches, "in_program": drawn_in_program(dataset, get_model_class(cells[0].model)),
           "host_notices": sum("draw their batches on the host" in str(w.message) for w in caught),
           "status": [], "failure": [], "history_close": [], "decoder_close": [], "pack_size": []}}
for cell, p, a in zip(cells, packed, alone):
    report["status"].append([p.status, a.status])
    report["failure"].append([None if f is None else f.to_json() for f in (p.failure, a.failure)])
    report["pack_size"].append(p.pack_size)
    hp, ha = (pd.read_csv(out / kind / cell.name / "history.csv") for kind in ("packed", "alone"))
    report["history_close"].append(list(hp.columns) == list(ha.columns) and hp.shape == ha.shape and np.allclose(hp.values.astype(float), ha.values.astype(float), rtol=1e-4, atol=1e-4))
    if p.status == "done":
        dp, da = (keras.saving.load_model(out / kind / cell.name / "decoder.keras") for kind in ("packed", "alone"))
        report["decoder_close"].append(bool(np.allclose(dp.predict(z, verbose=0), da.predict(z, verbose=0), rtol=1e-4, atol=1e-4)))
print(json.dumps(report))
"""


def _pack_report(tmp_path, dataset: str, seeds_and_betas) -> dict:
    cells = "[" + ", ".join(f"_cell(dataset=dataset.name, seed={seed}, hparams=(('beta', {beta}),))" for seed, beta in seeds_and_betas) + "]"
    return run_jax_script(PACK_SCRIPT.format(tests=str(HERE), out=str(tmp_path), dataset=dataset, cells=cells))


@pytest.mark.slow
def test_a_packed_cell_is_the_cell_trained_alone_and_a_nan_fails_only_its_own_cell(tmp_path):
    """JAX: three cells (different seeds and β) packed, and each alone through ``fit``; one draws the NaN point.
    Their images are looked up inside the compiled program."""
    report = _pack_report(tmp_path, "PoisonedSquares()", ((0, 1.0), (1, 4.0), (2, 2.0)))
    assert report["same_batches"] and report["in_program"] and report["host_notices"] == 0
    assert report["pack_size"] == [3, 3, 3]
    assert [packed for packed, _ in report["status"]] == ["done", "failed", "done"]
    assert all(packed == alone for packed, alone in report["status"])
    packed_failure, alone_failure = report["failure"][1]
    assert packed_failure == alone_failure and packed_failure["step"] % 10 != 0 and "loss became nan" in packed_failure["reason"]
    assert all(report["history_close"]) and report["decoder_close"] == [True, True]


@pytest.mark.slow
def test_a_packed_cell_of_a_noisy_dataset_is_the_cell_trained_alone_and_its_host_drawn_batches_are_named_once(tmp_path):
    """JAX: noise drawn from each cell's own stream cannot come from a grid, so the pack draws on the host, and says so once."""
    report = _pack_report(tmp_path, "NoisySquares()", ((0, 1.0), (1, 4.0)))
    assert report["same_batches"] and not report["in_program"] and report["host_notices"] == 1
    assert report["status"] == [["done", "done"], ["done", "done"]] and report["pack_size"] == [2, 2]
    assert all(report["history_close"]) and report["decoder_close"] == [True, True]


TRANSFER_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
import jax
from test_packing import PoisonedSquares, _cell
from vaebench.run.batches import resident_grid
from vaebench.run.packing import train_pack
dataset = PoisonedSquares()
resident_grid(dataset)  # the grid goes to the device once per process, before any pack
sent, send = [], jax.device_put
def counted(value, *args, **kwargs):
    sent[-1].append([(str(leaf.dtype), list(leaf.shape)) for leaf in jax.tree.leaves(value)])
    return send(value, *args, **kwargs)
jax.device_put = counted
for members in (1, 2, 4):
    sent.append([])
    train_pack([_cell(seed=seed) for seed in (0, 2, 4, 6)[:members]], dataset, Path({out!r}) / str(members))
print(json.dumps(sent))
"""


@pytest.mark.slow
def test_each_compiled_call_receives_one_array_of_grid_positions_whatever_the_pack_size(tmp_path):
    """JAX: 30 steps at 10 per call are 3 transfers, each (steps, members, batch) int32, for packs of 1, 2 and 4."""
    sent = run_jax_script(TRANSFER_SCRIPT.format(tests=str(HERE), out=str(tmp_path)))
    assert sent == [[[["int32", [10, members, 16]]]] * 3 for members in (1, 2, 4)]


def test_only_packs_of_resident_grids_read_by_the_images_alone_are_drawn_in_the_program():
    assert drawn_in_program(PoisonedSquares(), get_model_class("beta_vae"))
    assert not drawn_in_program(PoisonedSquares(), get_model_class("cvae"))  # reads the labels too
    assert not drawn_in_program(NoisySquares(), get_model_class("beta_vae"))  # noise from the cell's stream
    assert not drawn_in_program(PoisonedSquares(), get_model_class("shared_vae"))  # reads a second view too


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_feeds_fit_exactly_the_sample_fields_it_declares(name):
    """Packing trusts ``extra_inputs``: a model whose x is more than the images must say so there, not only in code."""
    model_class = MODELS[name]
    sample = Sample(images=np.zeros((3, 4, 4, 1), np.float32), factors=np.zeros((3, 1)), labels=np.array([0, 2, 1]),
                    second_view=np.ones((3, 4, 4, 1), np.float32))
    x = model_class.inputs_for(sample, num_classes=3)
    expected = [sample.images] + [np.eye(3, dtype=np.float32)[sample.labels] if field == "labels" else getattr(sample, field)
                                  for field in model_class.extra_inputs]
    parts = x if isinstance(x, tuple) else (x,)
    assert len(parts) == len(expected) and all(np.array_equal(part, want) for part, want in zip(parts, expected))


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_a_pack_size_that_is_not_a_number_of_cells_or_auto_is_refused_in_one_line(tmp_path, capsys, value):
    code, _, err = run_in_process(["run", "grid", "--preset", "smoke", "--pack", value, "--results", tmp_path / "r"], capsys)
    assert code == 2 and err.strip() == f"error: bad --pack {value}: expected a number of cells ≥ 1 or auto"
    assert not (tmp_path / "r").exists()


def test_pack_auto_under_ray_is_refused_in_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    code, _, err = run_in_process(["run", "grid", "--preset", "smoke", "--pack", "auto", "--executor", "ray",
                                   "--results", tmp_path / "r"], capsys)
    assert code == 2 and err.strip().startswith("error: --pack auto is for --executor local")
    assert not (tmp_path / "r").exists()


def _fake_rates(rates: dict):
    """A probe that measures ``rates`` (size: images/s or OUT_OF_MEMORY) and records which sizes it was asked for."""
    asked = []

    def rate_of(size):
        asked.append(size)
        return rates[size]

    return rate_of, asked


def test_pack_auto_keeps_the_fastest_size_and_stops_growing_when_a_size_is_no_faster():
    rate_of, asked = _fake_rates({1: 430.0, 4: 1100.0, 16: 1000.0, 64: 5000.0})
    assert choose_pack_size([1, 4, 16, 64], rate_of) == (4, {1: 430.0, 4: 1100.0, 16: 1000.0})
    assert asked == [1, 4, 16]  # 64 is not tried once 16 is slower than 4


def test_pack_auto_stops_growing_at_the_first_size_out_of_memory_and_says_so():
    rate_of, asked = _fake_rates({1: 430.0, 4: 1100.0, 16: 1700.0, 64: OUT_OF_MEMORY})
    size, rates = choose_pack_size([1, 4, 16, 64], rate_of)
    assert (size, asked) == (16, [1, 4, 16, 64])
    assert describe_choice(size, rates) == (
        "--pack auto: 16 (aggregate img/s: 1 → 430, 4 → 1,100, 16 → 1,700, 64 → out of memory)")
    rate_of, asked = _fake_rates({1: OUT_OF_MEMORY, 4: 9000.0})
    assert choose_pack_size([1, 4], rate_of) == (1, {1: OUT_OF_MEMORY}) and asked == [1]
    rate_of, _ = _fake_rates({1: 430.0, 4: OUT_OF_MEMORY})
    assert choose_pack_size([1, 4], rate_of)[0] == 1


@pytest.mark.slow
def test_pack_auto_forced_on_the_cpu_says_what_it_chose_and_trains_the_cells_of_that_explicit_pack(tmp_path):
    """JAX on the CPU: ``--pack auto`` probes packs of 1 and 4 of four like mlp cells, and its cells equal those of
    the same grid run with the explicit ``--pack`` it chose (the probe's training is thrown away)."""
    preset = write_preset(tmp_path / "grid.toml", models=["beta_vae"], families=["mlp"], seeds=[0, 1, 2, 3],
                          steps=20, log_every=10)
    jax_env = {**os.environ, "KERAS_BACKEND": "jax"}

    def run(pack: str, results: Path):
        result = run_vaebench("run", "grid", "--preset", preset, "--pack", pack, "--score-workers", "0",
                              "--no-references", "--results", results, env=jax_env, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    said = re.findall(r"--pack auto: (\d+) \(aggregate img/s: 1 → [\d,]+, 4 → (?:[\d,]+|out of memory)\)",
                      run("auto", tmp_path / "auto"))
    assert len(said) == 1 and said[0] in ("1", "4")
    run(said[0], tmp_path / "explicit")
    names = sorted(str(path.parent.relative_to(tmp_path / "auto")) for path in (tmp_path / "auto").rglob(HISTORY_FILE))
    assert len(names) == 4
    for name in names:
        auto, explicit = tmp_path / "auto" / name, tmp_path / "explicit" / name
        assert (auto / HISTORY_FILE).read_text() == (explicit / HISTORY_FILE).read_text()
        assert json.loads((auto / PARAMS_FILE).read_text())["pack_size"] == int(said[0])
        for part in MODEL_FILES:
            weights = [keras.saving.load_model(kind / part).get_weights() for kind in (auto, explicit)]
            assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_an_unknown_precision_and_bfloat16_off_jax_are_refused_in_one_line(tmp_path):
    for precision, error in (("float16", "bad --precision float16: expected one of float32, tf32, bfloat16"),
                             ("bfloat16", "--precision bfloat16 needs the JAX backend (KERAS_BACKEND=jax); this is tensorflow")):
        result = run_vaebench("run", "grid", "--preset", "smoke", "--precision", precision, "--results", tmp_path / "r",
                              env={**os.environ, "KERAS_BACKEND": "tensorflow"})
        assert result.returncode == 2 and result.stderr.strip() == f"error: {error}"
        assert not (tmp_path / "r").exists()
