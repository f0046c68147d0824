"""Display names: every model and hyperparameter of the registry has one, and config keys never show."""

from vaebench.display import SYMBOLS, TITLES, cell_title, model_name
from vaebench.models import MODELS
from vaebench.results.records import CellStatus, Params


def test_every_registered_model_and_hyperparameter_has_a_display_name():
    assert set(TITLES) == set(MODELS)
    assert {key for model in MODELS.values() for key in model.hparams} <= set(SYMBOLS)


def test_models_are_named_as_the_papers_name_them():
    assert model_name("beta_vae", {"beta": 16.0}) == "β-VAE (β = 16)"
    assert model_name("dip_vae_ii", {"lambda_od": 10.0, "lambda_d": 10.0}) == "DIP-VAE-II (λ = 10)"
    assert model_name("dip_vae_i", {"lambda_od": 10.0, "lambda_d": 100.0}) == "DIP-VAE-I (λ_d = 100, λ_od = 10)"
    assert model_name("vae", {}) == "VAE" and model_name("from_a_newer_version", {}) == "from_a_newer_version"
    record = Params("dsprites32/beta_tcvae-beta6/conv/z4/s2", CellStatus.DONE, {"beta": 6}, model="beta_tcvae",
                    latent_dim=4, seed=2)
    assert cell_title(record) == "β-TCVAE (β = 6), z = 4, seed 2"
