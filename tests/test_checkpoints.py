"""Scores along training: the checkpoint steps, the [checkpoints] table, and the file both training paths write."""

from pathlib import Path

import numpy as np
import pytest

from conftest import run_jax_script, write_preset
from vaebench import checkpoints_frame
from vaebench.checkpoint_plan import (CHECKPOINT_METRICS, CheckpointPlan, DEFAULT_COUNT, DEFAULT_COUNTS,
                                      checkpoint_plan, checkpoint_steps)
from vaebench.data import get_dataset
from vaebench.errors import VaebenchError
from vaebench.grid import Cell, load_preset
from vaebench.metrics import FAST_SETTINGS, METRICS, resolve_settings, score_cell
from vaebench.results.experiments import load_experiments
from vaebench.results.layout import CHECKPOINTS_FILE, HISTORY_FILE, PARAMS_FILE, snapshot_dir
from vaebench.results.records import read_checkpoints, write_checkpoints
from vaebench.run.runner import score, train_cells
from vaebench import scores_by_step_frame

HERE = Path(__file__).parent
#: three checkpoints after step 0, each scored at the fast counts
TINY_PLAN = CheckpointPlan(3, FAST_SETTINGS)


def test_checkpoint_steps_are_step_0_and_geometric_interval_ends_up_to_the_last_step():
    steps = checkpoint_steps(3000, 5, 100)
    assert steps == [0, 100, 200, 500, 1300, 3000]
    ratios = np.diff(np.log(steps[1:]))
    assert ratios.max() < 2 * ratios.min()  # geometric up to the rounding to interval ends
    assert all(step % 100 == 0 for step in steps)
    assert checkpoint_steps(30, 3, 10) == [0, 10, 20, 30]
    assert checkpoint_steps(25, 5, 10) == [0, 10, 20, 25]  # the last step ends a short last interval
    assert checkpoint_steps(3000, 1, 100) == [0, 3000]
    assert checkpoint_steps(3000, 0, 100) == []


def test_the_checkpoints_table_sets_the_count_and_counts_on_top_of_the_metric_settings():
    plan = checkpoint_plan({"count": 2, "heldout": 64}, resolve_settings({"seed": 7, "num_train": 300, "beta_vae_points_eval": 5000}))
    assert plan.count == 2 and plan.settings["heldout"] == 64 and plan.settings["seed"] == 7
    # the checkpoint's own default count, or the final scoring's where that is smaller
    assert plan.settings["num_train"] == 300 and plan.settings["beta_vae_points_eval"] == DEFAULT_COUNTS["beta_vae_points_eval"]
    assert checkpoint_plan(None).count == DEFAULT_COUNT
    assert load_preset("cpu").checkpoint_plan.count == DEFAULT_COUNT


@pytest.mark.parametrize("table, problem", [
    ("count = -1", "bad [checkpoints] in preset file {path}: bad count = -1: expected an integer ≥ 0 (0: no checkpoints)"),
    ("count = true", "bad [checkpoints] in preset file {path}: bad count = True: expected an integer ≥ 0 (0: no checkpoints)"),
    ("every = 3", "bad [checkpoints] in preset file {path}: unknown key 'every'; accepted: count, snapshots, num_train"),
    ("heldout = 0", "bad [checkpoints] in preset file {path}: bad metric setting heldout = 0: expected an integer ≥ 1"),
    ("snapshots = 20", "bad [checkpoints] in preset file {path}: bad snapshots = 20: expected a list of distinct steps ≥ 1"),
    ("snapshots = [20, 20]", "bad [checkpoints] in preset file {path}: bad snapshots = [20, 20]: expected a list of distinct"),
    ("snapshots = [0]", "bad [checkpoints] in preset file {path}: bad snapshots = [0]: expected a list of distinct steps ≥ 1"),
    ("snapshots = [15]", "bad snapshots [15] in preset file {path}: step 15 is not a multiple of log_every = 10"),
])
def test_a_bad_checkpoints_table_is_refused_in_one_line(tmp_path, table, problem):
    path = write_preset(tmp_path / "p.toml", checkpoints=f"[checkpoints]\n{table}\n")
    with pytest.raises(VaebenchError) as error:
        load_preset(str(path))
    assert str(error.value).startswith(problem.format(path=path))


def _cell(**changes):
    fields = dict(dataset="dsprites", image_size=32, model="beta_vae", hparams=(("beta", 4.0),), family="conv",
                  latent_dim=3, seed=0, steps=30, batch_size=16, learning_rate=1e-3, log_every=10)
    return Cell(**{**fields, **changes})


@pytest.mark.slow
def test_a_cell_keeps_its_scores_along_training_and_they_are_its_scores_at_those_counts(tmp_path):
    cell, root = _cell(), tmp_path / "r"
    (root / cell.name).mkdir(parents=True)
    (root / cell.name / CHECKPOINTS_FILE).write_text("step,metric,value\n10,mig,half-writ")  # a killed run's
    train_cells([cell], root, checkpoints=TINY_PLAN)
    train_cells([cell], tmp_path / "plain")
    experiment = load_experiments(root)[0]
    frame = experiment.checkpoints
    keys = {key for metric in CHECKPOINT_METRICS for key in METRICS[metric].keys}
    assert sorted(set(frame["step"])) == [0, 10, 20, 30]
    assert all(set(frame[frame["step"] == step]["metric"]) == keys for step in (0, 10, 20, 30))
    assert np.isfinite(frame["value"]).all()
    bounded = frame[frame["metric"].isin(["mig", "beta_vae_eval", "factor_vae_eval"])]["value"]
    assert bounded.between(0, 1).all()
    recon = frame[frame["metric"] == "recon_bce"].set_index("step")["value"]
    assert recon[30] < recon[0]  # training improved on the untrained network
    assert experiment.record.checkpoints["steps"] == [0, 10, 20, 30]
    assert checkpoints_frame([experiment])[["step", "metric", "value"]].equals(frame)
    assert set(checkpoints_frame([experiment])["name"]) == {cell.name}
    assert experiment.record.checkpoints["settings"]["heldout"] == FAST_SETTINGS["heldout"]

    # the last checkpoint is the final weights scored at the checkpoint counts
    rescored = score_cell(root / cell.name, get_dataset("dsprites", image_size=32), TINY_PLAN.settings,
                          metrics=list(CHECKPOINT_METRICS)).scores
    last = frame[frame["step"] == 30].set_index("metric")["value"]
    for key in keys:
        assert last[key] == pytest.approx(rescored[key], rel=1e-5, abs=1e-6), key

    # scoring along the way does not change training; a cell trained without checkpoints has none
    assert (root / cell.name / HISTORY_FILE).read_text() == (tmp_path / "plain" / cell.name / HISTORY_FILE).read_text()
    plain = load_experiments(tmp_path / "plain")[0]
    assert plain.checkpoints.empty and list(plain.checkpoints.columns) == ["step", "metric", "value"]
    assert plain.record.checkpoints is None
    assert len(checkpoints_frame([experiment, plain])) == len(frame)


@pytest.mark.slow
def test_a_deterministic_encoder_has_no_elbo_along_training(tmp_path):
    cell = _cell(model="ae", hparams=(), steps=10)
    train_cells([cell], tmp_path, checkpoints=TINY_PLAN)
    frame = load_experiments(tmp_path)[0].checkpoints
    assert sorted(set(frame["step"])) == [0, 10]
    assert "recon_bce" in set(frame["metric"]) and not set(frame["metric"]) & set(METRICS["elbo"].keys)


def test_a_corrupt_checkpoints_file_is_named_in_one_line(tmp_path):
    for text in ("", "step,metric\n1,mig\n", "step,metric,value\nten,mig,0.1\n", "step,metric,value\n10,mig,\n",
                 "step,metric,value\n10,a.b,0.5\n"):
        (tmp_path / CHECKPOINTS_FILE).write_text(text)
        with pytest.raises(VaebenchError, match=f"corrupt results file {tmp_path / CHECKPOINTS_FILE}: expected a CSV"):
            read_checkpoints(tmp_path)
    write_checkpoints(tmp_path, [{"step": 0, "metric": "mig", "value": np.float64(0.125)}])
    assert read_checkpoints(tmp_path).to_dict("records") == [{"step": 0, "metric": "mig", "value": 0.125}]


PACK_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
import numpy as np
from test_checkpoints import TINY_PLAN, _cell
from vaebench.data import get_dataset
from vaebench.results.records import read_checkpoints
from vaebench.run.checkpoints import CheckpointScorer
from vaebench.run.packing import train_pack
from vaebench.run.train import train_cell
out, dataset = Path({out!r}), get_dataset("dsprites", image_size=32)
cells = [_cell(seed=seed, hparams=(("beta", beta),), family="mlp") for seed, beta in ((0, 1.0), (1, 4.0))]
train_pack(cells, dataset, out / "packed", checkpoints=[CheckpointScorer(TINY_PLAN, c, dataset, out / "packed" / c.name) for c in cells])
for cell in cells:
    train_cell(cell, dataset, out / "alone" / cell.name, checkpoints=CheckpointScorer(TINY_PLAN, cell, dataset, out / "alone" / cell.name))
report = {{"same_rows": [], "close": [], "steps": []}}
for cell in cells:
    packed, alone = (read_checkpoints(out / kind / cell.name) for kind in ("packed", "alone"))
    report["steps"].append(sorted(set(packed["step"].tolist())))
    report["same_rows"].append(packed[["step", "metric"]].values.tolist() == alone[["step", "metric"]].values.tolist())
    report["close"].append(bool(np.allclose(packed["value"], alone["value"], rtol=1e-3, atol=1e-3)))
print(json.dumps(report))
"""


@pytest.mark.slow
def test_a_packed_cell_gets_the_checkpoints_of_the_cell_trained_alone(tmp_path):
    report = run_jax_script(PACK_SCRIPT.format(tests=str(HERE), out=str(tmp_path)))
    assert report == {"same_rows": [True, True], "close": [True, True], "steps": [[0, 10, 20, 30]] * 2}


@pytest.mark.slow
def test_a_snapshot_is_scored_as_the_cell_trained_to_that_step_would_be(tmp_path):
    """The convergence ladder's premise: a cell's full-protocol scores at a snapshot step are those of the same cell
    trained for that many steps alone (same batches, same named scoring streams), and a rerun keeps no stale snapshot."""
    ladder, short = _cell(steps=30), _cell(steps=20)
    plan = CheckpointPlan(0, FAST_SETTINGS, snapshots=(10, 20, 40))  # 40 lies past the cell's last step: ignored
    stale = snapshot_dir(tmp_path / "ladder" / ladder.name, 10)
    stale.mkdir(parents=True)
    (stale / "metrics.json").write_text("{}")  # a killed run's leftovers, before params.json marked the cell
    train_cells([ladder], tmp_path / "ladder", checkpoints=plan)
    train_cells([short], tmp_path / "short")
    assert sorted(path.name for path in (tmp_path / "ladder" / ladder.name / "snapshots").iterdir()) == ["step10", "step20"]
    assert load_experiments(tmp_path / "ladder")[0].record.checkpoints["snapshots"] == [10, 20]
    metrics = ["reconstruction", "mig", "beta_vae"]
    score(ladder, tmp_path / "ladder" / ladder.name, FAST_SETTINGS, metrics)
    score(short, tmp_path / "short" / short.name, FAST_SETTINGS, metrics)

    frame = scores_by_step_frame(load_experiments(tmp_path / "ladder")).set_index(["step", "metric"])["value"]
    alone = load_experiments(tmp_path / "short")[0].scores
    assert sorted(set(frame.index.get_level_values("step"))) == [10, 20, 30]
    for key in ("recon_bce", "mig", "beta_vae_eval"):
        assert frame[(20, key)] == pytest.approx(alone[key], rel=1e-5, abs=1e-6), key
    assert frame[(30, "recon_bce")] < frame[(10, "recon_bce")]
    assert not (tmp_path / "ladder" / ladder.name / "snapshots" / "step10" / PARAMS_FILE).exists()  # never a cell
    assert [e.name for e in load_experiments(tmp_path / "ladder")] == [ladder.name]
