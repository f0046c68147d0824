"""The command line as a user meets it: the smoke grid, resume after kill -9, and bad input."""

import json
import signal
import subprocess
import time

import keras
import pytest

from conftest import NO_CHECKPOINTS, VAEBENCH, metrics_table, run_in_process, run_vaebench, write_preset
from test_reliability import results_digest
from vaebench import load_experiments
from vaebench.grid import load_preset
from vaebench.models import MODELS
from vaebench.preset_files import PRESET_DIR
from vaebench.results.files import write_json
from vaebench.results.layout import PICTURES_DIR, PICTURES_FILE
from vaebench.results.records import record_cells


@pytest.mark.slow
def test_smoke_grid_trains_and_scores_every_cell(smoke_results):
    cells = load_preset("smoke").cells()
    experiments = load_experiments(smoke_results)
    assert sorted(e.name for e in experiments) == sorted(c.name for c in cells)
    for experiment in experiments:
        assert experiment.status == "done"
        assert experiment.metrics is not None and experiment.scores, experiment.name
        assert experiment.history["step"].iloc[-1] == experiment.record.steps


@pytest.mark.slow
def test_rerun_trains_nothing_and_list_shows_the_grid(smoke_results):
    before = results_digest(smoke_results)
    rerun = run_vaebench("run", "grid", "--preset", "smoke", "--results", smoke_results)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "0 to train" in rerun.stdout
    assert results_digest(smoke_results) == before
    listing = run_vaebench("list", "--results", smoke_results)
    assert listing.returncode == 0
    assert "dsprites32/beta_vae-beta4/conv/z4/s0" in listing.stdout
    assert f"{len(load_preset('smoke').cells())} done, 0 failed, 0 pending" in listing.stdout


@pytest.mark.slow
def test_kill_minus_nine_then_resume_finishes_without_retraining(tmp_path):
    results = tmp_path / "results"
    preset = write_preset(tmp_path / "p.toml")  # 30 steps: the kill needs one finished cell, not a trained one
    # two cells: the one finished before the kill, kept, and the one it interrupted, trained on resume
    args = [*VAEBENCH, "run", "grid", "--preset", str(preset), "--latent-dims", "2,3", "--no-references",
            "--results", str(results)]
    first_params = results / "dsprites32/vae/conv/z2/s0/params.json"
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not first_params.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert first_params.exists(), "the first cell never finished"
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = json.loads(first_params.read_text())["finished_at"]

    resumed = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "1 already trained, 1 to train" in resumed.stdout
    assert json.loads(first_params.read_text())["finished_at"] == finished_before
    for experiment in load_experiments(results):
        assert experiment.metrics.scores
        keras.saving.load_model(experiment.path / "encoder.keras")
    assert not [p for p in results.rglob("*") if ".tmp" in p.name]


@pytest.fixture
def populated(tmp_path):
    """A results dir with content that bad commands must leave untouched."""
    root = tmp_path / "results"
    record_cells(root, {"x/vae/conv/z2/s0": {"steps": 1}})
    write_json(root / "x/vae/conv/z2/s0/params.json", {"name": "x/vae/conv/z2/s0", "status": "done", "hparams": {}})
    return root


BAD_COMMANDS = [
    (["run", "grid", "--preset", "huge"], "unknown preset 'huge'; accepted: cpu, ladder, paper, sequences, smoke, study, tables, two_views or a path"),
    (["run", "grid", "--models", "vae,gan"], "unknown model 'gan'; accepted: ae, vae, beta_vae"),
    (["run", "grid", "--dataset", "cifar"], "unknown dataset 'cifar'; accepted:"),
    (["run", "grid", "--latent-dims", "0"], "bad latent dims [0]"),
    (["run", "grid", "--latent-dims", "two"], "bad --latent-dims 'two'"),
    (["run", "grid", "--steps", "0"], "bad steps [0]"),
    (["run", "grid", "--steps", "-3"], "bad steps [-3]"),
    (["run", "grid", "--steps", "many"], "Invalid value for '--steps'"),
    (["run", "grid", "--batch-size", "0"], "bad batch size [0]"),
    (["run", "grid", "--families", "resnet"], "unknown encoder/decoder family 'resnet'"),
    (["run", "grid", "--models", "seq_vae", "--dataset", "dsprites"], "model seq_vae trains on sequences, which dataset 'dsprites' does not provide; accepted for it: sines"),
    (["run", "grid", "--models", "shared_vae", "--dataset", "sines"], "model shared_vae trains on two views"),
    (["run", "grid", "--models", "seq_ae", "--families", "conv"], "model seq_ae cannot use the conv family; accepted for it: rnn"),
    (["run", "grid", "--shard", "4/3"], "bad --shard '4/3': expected K/N with 1 ≤ K ≤ N"),
    (["run", "grid", "--executor", "slurm"], "unknown executor 'slurm'; accepted: local, ray"),
    (["run", "grid", "--address", "auto"], "--address needs --executor ray"),
    (["run", "grid", "--executor", "ray", "--cpus-per-cell", "0"], "bad Ray resources"),
    (["run", "grid", "--seeds=-1"], "bad seeds [-1]"),
    (["run", "grid", "--seeds", "4294967296"], "bad seeds [4294967296] in command line: expected integers from 0 to 4,294,967,295"),
    (["run", "grid", "--seeds", "0,0"], "two cells are both named dsprites32/ae/conv/z2/s0"),
    (["run", "grid", "--latent-dims", "100000"], "bad latent dims [100000] in command line: expected integers from 1 to 1,024"),
    (["run", "grid", "--steps", "1000000000"], "bad steps [1000000000] in command line: expected integers from 1 to 100,000,000"),
    (["run", "grid", "--batch-size", "1000000000"], "bad batch size [1000000000] in command line: expected integers from 1 to 65,536"),
    (["run", "grid", "--data-path", "{missing}"], "--data-path only applies to file datasets (mnist_inverted, dsprites_npz, mnist, fashion_mnist, csv); this grid uses built-in ones only: dsprites"),
    (["list", "--results", "{missing}"], "does not exist"),
    (["build-site", "--results", "{missing}"], ""),
]


@pytest.mark.parametrize("argv, message", BAD_COMMANDS)
def test_bad_input_is_one_line_exit_2_and_touches_nothing(argv, message, populated, tmp_path, capsys):
    before = results_digest(populated)
    argv = [a.format(missing=tmp_path / "missing") for a in argv]
    if argv[:2] == ["run", "grid"]:
        argv += ["--results", str(populated)]
    code, out, err = run_in_process(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0]
    assert "Traceback" not in out + err
    assert results_digest(populated) == before


def test_malformed_preset_file_and_unwritable_results(tmp_path, capsys):
    preset = tmp_path / "bad.toml"
    preset.write_text("steps = = 3")
    code, _, err = run_in_process(["run", "grid", "--preset", preset, "--results", tmp_path / "r"], capsys)
    assert code == 2 and "malformed preset file" in err and len(err.strip().splitlines()) == 1
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_in_process(["run", "grid", "--results", blocker / "results"], capsys)
    assert code == 2 and "cannot be written" in err
    assert blocker.read_text() == "x"


def test_conflicting_settings_in_an_existing_results_dir(tmp_path, capsys):
    root = tmp_path / "results"
    cell = load_preset("smoke").cells()[0]
    record_cells(root, {cell.name: {**cell.to_params(), "steps": 999}})
    before = results_digest(root)
    code, _, err = run_in_process(["run", "grid", "--results", root], capsys)
    assert code == 2 and "already holds cell" in err and "(steps)" in err
    assert results_digest(root) == before


@pytest.mark.parametrize("keys, size", [({"latent_dims": list(range(1, 102)), "seeds": list(range(100))}, "10,100 cells"),
                                        ({"seeds": list(range(100)), "steps": 100_000_000}, "100 cells")])
def test_an_absurd_grid_is_refused_in_one_line_unless_confirmed(tmp_path, capsys, keys, size):
    """Too many cells, or too many estimated training hours: one line naming both, and no results dir."""
    from vaebench.run.grid_size import MAX_CELLS, MAX_HOURS, check_grid_size, training_hours

    preset = write_preset(tmp_path / "p.toml", families=["mlp"], **keys)
    results = tmp_path / "r"
    code, _, err = run_in_process(["run", "grid", "--preset", preset, "--results", results], capsys)
    assert code == 2 and err.count("\n") == 1 and size in err and "hours" in err and "--large-grid" in err, err
    assert not results.exists()
    cells = load_preset(str(preset)).cells()
    assert len(cells) > MAX_CELLS or training_hours(cells) > MAX_HOURS
    check_grid_size(load_preset("paper").cells())  # the shipped grids stay within the bounds


def test_a_grid_json_naming_a_model_vaebench_lacks_is_refused_before_a_run_adds_to_it(tmp_path, capsys):
    root = tmp_path / "results"
    cell = load_preset("smoke").cells()[0]
    record_cells(root, {cell.name.replace(cell.model, "no_such_model", 1): {**cell.to_params(), "model": "no_such_model"}})
    before = results_digest(root)
    code, _, err = run_in_process(["run", "grid", "--results", root], capsys)
    assert code == 2 and err.count("\n") == 1 and "'no_such_model'" in err and "grid.json" in err, err
    assert results_digest(root) == before


@pytest.mark.slow
def test_corrupt_params_file_is_reported_not_crashed_on(smoke_results, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(smoke_results, copy)
    victim = next(copy.rglob("params.json"))
    victim.write_text("{truncated")
    code, _, err = run_in_process(["list", "--results", copy], capsys)
    assert code == 2 and "corrupt results file" in err and str(victim) in err
    assert victim.read_text() == "{truncated"


@pytest.mark.slow
def test_rescoring_a_results_dir_without_its_weights_is_one_line_and_changes_nothing(smoke_results, tmp_path, capsys):
    import shutil

    published = tmp_path / "published"
    shutil.copytree(smoke_results, published)
    for weights in published.rglob("*.keras"):
        weights.unlink()
    before = results_digest(published)
    code, out, err = run_in_process(["evaluate", "--results", published, "--metrics", "mig", "--force"], capsys)
    assert code == 2 and "Traceback" not in out + err
    assert err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "has no encoder.keras: this results dir does not keep its weights" in err
    assert results_digest(published) == before


def test_a_real_process_prints_only_the_error_line(tmp_path):
    """TensorFlow's C++ start-up notices must not bury the message (they ignore TF_CPP_MIN_LOG_LEVEL)."""
    run = run_vaebench("run", "grid", "--models", "gan", "--results", tmp_path / "r")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"error: unknown model 'gan'; accepted: {', '.join(MODELS)}"]


@pytest.mark.slow
def test_every_model_runs_through_the_grid_on_its_natural_dataset(tmp_path):
    """`--models NAME` alone: sequence and two-view models pick their own dataset and family.

    The smoke grid's models (test_smoke_grid_trains_and_scores_every_cell) are not trained again here.
    """
    results = tmp_path / "zoo"
    preset = tmp_path / "zoo.toml"  # the smoke grid without scores along training or calibration rows: this test is about the models
    preset.write_text((PRESET_DIR / "smoke.toml").read_text().split("[checkpoints]")[0] + NO_CHECKPOINTS)
    in_smoke = {cell.model for cell in load_preset("smoke").cells()}
    models = [name for name in MODELS if name not in in_smoke]
    run = run_vaebench("run", "grid", "--preset", preset, "--models", ",".join(models), "--latent-dims", "2",
                       "--steps", "20", "--no-references", "--results", results)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    experiments = {e.record.model: e for e in load_experiments(results)}
    assert sorted(experiments) == sorted(models) and sorted(in_smoke | set(models)) == sorted(MODELS)
    for name, experiment in experiments.items():
        expected = {"sequences": "sines", "two_views": "dsprites_outline"}.get(MODELS[name].data_kind, "dsprites")
        assert experiment.record.dataset == expected, name
        assert experiment.record.family == ("rnn" if expected == "sines" else "conv"), name
        scores = experiment.scores
        assert isinstance(scores["recon_bce"], float) and isinstance(scores["mig"], float), name
    assert isinstance(experiments["branched_vae"].scores["classifier_accuracy"], float)
    assert (experiments["branched_vae"].path / "classifier.keras").exists()
    assert isinstance(experiments["shared_vae"].scores["cross_recon_b_from_a"], float)
    assert isinstance(experiments["cvae"].scores["label_from_z"], float)
    pictures = experiments["shared_vae"].path / PICTURES_DIR  # both views, drawn with the second decoder named on its card
    views = json.loads((pictures / PICTURES_FILE).read_text())
    assert views["kind"] == "two_views" and (pictures / views["second_view"]).is_file() and len(views["second_view_rows"]) == 2


GOOD_PRESET = """dataset = "dsprites"
image_size = 32
models = [{ name = "beta_vae", beta = [1.0, 4.0] }]
families = ["conv"]
latent_dims = [2]
seeds = [0]
steps = 2
batch_size = 8
learning_rate = 1e-3
log_every = 1
""" + metrics_table()
#: the line of GOOD_PRESET's [metrics] table that asks for the fast counts
FAST = 'counts = "fast"\n'

#: (what a user got wrong, the preset file's content, words the one-line message must hold; {file} is its path)
BAD_PRESET_FILES = [
    ("top-level typo", GOOD_PRESET.replace("steps = 2", "stpes = 2\nsteps = 2"), ["{file}", "unknown key 'stpes'", "accepted: dataset"]),
    ("typo in a model table", GOOD_PRESET.replace("beta = [", "bta = ["), ["{file}", "unknown hyperparameter 'bta' for model beta_vae; accepted: beta"]),
    ("no families", GOOD_PRESET.replace('families = ["conv"]', "families = []"), ["{file}", "bad families []"]),
    ("empty sweep", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = []"), ["{file}", "empty sweep beta = [] for model beta_vae"]),
    ("no models", GOOD_PRESET.replace('models = [{ name = "beta_vae", beta = [1.0, 4.0] }]', "models = []"), ["{file}", "no models"]),
    ("bool hyperparameter", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = true"), ["{file}", "bad beta True for model beta_vae: expected a number"]),
    ("bool inside a sweep", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = [1.0, true]"), ["{file}", "bad beta True"]),
    ("infinite hyperparameter", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = inf"), ["{file}", "bad beta inf", "finite"]),
    ("table as hyperparameter", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = { x = 1 }"), ["{file}", "bad beta"]),
    ("metrics typo", GOOD_PRESET.replace(FAST, FAST + "num_trian = 200\n"), ["{file}", "[metrics]", "unknown metric setting 'num_trian'; accepted: num_train"]),
    ("metrics zero", GOOD_PRESET.replace(FAST, FAST + "num_train = 0\n"), ["{file}", "[metrics]", "num_train = 0", "expected an integer ≥ 1"]),
    ("unknown metric counts", GOOD_PRESET.replace(FAST, 'counts = "quick"\n'), ["{file}", "[metrics]", "bad metric counts = 'quick'", "expected one of 'standard', 'fast'"]),
    ("metrics not a table", GOOD_PRESET.split("[metrics]")[0].replace("steps = 2", "steps = 2\nmetrics = 5"), ["{file}", "'metrics' has the wrong type (int); expected a table [metrics]"]),
    ("checkpoints count negative", GOOD_PRESET + "[checkpoints]\ncount = -1\n", ["{file}", "[checkpoints]", "bad count = -1", "integer ≥ 0"]),
    ("checkpoints typo", GOOD_PRESET + "[checkpoints]\nheldot = 5\n", ["{file}", "[checkpoints]", "unknown key 'heldot'; accepted: count, snapshots, num_train"]),
    ("checkpoints not a table", GOOD_PRESET.split("[metrics]")[0].replace("steps = 2", "steps = 2\ncheckpoints = 5"), ["{file}", "'checkpoints' has the wrong type (int); expected a table [checkpoints]"]),
    ("infinite learning rate", GOOD_PRESET.replace("learning_rate = 1e-3", "learning_rate = inf"), ["{file}", "bad learning rate inf", "finite number > 0"]),
    ("NaN learning rate", GOOD_PRESET.replace("learning_rate = 1e-3", "learning_rate = nan"), ["{file}", "bad learning rate nan"]),
    ("bool learning rate", GOOD_PRESET.replace("learning_rate = 1e-3", "learning_rate = true"), ["{file}", "'learning_rate' has the wrong type (bool)"]),
    ("seed above 2**32 - 1", GOOD_PRESET.replace("seeds = [0]", "seeds = [4294967296]"), ["{file}", "bad seeds [4294967296]", "0 to 4,294,967,295"]),
    ("negative seed", GOOD_PRESET.replace("seeds = [0]", "seeds = [-1]"), ["{file}", "bad seeds [-1]"]),
    ("latent size 0", GOOD_PRESET.replace("latent_dims = [2]", "latent_dims = [0]"), ["{file}", "bad latent dims [0]", "1 to 1,024"]),
    ("huge latent size", GOOD_PRESET.replace("latent_dims = [2]", "latent_dims = [100000000]"), ["{file}", "bad latent dims [100000000]"]),
    ("fractional latent size", GOOD_PRESET.replace("latent_dims = [2]", "latent_dims = [2.5]"), ["{file}", "bad latent dims [2.5]"]),
    ("log_every 0", GOOD_PRESET.replace("log_every = 1", "log_every = 0"), ["{file}", "bad log_every [0]"]),
    ("steps 0", GOOD_PRESET.replace("steps = 2", "steps = 0"), ["{file}", "bad steps [0]"]),
    ("batch that cannot fit in memory", GOOD_PRESET.replace("batch_size = 8", "batch_size = 1000000000"), ["{file}", "bad batch size [1000000000]", "1 to 65,536"]),
    ("sweep values with one cell name", GOOD_PRESET.replace("beta = [1.0, 4.0]", "beta = [1.0, 1.0000001]"), ["{file}", "two cells are both named dsprites32/beta_vae-beta1/conv/z2/s0"]),
    ("a seed twice", GOOD_PRESET.replace("seeds = [0]", "seeds = [0, 0]"), ["{file}", "two cells are both named dsprites32/beta_vae-beta1/conv/z2/s0"]),
    ("not UTF-8", GOOD_PRESET.replace("dsprites", "dsprites\xe9").encode("latin-1"), ["cannot read preset file {file}: not UTF-8 text"]),
    ("description not text", GOOD_PRESET.replace("dataset =", "description = 5\ndataset ="), ["{file}", "'description' has the wrong type (int)"]),
    ("image size conv cannot use", GOOD_PRESET.replace("image_size = 32", "image_size = 48"), ["image size 48", "accepted: 64, 32"]),
]


def test_the_good_preset_of_the_bad_preset_tests_is_valid(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD_PRESET)
    assert [cell.name for cell in load_preset(str(path)).cells()] == ["dsprites32/beta_vae-beta1/conv/z2/s0",
                                                                     "dsprites32/beta_vae-beta4/conv/z2/s0"]


@pytest.mark.parametrize("content, words", [case[1:] for case in BAD_PRESET_FILES], ids=[case[0] for case in BAD_PRESET_FILES])
def test_bad_preset_file_is_refused_in_one_line_before_anything_is_written(content, words, tmp_path, capsys):
    preset = tmp_path / "mine.toml"
    preset.write_bytes(content if isinstance(content, bytes) else content.encode())
    results = tmp_path / "results"
    code, out, err = run_in_process(["run", "grid", "--preset", preset, "--results", results], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    for word in words:
        assert word.format(file=preset) in lines[0]
    assert not results.exists()


def test_a_batch_size_beyond_the_memory_rule_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("vaebench.grid._available_memory", lambda: 2**30)
    results = tmp_path / "results"
    code, _, err = run_in_process(["run", "grid", "--models", "vae", "--batch-size", "65536", "--results", results], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "batch size 65536 does not fit in memory: one batch of 32×32×1 float32 observations takes 0.25 GiB" in err
    assert "at most 1/16 of the 1.0 GiB available" in err
    assert not results.exists()
