"""What each results file holds, checked as it is read: grid.json and metrics.json as typed records, params.json
as a checked object, history.csv and checkpoints.csv as checked tables. A malformed file is a one-line "corrupt
results file" error naming the file and what is wrong, never a traceback and never a wrong report."""

from __future__ import annotations

import io
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vaebench.errors import VaebenchError
from vaebench.kinds import StoredVocabulary
from vaebench.results.files import check_entry, check_path, read_bytes, read_json, write_json, write_text
from vaebench.results.layout import (CHECKPOINTS_FILE, GRID_FILE, HISTORY_FILE, MAX_NAME, MAX_NAME_PART, METRICS_FILE,
                                     PARAMS_FILE, is_cell_name)

CHECKPOINT_COLUMNS = ("step", "metric", "value")

#: params.json's key holding the fingerprint of the file dataset a cell trained on
#: (``vaebench.data.files.data_fingerprint``; the data it was scored on, where that differs, is :attr:`Metrics.data`)
DATA_KEY = "data"


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


# --- reading cells back ------------------------------------------------------

def read_params(cell_dir: Path) -> dict | None:
    """A finished cell's params.json, checked; None while the cell is pending (no params.json yet)."""
    path = Path(cell_dir) / PARAMS_FILE
    if check_entry(path) is None:
        return None
    params = read_json(path)
    if not isinstance(params, dict):
        problem = "expected an object"
    elif params.get("status") not in [status.value for status in STORED_STATUSES]:
        problem = f"unknown status {params.get('status')!r}; expected one of {', '.join(STORED_STATUSES)}"
    elif not is_cell_name(params.get("name")):
        problem = f"expected the cell's 'name' (dataset/model/family/z<int>/s<int>), found {params.get('name')!r}"
    elif params["status"] == CellStatus.FAILED and not isinstance((params.get("failure") or {}).get("reason"), str):
        problem = "a failed cell needs a 'failure' object with its 'reason'"
    else:
        return params
    raise VaebenchError(f"corrupt results file {path}: {problem}")


def cell_status(cell_dir: Path) -> CellStatus:
    params = read_params(cell_dir)
    return CellStatus.PENDING if params is None else CellStatus(params["status"])


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
