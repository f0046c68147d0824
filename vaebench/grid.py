"""Presets (TOML data shipped in the package) and the grid of cells they expand to.

A *cell* is one trained model: dataset, model with its hyperparameters,
encoder/decoder family, latent size and seed, plus the training settings.
Its name is a readable, stable path such as
``dsprites32/beta_vae-beta4/conv/z10/s0``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from vaebench.checkpoint_plan import CheckpointPlan, checkpoint_plan
from vaebench.errors import VaebenchError
from vaebench.metrics.spec import DEFAULT_SETTINGS, MetricSettings, resolve_settings
from vaebench.preset_files import read_preset_table
from vaebench.results.records import Params


@dataclass(frozen=True)
class Cell:
    dataset: str
    image_size: int | None
    model: str
    hparams: tuple[tuple[str, float | str], ...]
    family: str
    latent_dim: int
    seed: int
    steps: int
    batch_size: int
    learning_rate: float
    log_every: int

    @property
    def name(self) -> str:
        model = self.model + "".join(f"-{value}" if isinstance(value, str) else f"-{key}{value:g}" for key, value in self.hparams)
        return f"{self.dataset}{self.image_size or ''}/{model}/{self.family}/z{self.latent_dim}/s{self.seed}"

    def to_params(self) -> dict:
        """The cell's identity as stored in grid.json and params.json."""
        return {**asdict(self), "hparams": dict(self.hparams), "name": self.name}

    @classmethod
    def from_params(cls, params: dict) -> "Cell":
        fields = {key: params[key] for key in cls.__dataclass_fields__ if key != "hparams"}
        return cls(hparams=tuple(sorted(params["hparams"].items())), **fields)

    @classmethod
    def from_record(cls, record: Params) -> "Cell":
        """The cell that a stored params.json record (``Experiment.record``) trained."""
        return cls.from_params(record.to_json())


@dataclass(frozen=True)
class ModelSpec:
    """A model name and its hyperparameters; a list value sweeps that hyperparameter."""

    name: str
    hparams: dict = field(default_factory=dict)

    def expand(self, model_class) -> list[tuple[tuple[str, float | str], ...]]:
        """Every combination of the swept values, each checked against ``model_class``'s hyperparameters."""
        defaults = model_class.hparams
        unknown = sorted(set(self.hparams) - set(defaults))
        if unknown:
            raise VaebenchError(f"unknown hyperparameter {unknown[0]!r} for model {self.name}; accepted: {', '.join(defaults) or 'none'}")
        keys = sorted(self.hparams)
        values = [self.hparams[key] if isinstance(self.hparams[key], list) else [self.hparams[key]] for key in keys]
        for key, swept in zip(keys, values):
            if not swept:
                raise VaebenchError(f"empty sweep {key} = [] for model {self.name}: list at least one value")
            for value in swept:
                _check_hparam(self.name, key, value, model_class.hparam_choices.get(key))
        return [tuple(zip(keys, (x if isinstance(x, str) else float(x) for x in combo))) for combo in itertools.product(*values)]


def _check_hparam(model: str, key: str, value, choices: tuple[str, ...] | None) -> None:
    if choices is not None:
        if value not in choices:
            raise VaebenchError(f"unknown {key} {value!r} for model {model}; accepted: {', '.join(choices)}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise VaebenchError(f"bad {key} {value!r} for model {model}: expected a number (finite, not true/false)")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    #: the datasets of the grid, each with every model (a preset file's ``dataset``: a name or a list of names)
    datasets: tuple[str, ...]
    image_size: int | None
    models: tuple[ModelSpec, ...]
    families: tuple[str, ...]
    latent_dims: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    batch_size: int
    learning_rate: float
    log_every: int
    #: the metrics' settings: the standard ones with the ``[metrics]`` table's overrides (see vaebench.metrics)
    metric_settings: MetricSettings = DEFAULT_SETTINGS
    #: the ``[checkpoints]`` table: when and how every cell is scored while it trains (see vaebench.checkpoint_plan)
    checkpoint_plan: CheckpointPlan = field(default_factory=checkpoint_plan)
    #: settings the user chose on the command line; a model that cannot use the preset's dataset or
    #: families gets its own defaults, unless the user chose them
    explicit: frozenset = frozenset()

    def cells(self) -> list["Cell"]:
        """Every cell of the grid, in a stable order."""
        from vaebench.models import get_model_class

        cells, placed = [], set()
        for preset_dataset, (index, spec) in itertools.product(self.datasets, enumerate(self.models)):
            model_class = get_model_class(spec.name)
            dataset, image_size, families = self._data_for(preset_dataset, spec.name, model_class)
            if (dataset, index) in placed:  # sent to its own default dataset by more than one of the grid's datasets
                continue
            placed.add((dataset, index))
            for hparams in spec.expand(model_class):
                full = tuple(sorted({**model_class.hparams, **dict(hparams)}.items()))
                for family, latent_dim, seed in itertools.product(families, self.latent_dims, self.seeds):
                    cells.append(Cell(dataset, image_size, spec.name, full, family,
                                      latent_dim, seed, self.steps, self.batch_size, self.learning_rate, self.log_every))
        if not cells:
            raise VaebenchError("the grid has no cells")
        named = Counter(cell.name for cell in cells)
        twice = next((name for name, count in named.items() if count > 1), None)
        if twice:
            raise VaebenchError(f"two cells are both named {twice}: list each value once, and make swept values "
                                f"differ within the 6 significant digits a cell name shows")
        return cells

    def _data_for(self, dataset: str, model: str, model_class) -> tuple[str, int | None, tuple[str, ...]]:
        """The dataset, image size and families ``model`` trains on in this grid, given one of its datasets."""
        from vaebench.data import dataset_kind, dataset_names
        from vaebench.models import check_family

        image_size = self.image_size
        if not model_class.families_for(dataset_kind(dataset)):
            if "dataset" in self.explicit:
                accepted = [name for name in dataset_names() if model_class.families_for(dataset_kind(name))]
                kinds = " and ".join(kind.label for kind in (model_class.data_kind, *model_class.other_data_kinds))
                raise VaebenchError(f"model {model} trains on {kinds}, which dataset {dataset!r} does not provide; "
                                    f"accepted for it: {', '.join(accepted)}")
            dataset = model_class.default_dataset
        kind = dataset_kind(dataset)
        if not kind.has_image_size:
            image_size = None
        accepted = model_class.families_for(kind)
        families = tuple(check_family(family) for family in self.families)
        usable = tuple(family for family in families if family in accepted)
        if len(usable) < len(families) and "families" in self.explicit:
            wrong = next(family for family in families if family not in usable)
            raise VaebenchError(f"model {model} cannot use the {wrong} family; accepted for it: {', '.join(accepted)} "
                                f"(on {kind.label})")
        return dataset, image_size, usable or accepted[:1]

    def with_overrides(self, dataset=None, image_size=None, models=None, families=None, latent_dims=None,
                       seeds=None, steps=None, batch_size=None) -> "Preset":
        """The preset with command-line choices applied; validated like a preset file."""
        changes = {"datasets": None if dataset is None else (dataset,), "image_size": image_size, "families": families, "latent_dims": latent_dims,
                   "seeds": seeds, "steps": steps, "batch_size": batch_size}
        changes = {key: value for key, value in changes.items() if value is not None}
        if models is not None:  # the preset's own sweep of a model it lists, else the model's defaults
            changes["models"] = tuple(spec for name in models
                                      for spec in ([s for s in self.models if s.name == name] or [ModelSpec(name)]))
        explicit = self.explicit | {key for key in ("dataset", "families") if key in changes or f"{key}s" in changes}
        preset = replace(self, explicit=explicit, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})
        _validate(preset, source="command line")
        return preset


def load_preset(name_or_path: str) -> Preset:
    """A shipped preset by name (smoke, cpu, paper) or a preset TOML file by path, checked in full."""
    data, name, source = read_preset_table(name_or_path)
    preset = _parse(data, name, source)
    try:
        preset.cells()
    except VaebenchError as error:
        raise VaebenchError(f"{source}: {error}") from None
    return preset


_REQUIRED = {"dataset": (str, list), "models": list, "families": list, "latent_dims": list, "seeds": list,
             "steps": int, "batch_size": int, "learning_rate": (int, float), "log_every": int}
_OPTIONAL = {"description": str, "image_size": int, "metrics": dict, "checkpoints": dict}
_KIND_NAMES = {str: "text", (str, list): "a name or a list of names", list: "a list", int: "an integer", (int, float): "a number"}

#: upper bounds that keep a typo from asking for more than any machine has
MAX_LATENT_DIM = 1024
MAX_SEED = 2**32 - 1  # numpy's and Keras' seeds are unsigned 32-bit
MAX_STEPS = 100_000_000
MAX_BATCH_SIZE = 65_536


def _parse(data: dict, name: str, source: str) -> Preset:
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise VaebenchError(f"unknown key {unknown[0]!r} in {source}; accepted: {', '.join([*_REQUIRED, *_OPTIONAL])}")
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise VaebenchError(f"malformed {source}: missing key {key!r}; required: {', '.join(_REQUIRED)}")
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool)):
            raise VaebenchError(f"malformed {source}: {key!r} has the wrong type ({type(data[key]).__name__}); "
                                f"expected {f'a table [{key}]' if kind is dict else _KIND_NAMES[kind]}")
    models = []
    for entry in data["models"]:
        if isinstance(entry, str):
            models.append(ModelSpec(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            models.append(ModelSpec(entry["name"], {k: v for k, v in entry.items() if k != "name"}))
        else:
            raise VaebenchError(f"malformed {source}: each entry of 'models' is a name or a table with a 'name'")
    try:
        metrics = resolve_settings(data.get("metrics"))
    except VaebenchError as error:
        raise VaebenchError(f"bad [metrics] in {source}: {error}") from None
    try:
        checkpoints = checkpoint_plan(data.get("checkpoints"), metrics)
    except VaebenchError as error:
        raise VaebenchError(f"bad [checkpoints] in {source}: {error}") from None
    preset = Preset(
        name=name,
        description=data.get("description", ""),
        datasets=(data["dataset"],) if isinstance(data["dataset"], str) else tuple(data["dataset"]),
        image_size=data.get("image_size"),
        models=tuple(models),
        families=tuple(data["families"]),
        latent_dims=tuple(data["latent_dims"]),
        seeds=tuple(data["seeds"]),
        steps=data["steps"],
        batch_size=data["batch_size"],
        learning_rate=float(data["learning_rate"]),
        log_every=data["log_every"],
        metric_settings=metrics,
        checkpoint_plan=checkpoints,
    )
    _validate(preset, source)
    return preset


def _validate(preset: Preset, source: str) -> None:
    def ints(key, values, minimum=1, maximum=MAX_STEPS):
        if not values or any(not isinstance(v, int) or isinstance(v, bool) or not minimum <= v <= maximum for v in values):
            raise VaebenchError(f"bad {key} {list(values)} in {source}: expected integers from {minimum} to {maximum:,}")

    if not preset.datasets or not all(isinstance(name, str) for name in preset.datasets) or len(set(preset.datasets)) < len(preset.datasets):
        raise VaebenchError(f"bad dataset {list(preset.datasets)} in {source}: expected a name or a non-empty list of "
                            "distinct names (see `vaebench datasets`)")
    ints("latent dims", preset.latent_dims, maximum=MAX_LATENT_DIM)
    ints("seeds", preset.seeds, minimum=0, maximum=MAX_SEED)
    ints("steps", [preset.steps])
    ints("batch size", [preset.batch_size], maximum=MAX_BATCH_SIZE)
    ints("log_every", [preset.log_every])
    off_interval = [step for step in preset.checkpoint_plan.snapshots if step % preset.log_every]
    if off_interval:  # weights reach the host only at the end of a logging interval
        raise VaebenchError(f"bad snapshots {list(preset.checkpoint_plan.snapshots)} in {source}: step {off_interval[0]} "
                            f"is not a multiple of log_every = {preset.log_every}")
    if preset.image_size is not None:  # which sizes a dataset renders is the dataset's to say, when it is built
        ints("image size", [preset.image_size])
    if not (math.isfinite(preset.learning_rate) and preset.learning_rate > 0):
        raise VaebenchError(f"bad learning rate {preset.learning_rate} in {source}: expected a finite number > 0")
    if not preset.models:
        raise VaebenchError(f"no models in {source}: list at least one (see `vaebench models`)")
    if not preset.families or not all(isinstance(family, str) for family in preset.families):
        raise VaebenchError(f"bad families {list(preset.families)} in {source}: expected a non-empty list of names, e.g. [\"conv\"]")


#: the share of available memory one batch of float32 observations may take: training also holds every
#: layer's activations and gradients for the batch, several times its size
BATCH_MEMORY_SHARE = 1 / 16


def check_batch_fits(batch_size: int, observation_shape: tuple[int, ...]) -> None:
    """Refuse a batch size whose batches cannot fit in this machine's memory, before anything trains."""
    batch_bytes = batch_size * math.prod(observation_shape) * 4
    available = _available_memory()
    if batch_bytes > available * BATCH_MEMORY_SHARE:
        shape = "×".join(map(str, observation_shape))
        raise VaebenchError(f"batch size {batch_size} does not fit in memory: one batch of {shape} float32 observations "
                            f"takes {batch_bytes / 2**30:.2g} GiB, and may take at most 1/{round(1 / BATCH_MEMORY_SHARE)} "
                            f"of the {available / 2**30:.1f} GiB available")


def _available_memory() -> int:
    """Bytes of memory available to a new allocation (Linux: MemAvailable; elsewhere: physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
