"""Presets (TOML data shipped in the package) and the grid of cells they expand to.

A *cell* is one trained model: dataset, model with its hyperparameters,
encoder/decoder family, latent size and seed, plus the training settings.
Its name is a readable, stable path such as
``dsprites32/beta_vae-beta4/conv/z10/s0``.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

from vaebench.errors import VaebenchError

PRESET_DIR = resources.files("vaebench") / "presets"


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


@dataclass(frozen=True)
class ModelSpec:
    """A model name and its hyperparameters; a list value sweeps that hyperparameter."""

    name: str
    hparams: dict = field(default_factory=dict)

    def expand(self) -> list[tuple[tuple[str, float | str], ...]]:
        keys = sorted(self.hparams)
        values = [v if isinstance(v, list) else [v] for v in (self.hparams[k] for k in keys)]
        return [tuple(zip(keys, (x if isinstance(x, str) else float(x) for x in combo))) for combo in itertools.product(*values)]


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    dataset: str
    image_size: int | None
    models: tuple[ModelSpec, ...]
    families: tuple[str, ...]
    latent_dims: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    batch_size: int
    learning_rate: float
    log_every: int
    #: overrides of the metrics' standard sample counts (see vaebench.metrics)
    metrics: dict = field(default_factory=dict)
    #: settings the user chose on the command line; a model that cannot use the preset's dataset or
    #: families gets its own defaults, unless the user chose them
    explicit: frozenset = frozenset()

    def cells(self) -> list["Cell"]:
        """Every cell of the grid, in a stable order."""
        from vaebench.models import get_model_class

        cells = []
        for spec in self.models:
            model_class = get_model_class(spec.name)
            dataset, image_size, families = self._data_for(spec.name, model_class)
            defaults = model_class.hparams
            for hparams in spec.expand():
                unknown = sorted(set(dict(hparams)) - set(defaults))
                if unknown:
                    raise VaebenchError(f"unknown hyperparameter {unknown[0]!r} for model {spec.name}; accepted: {', '.join(defaults) or 'none'}")
                for name, value in hparams:
                    choices = model_class.hparam_choices.get(name)
                    if choices is not None and value not in choices:
                        raise VaebenchError(f"unknown {name} {value!r} for model {spec.name}; accepted: {', '.join(choices)}")
                    if choices is None and isinstance(value, str):
                        raise VaebenchError(f"bad {name} {value!r} for model {spec.name}: expected a number")
                full = tuple(sorted({**defaults, **dict(hparams)}.items()))
                for family, latent_dim, seed in itertools.product(families, self.latent_dims, self.seeds):
                    cells.append(Cell(dataset, image_size, spec.name, full, family,
                                      latent_dim, seed, self.steps, self.batch_size, self.learning_rate, self.log_every))
        return cells

    def _data_for(self, model: str, model_class) -> tuple[str, int | None, tuple[str, ...]]:
        """The dataset, image size and families ``model`` trains on in this grid."""
        from vaebench.data import dataset_kind, dataset_names
        from vaebench.models import check_family

        dataset, image_size = self.dataset, self.image_size
        if dataset_kind(dataset) != model_class.data_kind:
            if "dataset" in self.explicit:
                accepted = [name for name in dataset_names() if dataset_kind(name) == model_class.data_kind]
                raise VaebenchError(f"model {model} trains on {model_class.data_kind.replace('_', ' ')}, which dataset "
                                    f"{dataset!r} does not provide; accepted for it: {', '.join(accepted)}")
            dataset = model_class.default_dataset
            image_size = None if model_class.data_kind == "sequences" else image_size
        families = tuple(check_family(family) for family in self.families)
        usable = tuple(family for family in families if family in model_class.families)
        if len(usable) < len(families) and "families" in self.explicit:
            wrong = next(family for family in families if family not in usable)
            raise VaebenchError(f"model {model} cannot use the {wrong} family; accepted for it: {', '.join(model_class.families)}")
        return dataset, image_size, usable or model_class.families[:1]

    def with_overrides(self, dataset=None, image_size=None, models=None, families=None, latent_dims=None,
                       seeds=None, steps=None, batch_size=None) -> "Preset":
        """The preset with command-line choices applied; validated like a preset file."""
        changes = {"dataset": dataset, "image_size": image_size, "families": families, "latent_dims": latent_dims,
                   "seeds": seeds, "steps": steps, "batch_size": batch_size}
        changes = {key: value for key, value in changes.items() if value is not None}
        if models is not None:  # the preset's own sweep of a model it lists, else the model's defaults
            changes["models"] = tuple(spec for name in models
                                      for spec in ([s for s in self.models if s.name == name] or [ModelSpec(name)]))
        explicit = self.explicit | {key for key in ("dataset", "families") if key in changes}
        preset = replace(self, explicit=explicit, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})
        _validate(preset, source="command line")
        return preset


def preset_names() -> list[str]:
    return sorted(path.name.removesuffix(".toml") for path in PRESET_DIR.iterdir() if path.name.endswith(".toml"))


def load_preset(name_or_path: str) -> Preset:
    """A shipped preset by name (smoke, cpu, paper) or a preset TOML file by path."""
    if name_or_path in preset_names():
        source, text, name = f"preset {name_or_path}", (PRESET_DIR / f"{name_or_path}.toml").read_text(), name_or_path
    elif name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        try:
            text = path.read_text()
        except OSError as error:
            raise VaebenchError(f"cannot read preset file {path}: {error.strerror or error}") from None
        source, name = f"preset file {path}", path.stem
    else:
        raise VaebenchError(f"unknown preset {name_or_path!r}; accepted: {', '.join(preset_names())} or a path to a .toml file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise VaebenchError(f"malformed {source}: {error}") from None
    return _parse(data, name, source)


_REQUIRED = {"dataset": str, "models": list, "families": list, "latent_dims": list, "seeds": list,
             "steps": int, "batch_size": int, "learning_rate": (int, float), "log_every": int}


def _parse(data: dict, name: str, source: str) -> Preset:
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise VaebenchError(f"malformed {source}: missing key {key!r}; required: {', '.join(_REQUIRED)}")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise VaebenchError(f"malformed {source}: {key!r} has the wrong type ({type(data[key]).__name__})")
    models = []
    for entry in data["models"]:
        if isinstance(entry, str):
            models.append(ModelSpec(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            models.append(ModelSpec(entry["name"], {k: v for k, v in entry.items() if k != "name"}))
        else:
            raise VaebenchError(f"malformed {source}: each entry of 'models' is a name or a table with a 'name'")
    preset = Preset(
        name=name,
        description=str(data.get("description", "")),
        dataset=data["dataset"],
        image_size=data.get("image_size"),
        models=tuple(models),
        families=tuple(data["families"]),
        latent_dims=tuple(data["latent_dims"]),
        seeds=tuple(data["seeds"]),
        steps=data["steps"],
        batch_size=data["batch_size"],
        learning_rate=float(data["learning_rate"]),
        log_every=data["log_every"],
        metrics=dict(data.get("metrics", {})),
    )
    _validate(preset, source)
    return preset


def _validate(preset: Preset, source: str) -> None:
    def positive_ints(key, values, minimum=1):
        if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < minimum for v in values):
            raise VaebenchError(f"bad {key} {list(values)} in {source}: expected integers ≥ {minimum}")

    positive_ints("latent dims", preset.latent_dims)
    positive_ints("seeds", preset.seeds, minimum=0)
    positive_ints("steps", [preset.steps])
    positive_ints("batch size", [preset.batch_size])
    positive_ints("log_every", [preset.log_every])
    if preset.image_size is not None:
        positive_ints("image size", [preset.image_size])
    if not preset.learning_rate > 0:
        raise VaebenchError(f"bad learning rate {preset.learning_rate} in {source}: expected a number > 0")
    if not preset.models:
        raise VaebenchError(f"no models in {source}")
