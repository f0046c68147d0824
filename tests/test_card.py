"""The model card: written with every trained cell, read by scoring instead of the networks' shapes."""

import dataclasses

import numpy as np
import pytest

from fake_data import Squares
from vaebench.grid import Cell
from vaebench.metrics import FAST_SETTINGS, score_cell
from vaebench.models import get_model_class, model_card
from vaebench.results.files import read_json, save_keras, write_json
from vaebench.results.layout import PARAMS_FILE
from vaebench.results.records import CellStatus, Params
from vaebench.run.train import train_cell


@pytest.mark.slow
def test_a_trained_cell_stores_its_card(tmp_path):
    cell = Cell(dataset="squares", image_size=None, model="beta_vae", hparams=(("beta", 2.0),), family="conv",
                latent_dim=2, seed=0, steps=2, batch_size=8, learning_rate=1e-3, log_every=2)
    train_cell(cell, Squares(), tmp_path / "c")
    card = read_json(tmp_path / "c" / PARAMS_FILE)["card"]
    assert card == {"model": "beta_vae", "data_kind": "images", "reads_labels": False, "gaussian": True,
                    "networks": ["encoder", "decoder"], "hparams": {"beta": 2.0},
                    "likelihood": {"kind": "bernoulli"}}
    assert {f"{name}.keras" for name in card["networks"]} <= {p.name for p in (tmp_path / "c").iterdir()}


def _params(model: str, **stored) -> Params:
    return Params(f"squares/{model}/conv/z2/s0", CellStatus.DONE, model=model, **stored)


def test_cells_without_a_card_get_their_model_class_card():
    assert model_card(_params("cvae")).reads_labels is True
    branched = model_card(_params("branched_vae"))  # needs labels to train, its networks do not read them
    assert branched.networks == ("encoder", "decoder", "classifier") and branched.reads_labels is False
    assert model_card(_params("seq_cvae")).reads_labels is True
    assert model_card(_params("ae")).gaussian is False
    stored = dataclasses.replace(get_model_class("vae").card("vae", {}), gaussian=False)
    assert model_card(_params("vae", card=stored)) is stored


def _save(model, cell_dir, params):
    """A finished cell as training leaves it: its networks, then a valid params.json (status, cell name)."""
    for name, network in model.networks().items():
        save_keras(network, cell_dir / f"{name}.keras")
    cell_name = f"squares/{params['model']}/conv/z2/s0"
    write_json(cell_dir / PARAMS_FILE, {"status": "done", **params, "name": cell_name})
    return cell_dir


def test_a_conditional_cell_is_scored_with_its_labels(tmp_path):
    dataset = Squares()
    model = get_model_class("cvae").create("conv", dataset.shape, 2, num_classes=dataset.num_classes)
    for folder, params in (("old", {"model": "cvae", "hparams": {}}),  # results from before cards existed
                           ("new", {"model": "cvae", "hparams": {}, "card": get_model_class("cvae").card("cvae", {}).to_json()})):
        cell_dir = _save(model, tmp_path / folder, params)
        scores = score_cell(cell_dir, dataset, FAST_SETTINGS, metrics=["reconstruction", "elbo", "label_probe", "mig"]).scores
        assert all(isinstance(scores[key], float) and np.isfinite(scores[key])
                   for key in ("recon_bce", "elbo", "iwae_log_px", "label_from_z", "mig")), scores


def test_scoring_follows_the_card_not_the_network_shapes(tmp_path):
    dataset = Squares()
    model = get_model_class("vae").create("conv", dataset.shape, 2)  # a Gaussian encoder: two outputs
    card = {**get_model_class("vae").card("vae", {}).to_json(), "gaussian": False}
    cell_dir = _save(model, tmp_path, {"model": "vae", "hparams": {}, "card": card})
    scores = score_cell(cell_dir, dataset, FAST_SETTINGS, metrics=["elbo", "classifier"]).scores
    assert scores["elbo"] == "n/a: deterministic encoder"
    assert scores["classifier_accuracy"] == "n/a: no classifier branch"
