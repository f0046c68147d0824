"""Presets are data; the grid they expand to has stable, readable cell names."""

import pytest

from vaebench.errors import VaebenchError
from vaebench.grid import Cell, load_preset
from vaebench.preset_files import preset_names


def test_shipped_presets_load_and_expand():
    assert {"smoke", "cpu", "paper"} <= set(preset_names())
    for name in preset_names():
        preset = load_preset(name)
        cells = preset.cells()
        assert cells and len({cell.name for cell in cells}) == len(cells), name


def test_smoke_grid_names():
    names = [cell.name for cell in load_preset("smoke").cells()]
    assert "dsprites32/beta_vae-beta4/conv/z4/s0" in names
    assert "dsprites32/ae/conv/z2/s0" in names


def test_sweep_expands_every_value():
    preset = load_preset("paper")
    betas = sorted({dict(c.hparams)["beta"] for c in preset.cells() if c.model == "beta_vae"})
    assert betas == [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]


def test_cell_params_round_trip():
    cell = load_preset("smoke").cells()[0]
    assert Cell.from_params(cell.to_params()) == cell


def test_overrides_replace_and_validate():
    preset = load_preset("smoke").with_overrides(models=["vae"], latent_dims=[3], seeds=[1, 2], steps=7)
    cells = preset.cells()
    assert [c.name for c in cells] == ["dsprites32/vae/conv/z3/s1", "dsprites32/vae/conv/z3/s2"]
    assert all(c.steps == 7 for c in cells)
    # a model absent from the preset runs with its default hyperparameters
    beta = load_preset("smoke").with_overrides(models=["beta_vae"]).cells()[0]
    assert dict(beta.hparams) == {"beta": 4.0}


@pytest.mark.parametrize("overrides, message", [
    ({"latent_dims": [0]}, "bad latent dims"),
    ({"steps": 0}, "bad steps"),
    ({"steps": -5}, "bad steps"),
    ({"batch_size": 0}, "bad batch size"),
    ({"seeds": [-1]}, "bad seeds"),
])
def test_bad_numbers_are_rejected(overrides, message):
    with pytest.raises(VaebenchError, match=message):
        load_preset("smoke").with_overrides(**overrides)


def test_unknown_names_are_rejected():
    with pytest.raises(VaebenchError, match="unknown preset 'huge'; accepted: cpu, ladder, paper, sequences, smoke, study, tables, two_views or a path"):
        load_preset("huge")
    with pytest.raises(VaebenchError, match="unknown model 'gan'"):
        load_preset("smoke").with_overrides(models=["gan"]).cells()
    with pytest.raises(VaebenchError, match="unknown encoder/decoder family 'resnet'"):
        load_preset("smoke").with_overrides(families=["resnet"]).cells()


@pytest.mark.parametrize("text, message", [
    ("dataset = [", "malformed preset file"),
    ('dataset = "dsprites"', "missing key 'models'"),
    ('dataset = "dsprites"\nmodels=["vae"]\nfamilies=["conv"]\nlatent_dims=[2]\nseeds=[0]\nsteps="many"\nbatch_size=4\nlearning_rate=0.1\nlog_every=1',
     "'steps' has the wrong type"),
    ('dataset = "dsprites"\nmodels=[3]\nfamilies=["conv"]\nlatent_dims=[2]\nseeds=[0]\nsteps=1\nbatch_size=4\nlearning_rate=0.1\nlog_every=1',
     "each entry of 'models'"),
])
def test_malformed_preset_files(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(VaebenchError, match=message):
        load_preset(str(path))


def test_missing_preset_file(tmp_path):
    with pytest.raises(VaebenchError, match="cannot read preset file"):
        load_preset(str(tmp_path / "absent.toml"))


def test_paper_preset_has_every_model_and_the_tied_dip_sweeps():
    from vaebench.models import MODELS

    cells = load_preset("paper").cells()
    assert {c.model for c in cells} == set(MODELS)
    dip_i = sorted({(dict(c.hparams)["lambda_od"], dict(c.hparams)["lambda_d"]) for c in cells if c.model == "dip_vae_i"})
    assert dip_i == [(od, 10 * od) for od in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)]
    modes = {dict(c.hparams)["decoder_mode"] for c in cells if c.model == "seq_vae"}
    assert modes == {"repeat_latent", "concat_output_latent", "output_as_input"}
    assert {c.dataset for c in cells if c.model.startswith("seq_")} == {"sines"}
    assert len({c.name for c in cells}) == len(cells)


def test_string_hyperparameters_name_cells_and_are_validated(tmp_path):
    cell = load_preset("smoke").with_overrides(models=["seq_vae"]).cells()[0]
    assert cell.name == "sines/seq_vae-repeat_latent/rnn/z2/s0"
    assert Cell.from_params(cell.to_params()) == cell
    bad = tmp_path / "bad.toml"
    bad.write_text(load_preset_text("smoke").replace('models = ["ae", "vae", { name = "beta_vae", beta = 4.0 }]',
                                                     'models = [{ name = "seq_vae", decoder_mode = "lstm" }]'))
    with pytest.raises(VaebenchError, match="unknown decoder_mode 'lstm' for model seq_vae; accepted: repeat_latent, concat_output_latent, output_as_input"):
        load_preset(str(bad)).cells()
    bad.write_text(load_preset_text("smoke").replace('beta = 4.0', 'beta = "big"'))
    with pytest.raises(VaebenchError, match="bad beta 'big' for model beta_vae: expected a number"):
        load_preset(str(bad)).cells()


def load_preset_text(name: str) -> str:
    from vaebench.preset_files import PRESET_DIR

    return (PRESET_DIR / f"{name}.toml").read_text()


def test_the_designed_study_is_three_objectives_at_three_strengths_two_latent_sizes_five_seeds_one_protocol():
    study, cpu = load_preset("study"), load_preset("cpu")
    cells = study.cells()
    strengths = {}
    for cell in cells:
        hparams = dict(cell.hparams)
        objective = "beta_vae" if cell.model in ("vae", "beta_vae") else cell.model
        strengths.setdefault(objective, set()).add(hparams.get("beta", hparams.get("lambda_od", 1.0)))
        if cell.model == "dip_vae_ii":
            assert hparams["lambda_d"] == hparams["lambda_od"]
    assert {k: sorted(v) for k, v in strengths.items()} == {"beta_vae": [1.0, 4.0, 16.0], "beta_tcvae": [2.0, 6.0, 10.0],
                                                           "dip_vae_ii": [1.0, 5.0, 20.0]}
    assert sorted({c.latent_dim for c in cells}) == [4, 10] and sorted({c.seed for c in cells}) == [0, 1, 2, 3, 4]
    assert len(cells) == 90 and (study.image_size, study.steps) == (64, 3000)
    assert study.metric_settings == cpu.metric_settings  # the published grid's protocol


@pytest.mark.parametrize("name, datasets, models", [
    ("tables", {"labour", "wine"}, {"ae", "vae", "beta_vae", "cvae", "branched_vae"}),
    ("two_views", {"dsprites_outline", "dsprites"}, {"shared_vae", "vae"}),
    ("sequences", {"sines"}, {"seq_ae", "seq_vae", "seq_cvae"}),
])
def test_each_use_case_study_crosses_its_models_with_two_latent_sizes_and_three_seeds_on_its_data(name, datasets, models):
    preset = load_preset(name)
    cells = preset.cells()
    assert {c.dataset for c in cells} == datasets and {c.model for c in cells} == models
    settings = {(c.dataset, c.model, c.hparams) for c in cells}
    for setting in settings:  # every setting at every latent size and seed: the seed spread is part of the answer
        assert sorted((c.latent_dim, c.seed) for c in cells if (c.dataset, c.model, c.hparams) == setting) == \
            sorted((z, s) for z in preset.latent_dims for s in preset.seeds)
    assert len(preset.latent_dims) >= 2 and len(preset.seeds) >= 3
    if name == "two_views":  # the plain VAE sees the shared-latent VAE's first view, at its size
        assert {(c.dataset, c.image_size) for c in cells} == {("dsprites_outline", 32), ("dsprites", 32)}
    if name == "sequences":  # each objective with each of the three decoder modes
        assert {(c.model, dict(c.hparams)["decoder_mode"]) for c in cells} == {
            (model, mode) for model in models for mode in ("repeat_latent", "concat_output_latent", "output_as_input")}


def test_a_run_expands_its_preset_once_into_one_immutable_plan_that_its_executors_read(tmp_path, monkeypatch):
    import dataclasses

    from vaebench.grid import Preset
    from vaebench.run.plan import make_plan
    from vaebench.run.runner import plan_grid
    from vaebench.run.shards import shard_cells

    preset = load_preset("smoke")
    expansions = []
    expand = Preset.cells
    monkeypatch.setattr(Preset, "cells", lambda self: expansions.append(self) or expand(self))
    plan = make_plan(preset, shard=(1, 2))
    status = plan_grid(plan, tmp_path / "results")
    assert len(expansions) == 1
    assert plan.cells == tuple(shard_cells(list(plan.grid), 1, 2)) == status.cells
    assert plan.metric_settings is preset.metric_settings and plan.checkpoints is preset.checkpoint_plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.cells = ()


def test_the_data_path_help_names_every_file_dataset_of_the_registry():
    from vaebench.cli import DATA_PATH_HELP
    from vaebench.data import DATASETS

    assert all(name in DATA_PATH_HELP for name, entry in DATASETS.items() if entry.from_file)
    assert "mnist_inverted" in DATA_PATH_HELP and "dsprites_outline" not in DATA_PATH_HELP
