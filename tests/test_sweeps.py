"""Which cells the regularisation-strength charts plot, and at what strength."""

from vaebench.results.records import CellStatus, Params
from vaebench.site.sweeps import SweepPoint, sweep_points


def record(name: str, model: str, hparams: dict) -> Params:
    return Params(name, CellStatus.DONE, hparams, model=model)


def test_the_vae_is_the_beta_vae_at_beta_one_and_unswept_models_are_left_out():
    cells = [record("vae-s0", "vae", {}), record("bv4", "beta_vae", {"beta": 4.0}), record("bv16", "beta_vae", {"beta": 16}),
             record("tc6", "beta_tcvae", {"beta": 6.0}), record("dip", "dip_vae_ii", {"lambda_d": 10.0, "lambda_od": 10.0})]
    assert sweep_points(cells) == {"vae-s0": SweepPoint("β-VAE: β", "beta_vae", 1.0),
                                   "bv4": SweepPoint("β-VAE: β", "beta_vae", 4.0),
                                   "bv16": SweepPoint("β-VAE: β", "beta_vae", 16.0)}
    assert sweep_points([c for c in cells if c.model != "beta_vae"]) == {}  # a VAE alone sweeps nothing


def test_a_sequence_model_s_decoder_modes_are_choices_not_a_strength():
    # a site of a sequence study crashed here: "could not convert string to float: 'output_as_input'"
    cells = [record(f"{mode}-s0", "seq_vae", {"decoder_mode": mode}) for mode in ("repeat_latent", "output_as_input")]
    assert sweep_points(cells) == {}
