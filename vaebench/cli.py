"""The ``vaebench`` command line: run a grid, list it, score it, publish it."""

from __future__ import annotations

import os
import sys

# TensorFlow's C++ info/warning lines (oneDNN notices, generator shutdown) drown the progress bar.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from vaebench.data import FILE_DATASETS
from vaebench.errors import VaebenchError
from vaebench.interruption import EXIT_CODE as INTERRUPTED_CODE, Interrupted
from vaebench.metrics.spec import DEFAULT_SETTINGS, SCORES
from vaebench.results.files import WRITE_ERRNOS
from vaebench.results.layout import METRICS_FILE
from vaebench.run.grid_size import CONFIRM_FLAG, MAX_CELLS, MAX_HOURS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train a fixed grid of (variational) autoencoders, score their latent spaces, publish a report.")
run_app = typer.Typer(no_args_is_help=True, help="Train and score.")
app.add_typer(run_app, name="run")
# Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)


def _split(value: str | None, cast, option: str, example: str):
    if value is None:
        return None
    try:
        items = [cast(item.strip()) for item in value.split(",") if item.strip()]
    except ValueError:
        items = []
    if not items:
        raise VaebenchError(f"bad {option} {value!r}: expected a comma-separated list, e.g. {example}")
    return items


DATA_PATH_HELP = f"Local file or folder for file datasets ({', '.join(FILE_DATASETS)})."
ALLOW_CHANGED_DATA_HELP = ("Score trained cells on a --data-path whose content or column options changed since they "
                           f"were trained (every metric again; {METRICS_FILE} records the data scored).")


@run_app.command("grid")
def run_grid_command(
    preset: str = typer.Option("smoke", help="smoke, cpu, paper, or a path to a preset .toml file."),
    results: Optional[str] = typer.Option(None, help="Results dir [default: results/<preset>]."),
    dataset: Optional[str] = typer.Option(None, help="Dataset name (see `vaebench datasets`)."),
    data_path: Optional[str] = typer.Option(None, help=DATA_PATH_HELP),
    label_column: Optional[str] = typer.Option(None, help="csv: the column holding each record's class label."),
    factor_columns: Optional[str] = typer.Option(None, help="csv: comma-separated discrete columns (integers or text) that score disentanglement."),
    categorical: Optional[str] = typer.Option(None, help="csv: comma-separated columns to read as categorical [default: the columns holding text]."),
    models: Optional[str] = typer.Option(None, help="Comma-separated model names (see `vaebench models`)."),
    families: Optional[str] = typer.Option(None, help="Comma-separated encoder/decoder families: conv, mlp."),
    latent_dims: Optional[str] = typer.Option(None, help="Comma-separated latent sizes, e.g. 2,4,10."),
    seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, e.g. 0,1."),
    steps: Optional[int] = typer.Option(None, help="Training steps per cell."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size."),
    tensorboard: bool = typer.Option(False, help="Also write TensorBoard logs into each cell's directory."),
    shard: Optional[str] = typer.Option(None, help="K/N: train only shard K of N (for job arrays) [default results dir: results/<preset>-shard-K-of-N]."),
    pack: Optional[str] = typer.Option(None, help="Cells trained together per compiled program (JAX backend; cells differing only in seed and numeric hyperparameters): a number ≥ 1, or auto (measured on the first pack) [default: auto on a GPU (16 under Ray), 1 on a CPU]."),
    precision: str = typer.Option("float32", help="Training arithmetic: float32 (reproducible on every backend), tf32 (TF32 matrix products on GPUs that have them) or bfloat16 (float32 weights; JAX only); recorded with each cell's parameters."),
    executor: str = typer.Option("local", help="local (one pack after the other) or ray (one Ray task per pack)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster to join: auto or ray://HOST:PORT [default: start a local Ray instance]."),
    cpus_per_cell: float = typer.Option(1.0, help="Ray: CPUs reserved per cell."),
    gpus_per_cell: Optional[float] = typer.Option(None, help="Ray: GPUs reserved per cell [default: 1 where the cluster has GPUs, else 0]."),
    max_retries: int = typer.Option(2, help="Ray: times a cell whose worker died is retried."),
    shared_fs: bool = typer.Option(True, help="Ray: workers write into the results dir (--no-shared-fs: they return files to the driver)."),
    score_workers: Optional[int] = typer.Option(None, help="Processes scoring finished cells on the CPU while the next cells train; 0 scores each cell right after training; at most one per core [default: cores - 1 beside a GPU, 0 on a CPU-only machine]."),
    references: bool = typer.Option(True, help="After the cells, score the grid's calibration rows (mean image, untrained VAE, PCA, random code; see README) that are not stored yet."),
    allow_changed_data: bool = typer.Option(False, help=ALLOW_CHANGED_DATA_HELP),
    large_grid: bool = typer.Option(False, CONFIRM_FLAG, help=f"Run a grid of more than {MAX_CELLS:,} cells or "
                                    f"{MAX_HOURS:,} estimated training hours (see README), which is refused otherwise."),
):
    """Train and score every cell of the grid that is not finished yet."""
    from vaebench.preset_files import read_preset_table
    from vaebench.results.lock import check_not_held
    from vaebench.run.shards import parse_shard

    shard_k_n = parse_shard(shard) if shard is not None else None
    if results is None:
        suffix = f"-shard-{shard_k_n[0]}-of-{shard_k_n[1]}" if shard_k_n else ""
        results = Path("results") / f"{read_preset_table(preset)[1]}{suffix}"
    else:
        results = _folder(results, "--results")
    check_not_held(results)  # at once: Keras takes seconds to load, a minute on a busy machine
    _load_backend()
    from vaebench.grid import load_preset
    from vaebench.interruption import stop_at_safe_points
    from vaebench.results.files import check_writable
    from vaebench.results.lock import results_lock
    from vaebench.run.plan import make_plan
    from vaebench.run.runner import run_grid

    if executor not in ("local", "ray"):
        raise VaebenchError(f"unknown executor {executor!r}; accepted: local, ray")
    if executor == "ray":
        from vaebench.run.ray_executor import import_ray

        import_ray()
    if executor == "local" and address is not None:
        raise VaebenchError("--address needs --executor ray")
    if executor == "ray" and allow_changed_data:
        raise VaebenchError("--allow-changed-data is for --executor local; rescore with `vaebench evaluate` instead")
    if executor == "ray" and score_workers is not None:
        raise VaebenchError("--score-workers is for --executor local; under Ray each cell is scored in a Ray CPU task")
    if score_workers is not None and score_workers < 0:
        raise VaebenchError(f"bad --score-workers {score_workers}: expected 0 (score right after training) or more")
    if score_workers is not None:
        score_workers = _capped_workers(score_workers)
    if cpus_per_cell <= 0 or (gpus_per_cell is not None and gpus_per_cell < 0) or max_retries < 0:
        raise VaebenchError("bad Ray resources: --cpus-per-cell must be > 0, --gpus-per-cell and --max-retries ≥ 0")
    pack_size = _pack_size(pack) if pack is not None else None
    if executor == "ray" and isinstance(pack_size, str):  # auto
        raise VaebenchError("--pack auto is for --executor local (Ray's driver leaves the GPUs to its workers); give --pack N")
    chosen = load_preset(preset).with_overrides(
        dataset=dataset,
        models=_split(models, str, "--models", "vae,beta_vae"),
        families=_split(families, str, "--families", "conv"),
        latent_dims=_split(latent_dims, int, "--latent-dims", "2,4"),
        seeds=_split(seeds, int, "--seeds", "0,1"),
        steps=steps,
        batch_size=batch_size,
    )
    # the grid expanded once, and refused if bad, before the results dir is created or locked
    plan = make_plan(chosen, _data_source(data_path, label_column, factor_columns, categorical), shard_k_n, precision,
                     large_grid)
    _say_unused_families(chosen, plan.grid)
    check_writable(results)
    with results_lock(results, "run grid"):
        if executor == "ray":
            from vaebench.run.ray_executor import RayOptions, run_grid_on_ray

            options = RayOptions(address, cpus_per_cell, gpus_per_cell, max_retries, shared_fs)
            run_grid_on_ray(plan, results, console, options, tensorboard=tensorboard, pack_size=pack_size)
        else:
            with stop_at_safe_points():
                run_grid(plan, results, console, tensorboard=tensorboard, pack_size=pack_size, score_workers=score_workers,
                         allow_changed_data=allow_changed_data)
        if references:  # under Ray too: by the driver, once the cells are in the results dir
            from vaebench.run.references import compute_references

            with stop_at_safe_points():
                compute_references(plan, results, console)
    _print_grid_table(results)


def _say_unused_families(preset, cells) -> None:
    """One line for each of the grid's datasets whose cells cannot use some of the preset's families (a table trains
    with mlp alone, see README's Tables), so that a family is never dropped in silence (naming one with --families
    is refused instead)."""
    for dataset in preset.datasets:
        used = sorted({cell.family for cell in cells if cell.dataset == dataset})
        unused = [family for family in preset.families if family not in used]
        if used and unused:
            console.print(f"the {', '.join(unused)} famil{'ies' if len(unused) > 1 else 'y'} of preset {preset.name} "
                          f"cannot train on dataset {dataset}: its cells train with {', '.join(used)}")


def _folder(value: str, option: str) -> Path:
    """A folder given on the command line; an empty one is refused (``Path("")`` would be the current folder)."""
    if not value.strip():
        raise VaebenchError(f"{option} is empty; expected a folder")
    return Path(value)


def _pack_size(value: str) -> int | str:
    """``--pack``: a number of cells ≥ 1, or auto."""
    from vaebench.run.packing import AUTO

    if value == AUTO:
        return AUTO
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise VaebenchError(f"bad --pack {value}: expected a number of cells ≥ 1 or {AUTO}")
    return size


def _capped_workers(requested: int) -> int:
    """At most one scoring worker per usable core: each is a whole backend process (about 300 MB) that only
    competes with the others for the cores beyond that."""
    from vaebench.run.scoring_pool import usable_cores

    cores = len(usable_cores())
    if requested <= cores:
        return requested
    print(f"--score-workers {requested} is more than the {cores} cores this process may use: starting {cores}",
          file=sys.stderr)
    return cores


def _data_source(data_path: str | None, label_column: str | None, factor_columns: str | None, categorical: str | None):
    """The command line's file dataset options as one DataSource (None without --data-path)."""
    from vaebench.data import DataSource

    if data_path is None:
        if label_column or factor_columns or categorical:
            raise VaebenchError("--label-column, --factor-columns and --categorical describe a CSV file: pass it with "
                                "--dataset csv --data-path FILE.csv")
        return None
    return DataSource(data_path, label_column, tuple(_split(factor_columns, str, "--factor-columns", "age,region") or ()),
                      tuple(_split(categorical, str, "--categorical", "region,sector") or ()))


#: score key -> short column header for the terminal table (the metrics' spec names the headline scores)
SUMMARY_SCORES = {score.key: score.column for score in SCORES.values() if score.column}


def _print_grid_table(results_dir: Path) -> None:
    table, counts = _grid_table(results_dir)
    console.print(table)
    console.print(", ".join(f"{count} {status}" for status, count in counts.items()))


def _grid_table(results_dir: Path):
    """The terminal table of a results dir's cells and the count of each status, every file it shows read and checked."""
    from vaebench.results.records import CellStatus, read_grid, read_history, read_metrics, read_params

    grid = read_grid(results_dir).cells
    table = Table(title=f"{results_dir} — {len(grid)} cells")
    table.add_column("cell", no_wrap=True)
    table.add_column("status")
    for column in ("train s", *SUMMARY_SCORES.values()):
        table.add_column(column, justify="right")
    counts = dict.fromkeys(CellStatus, 0)
    for name in sorted(grid):
        cell_dir = results_dir / name
        params = read_params(cell_dir)
        status = CellStatus.PENDING if params is None else params.status
        counts[status] += 1
        if status == CellStatus.FAILED:
            table.add_row(name, f"[red]{status}[/]", "", params.failure.reason, *[""] * (len(SUMMARY_SCORES) - 1))
            continue
        if status == CellStatus.DONE:
            read_history(cell_dir)  # a done cell with an emptied history is corrupt, whichever command lists it
        metrics = read_metrics(cell_dir)
        scores = metrics.scores if metrics else {}
        cells = [_fmt(scores.get(key)) for key in SUMMARY_SCORES]
        style = f"[green]{status}[/]" if status == CellStatus.DONE else f"[yellow]{status}[/]"
        if params is not None and params.trained_precision != "float32":
            style += f" ({params.precision})"
        table.add_row(name, style, _fmt(None if params is None else params.wall_seconds), *cells)
    return table, counts


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


@app.command("list")
def list_command(results: str = typer.Option("results", help="A results dir, or a folder holding several.")):
    """A table of cells: done / failed (with the reason) / pending, with their main numbers."""
    from vaebench.results.files import results_dir_error
    from vaebench.results.layout import grid_dirs

    results = _folder(results, "--results")
    if not results.is_dir():
        raise results_dir_error(results)
    roots = grid_dirs(results)
    if not roots:
        raise VaebenchError(f"no grid in {results}: run `vaebench run grid` first")
    for root in roots:
        _print_grid_table(root)


@app.command("evaluate")
def evaluate_command(
    results: str = typer.Option(..., help="The results dir of one grid."),
    metrics: Optional[str] = typer.Option(None, help="Comma-separated metric names [default: all]."),
    force: bool = typer.Option(False, help=f"Recompute metrics already in {METRICS_FILE}."),
    preset: Optional[str] = typer.Option(None, help="Take the metric sample counts from this preset [default: the standard counts]."),
    data_path: Optional[str] = typer.Option(None, help=DATA_PATH_HELP),
    label_column: Optional[str] = typer.Option(None, help="csv: the label column the cells were trained with."),
    factor_columns: Optional[str] = typer.Option(None, help="csv: the factor columns the cells were trained with."),
    categorical: Optional[str] = typer.Option(None, help="csv: the categorical columns the cells were trained with."),
    pictures: bool = typer.Option(False, "--pictures", help="Score nothing: draw the report's pictures of the cells that "
                                  "lack current ones, from their weights (with --force: of every cell)."),
    allow_changed_data: bool = typer.Option(False, help=ALLOW_CHANGED_DATA_HELP),
):
    """(Re)score the trained cells of a results dir; resumable like training."""
    from vaebench.results.lock import check_not_held

    results = _folder(results, "--results")
    check_not_held(results)  # at once: Keras takes seconds to load, a minute on a busy machine
    _load_backend()
    from vaebench.grid import Cell, load_preset
    from vaebench.metrics import metric_names
    from vaebench.results.experiments import load_experiments
    from vaebench.results.lock import results_lock
    from vaebench.run.runner import check_same_data, score

    if pictures:
        if metrics is not None or preset is not None:
            raise VaebenchError("--pictures scores nothing, so it takes neither --metrics nor --preset; run them separately")
        _draw_pictures(results, force, _data_source(data_path, label_column, factor_columns, categorical))
        return
    chosen = _split(metrics, str, "--metrics", "mig,dci")
    unknown = sorted(set(chosen or []) - set(metric_names()))
    if unknown:
        raise VaebenchError(f"unknown metric {unknown[0]!r}; accepted: {', '.join(metric_names())}")
    settings = load_preset(preset).metric_settings if preset else DEFAULT_SETTINGS
    source = _data_source(data_path, label_column, factor_columns, categorical)
    with results_lock(results, "evaluate"):
        experiments = load_experiments(results)
        if not experiments:
            raise VaebenchError(f"no trained cells in {results}")
        cells = [Cell.from_record(experiment.record) for experiment in experiments]
        _read_before_scoring(results, experiments)
        check_same_data(cells, results, source, allow_changed_data)
        with console.status("scoring") as status:
            for index, (cell, experiment) in enumerate(zip(cells, experiments), 1):
                status.update(f"scoring {index}/{len(experiments)} {experiment.name}")
                score(cell, experiment.path, settings, metrics=chosen, force=force, data_path=source,
                      allow_changed_data=allow_changed_data)
    _print_grid_table(results)


def _read_before_scoring(results: Path, experiments) -> None:
    """Read and check every file ``evaluate`` reads (the table's, each snapshot's scores, each pictures record, the
    weights as archives), so that a corrupt one is refused before the first cell is rescored."""
    from vaebench.pictures.draw import pictures_to_draw
    from vaebench.results.experiments import check_networks
    from vaebench.results.layout import snapshot_dirs

    _grid_table(results)
    for experiment in experiments:
        for folder in (experiment.path, *snapshot_dirs(experiment.path).values()):
            check_networks(folder)
        experiment.snapshots  # noqa: B018 (reads each snapshot's metrics.json)
        pictures_to_draw(experiment.path)


def _draw_pictures(results: Path, force: bool, source) -> None:
    """``evaluate --pictures``: draw the missing (or, forced, all) pictures; name the cells that cannot get any."""
    from vaebench.results.experiments import load_experiments
    from vaebench.results.layout import MODEL_FILES
    from vaebench.results.lock import results_lock
    from vaebench.run.runner import draw_missing_pictures

    with results_lock(results, "evaluate --pictures"):
        experiments = load_experiments(results)
        if not experiments:
            raise VaebenchError(f"no trained cells in {results}")
        without = []
        with console.status("drawing pictures") as status:
            for index, experiment in enumerate(experiments, 1):
                status.update(f"drawing pictures {index}/{len(experiments)} {experiment.name}")
                if not draw_missing_pictures(experiment, force=force, data_path=source):
                    without.append(experiment.name)
    console.print(f"{len(experiments) - len(without)} of {len(experiments)} cells have their pictures")
    for name in without:
        console.print(f"[red]no pictures[/] {name}: its weights ({', '.join(MODEL_FILES)}) are not in the results dir")


@app.command("merge")
def merge_command(
    sources: list[str] = typer.Argument(..., help="Results dirs to merge, e.g. the shards of a job array."),
    into: str = typer.Option(..., help="The results dir to merge into (created if missing)."),
):
    """Merge results dirs (e.g. shards) into one; refuses conflicting cells and then writes nothing."""
    from vaebench.run.shards import merge_results

    sources, into = [_folder(source, "a results dir to merge") for source in sources], _folder(into, "--into")

    counts = merge_results(sources, into)
    console.print(f"merged {len(sources)} dirs into {into}: {counts['copied']} cells copied, "
                  f"{counts['already']} already there, {counts['unfinished']} not finished anywhere")
    _print_grid_table(into)


@app.command("models")
def models_command():
    """Every model with its hyperparameters and a one-line description."""
    _load_backend()
    from vaebench.models import MODELS

    table = Table(title="models")
    for column in ("model", "hyperparameters (defaults)", "description"):
        table.add_column(column)
    for name, model_class in MODELS.items():
        hparams = ", ".join(f"{key}={value}" if isinstance(value, str) else f"{key}={value:g}"
                            for key, value in model_class.hparams.items()) or "—"
        table.add_row(name, hparams, f"{model_class.description} [{model_class.data_kind.label}: {model_class.default_dataset}]")
    console.print(table)


@app.command("datasets")
def datasets_command():
    """Every dataset name the grid accepts, with its kind."""
    from vaebench.data import dataset_kind, dataset_names

    console.print("\n".join(f"{name}\t{dataset_kind(name)}" for name in dataset_names()))


@app.command("build-site")
def build_site_command(
    results: list[str] = typer.Option(["results"], help="A results dir (one study, named by its folder), or a "
                                       "folder holding several; repeat it for more studies: several make one site with "
                                       "an overview and a folder per study."),
    out: str = typer.Option("site", help="Where the static site goes: a new or empty folder, or a vaebench site "
                             "(only the files vaebench wrote there are replaced)."),
):
    """Render one or several results dirs into a static HTML report that works offline."""
    from vaebench.site import build_site

    index = build_site([_folder(folder, "--results") for folder in results], _folder(out, "--out"))
    console.print(f"site written: {index}")


def _load_backend() -> None:
    """Keras and its backend, loaded before a command's first module that imports them (build-site, list and merge
    never do: they only read and copy results); `run grid` and `evaluate` first check that their results dir is free."""
    from vaebench.quiet_backend import load_backend_quietly

    load_backend_quietly()


def main() -> None:
    """Entry point: every user error is one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:  # usage errors: unknown option, bad value type
        _fail(error.format_message())
    except typer.Abort:
        _fail("interrupted", code=INTERRUPTED_CODE)
    except Interrupted as stop:
        print(f"interrupted: {stop}; run the same command again to resume", file=sys.stderr)
        sys.exit(INTERRUPTED_CODE)
    except VaebenchError as error:
        _fail(str(error))
    except OSError as error:
        # a full disk, a quota, a read-only or forbidden path: the machine's state, not a bug
        if error.errno not in WRITE_ERRNOS or error.filename is None:
            raise
        _fail(f"{error.filename}: {error.strerror}")
    if code == INTERRUPTED_CODE:  # typer's answer to Ctrl-C outside run grid's safe points, silent by itself
        _fail("interrupted (Ctrl-C); run the same command again to finish", code=INTERRUPTED_CODE)
    sys.exit(code or 0)


def _fail(message: str, code: int = 2) -> None:
    print(f"error: {message}".splitlines()[0], file=sys.stderr)
    sys.exit(code)
