"""What each results file holds, checked as it is read: grid.json, params.json (with its model card) and
metrics.json as typed records, history.csv and checkpoints.csv as checked tables. A malformed file is a one-line
"corrupt results file" error naming the file and what is wrong, never a traceback and never a wrong report."""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from vaebench.errors import VaebenchError
from vaebench.kinds import DataKind, StoredVocabulary
from vaebench.results.files import check_entry, check_path, read_bytes, read_json, write_json, write_text
from vaebench.results.layout import (CHECKPOINTS_FILE, GRID_FILE, HISTORY_FILE, MAX_NAME, MAX_NAME_PART, METRICS_FILE,
                                     PARAMS_FILE, PICTURES_FILE, is_cell_name)

CHECKPOINT_COLUMNS = ("step", "metric", "value")


class CellStatus(StoredVocabulary):
    """Where a cell stands; stored in params.json as its plain value ("done", "failed")."""

    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"


#: the statuses a params.json records (a cell without one is pending)
STORED_STATUSES = (CellStatus.DONE, CellStatus.FAILED)


def check_cell_name(name, root: Path, source: Path) -> None:
    """Refuse (naming ``source``) a cell name that is not ``dataset/model/family/z<int>/s<int>`` inside ``root``,
    and a cell whose folder, or a folder above it, is a symbolic link."""
    if not is_cell_name(name):
        shown = name if not isinstance(name, str) or len(name) <= MAX_NAME else name[:40] + f"… ({len(name)} characters)"
        raise VaebenchError(f"corrupt results file {source}: {shown!r} is not a cell name; expected "
                            f"dataset/model/family/z<int>/s<int> (parts of at most {MAX_NAME_PART} characters, "
                            f"{MAX_NAME} in all), e.g. dsprites64/beta_vae-beta4/conv/z10/s0")
    check_path(root, Path(root) / name)


# --- the grid file -----------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A results dir's grid.json: every cell ever asked for there (name -> its params, as
    :meth:`vaebench.grid.Cell.to_params` gives them) and the presets that asked (name -> description)."""

    cells: dict[str, dict] = field(default_factory=dict)
    presets: dict[str, str] = field(default_factory=dict)


def read_grid(root: Path) -> Grid:
    """``root/grid.json`` (empty when absent), every cell name checked; presets stored as anything but an object read as none."""
    path = Path(root) / GRID_FILE
    if check_entry(path) is None:
        return Grid()
    grid = read_json(path)
    if not isinstance(grid, dict) or not isinstance(grid.get("cells"), dict):
        raise VaebenchError(f"corrupt results file {path}: expected an object with a 'cells' object")
    for name, params in grid["cells"].items():
        check_cell_name(name, root, path)
        if not isinstance(params, dict):
            raise VaebenchError(f"corrupt results file {path}: cell {name} has no parameter object")
    presets = grid.get("presets", {})
    return Grid(grid["cells"], presets if isinstance(presets, dict) else {})


def write_grid(root: Path, grid: Grid) -> None:
    write_json(Path(root) / GRID_FILE, asdict(grid))


def record_cells(root: Path, cells: dict[str, dict], presets: dict[str, str] | None = None) -> None:
    """Add cells (and the presets they came from) to ``grid.json``; refuse (touching nothing) a name recorded with other params."""
    recorded = read_grid(root)
    for name, params in cells.items():
        check_cell_name(name, root, Path(root) / GRID_FILE)
        old = recorded.cells.get(name)
        if old is not None and old != params:
            changed = sorted(key for key in set(old) | set(params) if old.get(key) != params.get(key))
            raise VaebenchError(
                f"results dir {root} already holds cell {name} with other settings ({', '.join(changed)}); "
                "use another --results dir or the settings it was trained with"
            )
    write_grid(root, Grid({**recorded.cells, **cells}, {**recorded.presets, **(presets or {})}))


# --- a cell's params.json ----------------------------------------------------

#: JSON types by the Python types a record's field holds (bool is no number, an int is a float)
_JSON_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "an object",
               list: "a list"}


def _is_json(value, kind: type) -> bool:
    """Whether a parsed JSON value is a ``kind`` (true and false are no numbers; an integer is a float)."""
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float) if kind is float else kind)


def _checked(data: dict, key: str, kind: type, path: Path, required: bool = False, within: str = ""):
    """``data[key]`` when it is a ``kind`` (None when absent and not ``required``); else a one-line corrupt-file error
    naming the field (``within`` the object that holds it, e.g. "card.")."""
    if key not in data and not required:
        return None
    value = data.get(key)
    if _is_json(value, kind):
        return value
    raise VaebenchError(f"corrupt results file {path}: '{within}{key}' must be {_JSON_TYPES[kind]}, found {value!r:.60}")


@dataclass(frozen=True)
class ModelCard:
    """What a trained cell's model is (params.json's "card"), so that scoring and the report need not guess:
    made by :meth:`vaebench.models.base.Autoencoder.card`."""

    #: the model's registry name
    model: str
    data_kind: DataKind
    #: whether its encoder and decoder also take the one-hot label
    reads_labels: bool
    #: whether its encoder outputs a Gaussian posterior (mean, logvar)
    gaussian: bool
    #: the networks stored with the cell (``vaebench.results.layout.network_file``)
    networks: tuple[str, ...]
    #: every hyperparameter, defaults filled in
    hparams: dict
    #: its decoder's likelihood (``vaebench.models.likelihoods.likelihood_from_config``); None in cards written before tables
    likelihood: dict | None = None

    @classmethod
    def from_json(cls, card, path: Path) -> "ModelCard":
        if not isinstance(card, dict):
            raise VaebenchError(f"corrupt results file {path}: 'card' must be an object")

        def checked(key: str, kind: type, required: bool = True):
            return _checked(card, key, kind, path, required, within="card.")

        kind = checked("data_kind", str)
        if kind not in {member.value for member in DataKind}:
            raise VaebenchError(f"corrupt results file {path}: unknown card data_kind {kind!r}; "
                                f"expected one of {', '.join(DataKind)}")
        networks = checked("networks", list)
        if not all(isinstance(name, str) for name in networks):
            raise VaebenchError(f"corrupt results file {path}: 'card.networks' must be a list of names")
        return cls(checked("model", str), DataKind(kind), checked("reads_labels", bool), checked("gaussian", bool),
                   tuple(networks), checked("hparams", dict), checked("likelihood", dict, required=False))

    def to_json(self) -> dict:
        card = {**asdict(self), "networks": list(self.networks)}
        return card if self.likelihood is not None else {key: value for key, value in card.items() if key != "likelihood"}


@dataclass(frozen=True)
class Failure:
    """Why a failed cell stopped: its ``reason`` in words and the ``step`` it stopped at (absent where unknown)."""

    reason: str
    step: int | None = None

    def to_json(self) -> dict:
        return {"reason": self.reason} if self.step is None else {"reason": self.reason, "step": self.step}


#: params.json's cell identity besides its name and hparams (:meth:`vaebench.grid.Cell.to_params`), always written
CELL_KEYS = ("dataset", "image_size", "model", "family", "latent_dim", "seed", "steps", "batch_size", "learning_rate",
             "log_every")


@dataclass(frozen=True)
class Params:
    """A trained (or failed) cell's params.json: its identity (the grid's parameters), status and model card, how and
    where it trained, and a failed cell's failure. Fields other than ``name``, ``status`` and ``hparams`` are None
    where a file written by older code, or by hand, lacks them; ``image_size`` is None for data without one."""

    name: str
    status: CellStatus
    hparams: dict = field(default_factory=dict)
    dataset: str | None = None
    image_size: int | None = None
    model: str | None = None
    family: str | None = None
    latent_dim: int | None = None
    seed: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    log_every: int | None = None
    card: ModelCard | None = None
    #: package versions, backend and device (``vaebench.environment.environment``)
    environment: dict[str, str] | None = None
    wall_seconds: float | None = None
    #: training images per second after the first logging interval
    images_per_second: float | None = None
    #: how many cells trained together in its compiled program
    pack_size: int | None = None
    #: its arithmetic (``vaebench.environment.PRECISIONS``); None in cells trained before --precision (float32)
    precision: str | None = None
    finished_at: str | None = None
    #: the scores along training it took: steps, metrics, settings, seconds (``CheckpointPlan.record``)
    checkpoints: dict | None = None
    #: the fingerprint of the file dataset it trained on (``vaebench.data.files.data_fingerprint``); the data it was
    #: scored on, where that differs, is :attr:`Metrics.data`
    data: dict | None = None
    failure: Failure | None = None

    @property
    def trained_precision(self) -> str:
        return self.precision or "float32"

    @property
    def checkpoint_settings(self) -> dict:
        """The metric settings its checkpoints were scored with; empty for a cell trained without checkpoints."""
        settings = (self.checkpoints or {}).get("settings")
        return settings if isinstance(settings, dict) else {}

    @classmethod
    def from_json(cls, params, path: Path) -> "Params":
        """The record of a parsed params.json at ``path``; a one-line corrupt-file error naming the first bad field."""
        if not isinstance(params, dict):
            raise VaebenchError(f"corrupt results file {path}: expected an object")
        if params.get("status") not in [status.value for status in STORED_STATUSES]:
            raise VaebenchError(f"corrupt results file {path}: unknown status {params.get('status')!r}; "
                                f"expected one of {', '.join(STORED_STATUSES)}")
        if not is_cell_name(params.get("name")):
            raise VaebenchError(f"corrupt results file {path}: expected the cell's 'name' "
                                f"(dataset/model/family/z<int>/s<int>), found {params.get('name')!r}")
        failure = params.get("failure")
        if params["status"] == CellStatus.FAILED and not isinstance((failure or {}).get("reason"), str):
            raise VaebenchError(f"corrupt results file {path}: a failed cell needs a 'failure' object with its 'reason'")
        environment = _checked(params, "environment", dict, path)
        if environment is not None and not all(isinstance(value, str) for value in environment.values()):
            raise VaebenchError(f"corrupt results file {path}: 'environment' must map names to version strings")
        scalars = {item.name: _checked(params, item.name, _FIELD_TYPES[item.type], path) for item in fields(cls)
                   if item.type in _FIELD_TYPES and params.get(item.name) is not None}
        return cls(**scalars, name=params["name"], status=CellStatus(params["status"]),
                   hparams=_checked(params, "hparams", dict, path) or {}, environment=environment,
                   card=None if "card" not in params else ModelCard.from_json(params["card"], path),
                   failure=None if failure is None else Failure(failure["reason"], _checked(failure, "step", int, path, within="failure.")))

    def to_json(self) -> dict:
        """params.json's object: the cell's identity always, every other field where it is set."""
        params = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None or item.name in CELL_KEYS:
                params[item.name] = value.to_json() if isinstance(value, (ModelCard, Failure)) else value
        return params


#: the JSON type each plain optional field of :class:`Params` must have, by its annotation
_FIELD_TYPES = {"str | None": str, "int | None": int, "float | None": float, "dict | None": dict}


def read_params(cell_dir: Path) -> Params | None:
    """A finished cell's params.json, checked; None while the cell is pending (no params.json yet)."""
    path = Path(cell_dir) / PARAMS_FILE
    if check_entry(path) is None:
        return None
    return Params.from_json(read_json(path), path)


def write_params(cell_dir: Path, params: Params) -> None:
    write_json(Path(cell_dir) / PARAMS_FILE, params.to_json())


def cell_status(cell_dir: Path) -> CellStatus:
    params = read_params(cell_dir)
    return CellStatus.PENDING if params is None else params.status


# --- a cell's pictures/pictures.json ------------------------------------------

#: the JSON type of a record field's annotation (its outer type: ``list[int]`` is a list; ``DataKind``, a string)
_ANNOTATION_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "list": list, "dict": dict, "DataKind": str}


def _record_from_json(cls, data, path: Path):
    """A record of dataclass ``cls`` from the parsed JSON object ``data``, every field checked against its annotation
    (a list's items too, where they are plain values): a field with a default may be absent, ``X | None`` may be null."""
    if not isinstance(data, dict):
        raise VaebenchError(f"corrupt results file {path}: expected an object")
    values = {}
    for item in fields(cls):
        annotation = item.type.removesuffix(" | None")
        outer, _, inner = annotation.removesuffix("]").partition("[")
        if item.name not in data and item.default is not MISSING:
            continue  # absent where it may be: its default
        if item.name in data and data[item.name] is None and annotation != item.type:
            values[item.name] = None  # null where it may be
            continue
        value = _checked(data, item.name, _ANNOTATION_TYPES[outer], path, required=True)
        if inner in _ANNOTATION_TYPES and not all(_is_json(v, _ANNOTATION_TYPES[inner]) for v in value):
            raise VaebenchError(f"corrupt results file {path}: each item of '{item.name}' must be "
                                f"{_JSON_TYPES[_ANNOTATION_TYPES[inner]]}")
        if outer == "DataKind":
            if value not in {kind.value for kind in DataKind}:
                raise VaebenchError(f"corrupt results file {path}: unknown {item.name} {value!r}; expected one of {', '.join(DataKind)}")
            value = DataKind(value)
        values[item.name] = value
    return cls(**values)


def _record_to_json(record) -> dict:
    """The record's JSON object in its fields' order; a field with a default is left out while it is None."""
    return {item.name: getattr(record, item.name) for item in fields(record)
            if getattr(record, item.name) is not None or item.default is MISSING}


@dataclass(frozen=True, kw_only=True)
class ImagePictures:
    """pictures.json of an image or sequence cell, in the order it is stored: what each field holds is
    ``vaebench.pictures.spec``'s docstring; drawn by ``vaebench.pictures.images``."""

    version: int
    #: absent from folders drawn before table cells had pictures (they are images)
    kind: DataKind | None = None
    gaussian: bool
    order: list[int]
    strength: list[float]
    strength_name: str
    informative: list[bool]
    #: the next four are absent from older folders
    factors: list[str] | None = None
    categorical_factors: list[str] | None = None
    category_names: dict[str, list[str]] | None = None
    cyclic_factors: list[str] | None = None
    tile: dict[str, int]
    reconstructions: str
    #: two-view cells only: the sprite of the inputs' second view (and that view decoded from the first view's code)
    second_view: str | None = None
    second_view_rows: list[str] | None = None
    traversals: list[str]
    values: list[list[float]]
    interpolation: str
    arithmetic: str | None
    prior: str | None
    prior_caption: str

    #: how json writes it (the bytes of every stored folder): indented, non-ASCII as \u escapes
    JSON_FORMAT: ClassVar[dict] = {"indent": 1, "ensure_ascii": True}

    @classmethod
    def from_json(cls, meta, path: Path) -> "ImagePictures":
        pictures = _record_from_json(cls, meta, path)
        if set(pictures.tile) != {"height", "width", "gutter"} or not all(_is_json(v, int) for v in pictures.tile.values()):
            raise VaebenchError(f"corrupt results file {path}: 'tile' must be {{\"height\", \"width\", \"gutter\"}} in pixels")
        return pictures


@dataclass(frozen=True, kw_only=True)
class TablePictures:
    """pictures.json of a table cell, in the order it is stored: what each field holds is
    ``vaebench.pictures.tables``' docstring, which draws it."""

    version: int
    kind: DataKind
    likelihood: str
    columns: list[dict]
    strength: list[float]
    strength_name: str
    gaussian: bool
    order: list[int]
    traversal_record: dict
    traversals: list[dict]

    #: compact (a traversal holds a number per column, category and step: indenting doubled the file); column and
    #: category names written as they are, not as \u escapes
    JSON_FORMAT: ClassVar[dict] = {"separators": (",", ":"), "ensure_ascii": False}

    @classmethod
    def from_json(cls, meta, path: Path) -> "TablePictures":
        pictures = _record_from_json(cls, meta, path)
        if not all(isinstance(column, dict) and isinstance(column.get("name"), str) for column in pictures.columns):
            raise VaebenchError(f"corrupt results file {path}: each item of 'columns' must be an object with its 'name'")
        if not all(isinstance(traversal, dict) and _is_json(traversal.get("latent"), int) for traversal in pictures.traversals):
            raise VaebenchError(f"corrupt results file {path}: each item of 'traversals' must be an object with its 'latent'")
        return pictures


def read_pictures_file(folder: Path, version: int) -> ImagePictures | TablePictures | None:
    """A pictures folder's pictures.json as its record when drawn at ``version``; None when it has none or an older one."""
    path = Path(folder) / PICTURES_FILE
    if check_entry(path) is None:
        return None
    meta = read_json(path)  # a link, an over-deep or a corrupt file is one line naming it
    if not isinstance(meta, dict) or meta.get("version") != version:
        return None
    return (TablePictures if meta.get("kind") == DataKind.TABLES else ImagePictures).from_json(meta, path)


def write_pictures_file(folder: Path, pictures: ImagePictures | TablePictures) -> None:
    write_text(Path(folder) / PICTURES_FILE,
               json.dumps(_record_to_json(pictures), **pictures.JSON_FORMAT) + "\n")


_METRIC_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Metrics:
    """A cell's (or calibration row's) metrics.json.

    ``scores``: score key -> number, or "n/a: reason" where the metric does not apply; ``settings``: metric -> the
    settings it was scored with; ``seconds``: metric -> how long it took (a metric is scored once it has them);
    ``matrices``: metric -> its latents × factors matrix ({"rows", "columns", "values", "label"}), absent from the
    calibration rows that are not scored by the cells' code; ``data``: the fingerprint of the data scored, where
    it differs from the data the cell trained on (``--allow-changed-data``).
    """

    scores: dict[str, float | str] = field(default_factory=dict)
    settings: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    matrices: dict[str, dict] | None = None
    data: str | None = None


def read_metrics(folder: Path) -> Metrics | None:
    """A cell's (or calibration row's) metrics.json, checked; None when it has none."""
    path = Path(folder) / METRICS_FILE
    if check_entry(path) is None:
        return None
    metrics = read_json(path)
    if not isinstance(metrics, dict) or not all(isinstance(metrics.get(key, {}), dict) for key in ("scores", "settings", "seconds")):
        raise VaebenchError(f"corrupt results file {path}: expected an object whose 'scores', 'settings' and 'seconds' are objects")
    for key, value in metrics.get("scores", {}).items():
        if not _METRIC_KEY.fullmatch(key):  # charts use keys as field names, where markup or "." and "[" break them
            raise VaebenchError(f"corrupt results file {path}: score key {key!r} is not a metric name (letters, digits, _)")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise VaebenchError(f"corrupt results file {path}: score {key!r} is neither a number nor an 'n/a: reason'")
    matrices = metrics.get("matrices", {})
    if not isinstance(matrices, dict) or not all(_is_matrix(m) for m in matrices.values()):
        raise VaebenchError(f"corrupt results file {path}: 'matrices' must map metric names to "
                            "{\"rows\": [latents], \"columns\": [factors], \"values\": rows × columns numbers}")
    return Metrics(**{name: metrics[name] for name in Metrics.__dataclass_fields__ if name in metrics})


def write_metrics(folder: Path, metrics: Metrics) -> None:
    write_json(Path(folder) / METRICS_FILE, {key: value for key, value in asdict(metrics).items() if value is not None})


def _is_matrix(matrix) -> bool:
    if not isinstance(matrix, dict) or not all(isinstance(matrix.get(k), list) for k in ("rows", "columns", "values")):
        return False
    rows, columns, values = matrix["rows"], matrix["columns"], matrix["values"]
    return (all(isinstance(name, str) for name in rows + columns) and len(values) == len(rows)
            and all(isinstance(row, list) and len(row) == len(columns) and
                    all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in row)
                    for row in values))


def write_checkpoints(cell_dir: Path, rows: list[dict]) -> None:
    """A cell's scores along training, one row per (step, score key), in the order they were scored."""
    lines = [",".join(CHECKPOINT_COLUMNS)] + [f"{int(row['step'])},{row['metric']},{float(row['value'])!r}" for row in rows]
    write_text(Path(cell_dir) / CHECKPOINTS_FILE, "\n".join(lines) + "\n")


def read_checkpoints(cell_dir: Path):
    """A cell's checkpoints.csv as a DataFrame (step, metric, value), checked; an empty one when it has none."""
    import pandas as pd

    path = Path(cell_dir) / CHECKPOINTS_FILE
    if not path.exists():
        return pd.DataFrame(columns=list(CHECKPOINT_COLUMNS))
    try:
        frame = pd.read_csv(path, dtype={"metric": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        frame = pd.DataFrame()
    if (list(frame.columns) != list(CHECKPOINT_COLUMNS) or not pd.api.types.is_integer_dtype(frame["step"])
            or not pd.api.types.is_numeric_dtype(frame["value"]) or frame["value"].isna().any()
            or not frame["metric"].map(lambda key: isinstance(key, str) and bool(_METRIC_KEY.fullmatch(key))).all()):
        raise VaebenchError(f"corrupt results file {path}: expected a CSV table with the header "
                            f"{','.join(CHECKPOINT_COLUMNS)}, integer steps, metric names and numbers")
    return frame


def read_history(cell_dir: Path):
    """A cell's history.csv as a DataFrame (empty when it has none); a VaebenchError when it has no header row."""
    import pandas as pd

    path = Path(cell_dir) / HISTORY_FILE
    if check_entry(path) is None:
        return pd.DataFrame()
    try:
        history = pd.read_csv(io.BytesIO(read_bytes(path)))
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        history = pd.DataFrame()
    if "step" not in history.columns:
        raise VaebenchError(f"corrupt results file {path}: expected a CSV table with a header row (step, loss, …)")
    return history
