"""Which cells the regularisation-strength charts plot, and at what strength."""

from vaebench.site.sweeps import SweepPoint, sweep_points


def test_the_vae_is_the_beta_vae_at_beta_one_and_unswept_models_are_left_out():
    cells = [{"name": "vae-s0", "model": "vae", "hparams": {}},
             {"name": "bv4", "model": "beta_vae", "hparams": {"beta": 4.0}},
             {"name": "bv16", "model": "beta_vae", "hparams": {"beta": 16}},
             {"name": "tc6", "model": "beta_tcvae", "hparams": {"beta": 6.0}},
             {"name": "dip", "model": "dip_vae_ii", "hparams": {"lambda_d": 10.0, "lambda_od": 10.0}}]
    assert sweep_points(cells) == {"vae-s0": SweepPoint("β-VAE: β", "beta_vae", 1.0),
                                   "bv4": SweepPoint("β-VAE: β", "beta_vae", 4.0),
                                   "bv16": SweepPoint("β-VAE: β", "beta_vae", 16.0)}
    assert sweep_points([c for c in cells if c["model"] != "beta_vae"]) == {}  # a VAE alone sweeps nothing


def test_a_sequence_model_s_decoder_modes_are_choices_not_a_strength():
    # a site of a sequence study crashed here: "could not convert string to float: 'output_as_input'"
    cells = [{"name": f"{mode}-s0", "model": "seq_vae", "hparams": {"decoder_mode": mode}}
             for mode in ("repeat_latent", "output_as_input")]
    assert sweep_points(cells) == {}
