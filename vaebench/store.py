"""The results store: one directory per cell, every file written atomically.

Layout of a results directory::

    grid.json                      every cell ever asked for here: {"cells": {name: params},
                                   "presets": {preset name: its description}}
    <dataset>/<model>/<family>/z<latent>/s<seed>/
        params.json                the cell's parameters, environment, status; written last
        history.csv                loss terms every ``log_every`` steps
        checkpoints.csv            scores along training (step, metric, value; see vaebench.run.checkpoints)
        metrics.json               {"scores": {key: float | "n/a: reason"}, "settings": {...}, "seconds": {...}}
        encoder.keras, decoder.keras
        pictures/                  the report's pictures of the cell, drawn when the cell is scored
                                   and kept so the report builds without the weights

    references/<dataset>/          the calibration rows (see :mod:`vaebench.run.references`), scored like cells:
        mean_image/metrics.json    the training set's mean image as every reconstruction
        chance/metrics.json        the chance level of the scores that name a factor (from the metric spec)
        pca/z<latent>/s<seed>/metrics.json, random/z<latent>/s<seed>/metrics.json
        untrained/<family>/z<latent>/s<seed>/metrics.json

    .vaebench.lock, .vaebench.lock.json
                                   the lock every writing command holds (see :func:`results_lock`) and
                                   who holds it

A cell is *done* or *failed* once its ``params.json`` exists with that
``status``; anything else in its directory is leftover from an interrupted
run and is replaced when the cell trains again. Hidden names (``.*``) are
never cells: they are vaebench's temporary files, staging folders and lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import json
import math
import os
import re
import secrets
import shutil
import socket
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from vaebench.errors import VaebenchError

GRID_FILE = "grid.json"
PARAMS_FILE = "params.json"
HISTORY_FILE = "history.csv"
CHECKPOINTS_FILE = "checkpoints.csv"
CHECKPOINT_COLUMNS = ("step", "metric", "value")
METRICS_FILE = "metrics.json"
MODEL_FILES = ("encoder.keras", "decoder.keras")
ENCODER_FILE, DECODER_FILE = MODEL_FILES
PICTURES_FILE = "pictures.json"  # what a cell's pictures folder holds: vaebench.pictures.spec
LATENTS_FILE = "latents.csv"
#: the key holding the fingerprint of a file dataset (``vaebench.data.files.data_fingerprint``): in params.json
#: the data a cell trained on; in metrics.json the data it was scored on, where that differs (--allow-changed-data)
DATA_KEY = "data"
PICTURES_DIR = "pictures"
REFERENCES_DIR = "references"
#: each calibration row's kind -> the parts naming one row of that kind below references/<dataset>/<kind>/
REFERENCE_KINDS = {"mean_image": (), "chance": (), "pca": ("latent_dim", "seed"), "random": ("latent_dim", "seed"),
                   "untrained": ("family", "latent_dim", "seed")}
LOCK_FILE = ".vaebench.lock"
LOCK_INFO_FILE = ".vaebench.lock.json"
LOCK_GRACE_SECONDS = 1.0


class CellStatus(str, enum.Enum):
    """Where a cell stands; stored in params.json as its plain value ("done", "failed")."""

    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"

    def __str__(self) -> str:
        return self.value


#: the statuses a params.json records (a cell without one is pending)
STORED_STATUSES = (CellStatus.DONE, CellStatus.FAILED)

#: errors of writing a file that are the machine's state, not a bug: the CLI reports them in one line
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


# --- temporary names ---------------------------------------------------------
# Every temporary file or folder vaebench makes is hidden and named by one of these patterns, so the
# next writing command can tell its own leftovers (from a kill -9) from anything else and remove them.

_RANDOM = "[a-z0-9_]{8}"  # also matches the names tempfile.mkstemp gave before vaebench named them itself
TMP_FILE = re.compile(rf"\..+\.{_RANDOM}\.tmp(\.[a-z]+)?")
STAGING_DIR = re.compile(rf"\..+\.staging-{_RANDOM}")


def _random() -> str:
    return secrets.token_hex(4)


def _create_unique(make, parent: Path, name) -> Path:
    """``make(path)`` on the first free ``parent / name(random)``; make creates with the usual umask."""
    while True:
        path = Path(parent) / name(_random())
        try:
            make(path)
            return path
        except FileExistsError:
            continue


def _make_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def make_staging_dir(target: Path) -> Path:
    """An empty hidden folder beside ``target`` (mode 0777 & ~umask) to fill and then rename onto it."""
    return _create_unique(_make_dir, target.parent, lambda random: f".{target.name}.staging-{random}")


def _make_dir(path: Path) -> None:
    os.mkdir(path, 0o777)


def remove_leftovers(root: Path) -> list[Path]:
    """Remove what killed vaebench commands left in a results dir: temporary files and staging folders.

    Only the folders vaebench writes in (the root, each cell of its grid and the folder holding it) are
    looked at, and only names matching vaebench's own patterns are touched. Returns what was removed.
    """
    root = Path(root)
    folders = {root, *(path for name in read_grid(root) for path in (root / name, (root / name).parent))}
    references = root / REFERENCES_DIR
    if references.is_dir() and not references.is_symlink():
        # hidden folders (staging folders, and anything inside them) are leftovers themselves, not places to look
        folders |= {references, *(path for path in references.rglob("*") if path.is_dir() and not path.is_symlink()
                                  and not any(part.startswith(".") for part in path.relative_to(references).parts))}
    removed = []
    for folder in sorted(folder for folder in folders if folder.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.is_symlink():
                continue
            if path.is_file() and TMP_FILE.fullmatch(path.name):
                path.unlink()
            elif path.is_dir() and STAGING_DIR.fullmatch(path.name):
                shutil.rmtree(path)
            else:
                continue
            removed.append(path)
    return removed


# --- atomic writes -----------------------------------------------------------

@contextlib.contextmanager
def naming(path: Path):
    """Give an OSError raised while writing ``path`` that path, when it names none (write() errors do not)."""
    try:
        yield
    except OSError as error:
        if error.filename is None and error.errno is not None:
            raise type(error)(error.errno, error.strerror, str(path)) from error
        raise


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The file gets the mode any new file gets (0666 & ~umask), not mkstemp's private 0600.
    """
    path = Path(path)
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_unique(_make_file, path.parent, lambda random: f".{path.name}.{random}.tmp{suffix}")
        try:
            yield tmp
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def save_keras(model, path: Path) -> None:
    """``model.save`` to a temporary ``.keras`` file, then rename into place."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


#: a JSON results file larger than this, or nested deeper, is refused as corrupt (vaebench writes a few KB, 3 levels deep)
MAX_JSON_BYTES = 64 * 2**20
MAX_JSON_DEPTH = 32


def read_json(path: Path) -> Any:
    """A JSON results file, parsed; a one-line VaebenchError when it is a link, too large, too deep or not JSON."""
    data = read_bytes(path, MAX_JSON_BYTES)
    try:
        value = json.loads(data)
        too_deep = _depth(value) > MAX_JSON_DEPTH
    except RecursionError:  # deeper than the parser goes
        too_deep = True
    except ValueError as error:
        raise VaebenchError(f"corrupt results file {path}: {error}") from None
    if too_deep:
        raise VaebenchError(f"corrupt results file {path}: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value) -> int:
    """How deeply ``value`` nests lists and objects, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


# --- reading only what is there ----------------------------------------------
# Everything vaebench reads from a results dir is a regular file or folder inside it, looked at without
# following links: a symbolic link would publish or copy a file from elsewhere as if it were a result.

def check_entry(path: Path) -> os.stat_result | None:
    """``path``'s own lstat (None if it does not exist); refuse a symbolic link or anything but a file or folder."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # as Path.exists: a file in place of a folder above it
        return None
    if stat.S_ISLNK(info.st_mode):
        raise VaebenchError(f"{path} is a symbolic link; a results dir must hold its own regular files and folders")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise VaebenchError(f"{path} is neither a regular file nor a folder; a results dir holds only those")
    return info


def check_path(root: Path, path: Path) -> None:
    """Refuse ``path`` if it, or any folder between ``root`` and it, is a symbolic link (or a device, pipe, socket)."""
    root, path = Path(root), Path(path)
    parts = path.relative_to(root).parts
    for index, part in enumerate(parts):
        root = root / part
        info = check_entry(root)
        if info is None:
            return
        if index < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
            raise VaebenchError(f"{root} is a file where the results dir needs a folder (for {path})")


def check_tree(folder: Path) -> None:
    """Refuse ``folder`` if anything below it (hidden names aside: vaebench's temporary files) is not a regular file or folder."""
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in sorted(folders + files):
            if not name.startswith("."):
                check_entry(Path(parent) / name)


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file, opened without following a link; FileNotFoundError when it is missing."""
    path = Path(path)
    info = check_entry(path)
    if info is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    if not stat.S_ISREG(info.st_mode):
        raise VaebenchError(f"corrupt results file {path}: a folder, expected a file")
    if limit is not None and info.st_size > limit:
        raise VaebenchError(f"corrupt results file {path}: {info.st_size} bytes, more than the {limit} a results file may hold")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        if error.errno == errno.ELOOP:  # replaced by a link since the lstat
            raise VaebenchError(f"{path} is a symbolic link; a results dir must hold its own regular files and folders") from None
        raise VaebenchError(f"corrupt results file {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read()


def check_writable(root: Path) -> None:
    """Fail with a one-line error, before any work, when ``root`` cannot hold results."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        # missing_ok: the command holding this dir may already have removed it as a leftover
        _create_unique(_make_file, root, lambda random: f".write-check.{random}.tmp").unlink(missing_ok=True)
    except OSError as error:
        raise VaebenchError(f"results dir {root} cannot be written: {error.strerror or error}") from None


# --- the lock ----------------------------------------------------------------

@contextlib.contextmanager
def results_lock(root: Path, command: str):
    """Hold the results dir ``root`` for one writing command, or fail naming who holds it.

    The lock is an OS file lock (``filelock``), so a holder killed with ``kill -9`` releases it
    with its death. Once held, vaebench's own leftovers of killed commands are removed.
    """
    import filelock

    root = Path(root)
    if not root.is_dir():
        raise VaebenchError(f"results dir {root} does not exist")
    # A short grace, not a wait: a holder that is just finishing lets go, one just starting has said who it is.
    lock = filelock.FileLock(root / LOCK_FILE, timeout=LOCK_GRACE_SECONDS)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise VaebenchError(f"results dir {root} is in use by {_holder(root)}; wait for it to finish "
                            "(or stop it), then run this command again") from None
    except OSError as error:
        raise VaebenchError(f"results dir {root} cannot be written: {error.strerror or error}") from None
    try:
        info = root / LOCK_INFO_FILE
        write_json(info, {"pid": os.getpid(), "host": socket.gethostname(), "command": command})
        remove_leftovers(root)
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def _holder(root: Path) -> str:
    try:
        info = json.loads((Path(root) / LOCK_INFO_FILE).read_text())
        return f"`vaebench {info['command']}` (pid {info['pid']} on {info['host']})"
    except (OSError, ValueError, KeyError, TypeError):  # the holder is still writing it, or was killed doing so
        return "another vaebench command"


# --- cell names --------------------------------------------------------------

#: the longest part of a cell name, and the longest name: the site names a page after the whole name (file names
#: stop at 255 bytes), and a results dir nests the parts as folders
MAX_NAME_PART, MAX_NAME = 100, 200
_NAME_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")
_NAME_PARTS = (_NAME_PART, _NAME_PART, _NAME_PART, re.compile(r"z[0-9]+"), re.compile(r"s[0-9]+"))


def is_cell_name(name) -> bool:
    """Whether ``name`` reads like :attr:`vaebench.grid.Cell.name`: five safe parts, none hidden, none ``..``."""
    parts = name.split("/") if isinstance(name, str) and len(name) <= MAX_NAME else []
    return (len(parts) == len(_NAME_PARTS) and parts[0] != REFERENCES_DIR
            and all(len(part) <= MAX_NAME_PART and rule.fullmatch(part) for rule, part in zip(_NAME_PARTS, parts)))


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

def read_grid(root: Path) -> dict[str, dict]:
    """Cell name -> params of every cell recorded in ``root/grid.json`` ({} when absent); every name checked."""
    path = Path(root) / GRID_FILE
    if check_entry(path) is None:
        return {}
    grid = read_json(path)
    if not isinstance(grid, dict) or not isinstance(grid.get("cells"), dict):
        raise VaebenchError(f"corrupt results file {path}: expected an object with a 'cells' object")
    for name, params in grid["cells"].items():
        check_cell_name(name, root, path)
        if not isinstance(params, dict):
            raise VaebenchError(f"corrupt results file {path}: cell {name} has no parameter object")
    return grid["cells"]


def grid_dirs(root: Path) -> list[Path]:
    """Every results dir at or below ``root`` (a folder holding a ``grid.json``), sorted."""
    return sorted(path.parent for path in Path(root).rglob(GRID_FILE))


def read_presets(root: Path) -> dict[str, str]:
    """Preset name -> description of every preset that ran into ``root`` ({} when unknown)."""
    path = Path(root) / GRID_FILE
    presets = read_json(path).get("presets", {}) if check_entry(path) is not None else {}
    return presets if isinstance(presets, dict) else {}


def record_cells(root: Path, cells: dict[str, dict], presets: dict[str, str] | None = None) -> None:
    """Add cells (and the presets they came from) to ``grid.json``; refuse (touching nothing) a name recorded with other params."""
    recorded = read_grid(root)
    for name, params in cells.items():
        check_cell_name(name, root, Path(root) / GRID_FILE)
        old = recorded.get(name)
        if old is not None and old != params:
            changed = sorted(key for key in set(old) | set(params) if old.get(key) != params.get(key))
            raise VaebenchError(
                f"results dir {root} already holds cell {name} with other settings ({', '.join(changed)}); "
                "use another --results dir or the settings it was trained with"
            )
    write_json(Path(root) / GRID_FILE, {"cells": {**recorded, **cells}, "presets": {**read_presets(root), **(presets or {})}})


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


def read_metrics(cell_dir: Path) -> dict | None:
    """A cell's metrics.json, checked; None when it has none."""
    path = Path(cell_dir) / METRICS_FILE
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
    return metrics


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


def reset_cell_dir(cell_dir: Path) -> None:
    """Make ``cell_dir`` ready to train into: created if missing, emptied of what an interrupted run left."""
    cell_dir = Path(cell_dir)
    if cell_dir.is_dir():
        for child in cell_dir.iterdir():
            if child.is_file():
                child.unlink()
            elif child.is_dir() and child.name in ("logs", PICTURES_DIR):
                shutil.rmtree(child)
    cell_dir.mkdir(parents=True, exist_ok=True)


def replace_cell_dir(cell_dir: Path, fill) -> None:
    """Build a (cell) directory with ``fill(staging_dir)`` beside it, then swap it in in one step.

    Readers, and a kill -9 at any point, see the old directory or the new one, never a half-filled or
    half-deleted one (where the file system cannot exchange two names, for an instant neither).
    """
    cell_dir = Path(cell_dir)
    cell_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging_dir(cell_dir)
    old = staging  # after an exchange the staging folder holds the old directory
    try:
        with naming(cell_dir):
            fill(staging)
            if not cell_dir.exists():
                os.replace(staging, cell_dir)
            elif not _exchange(staging, cell_dir):
                # No atomic exchange here: move the old one aside whole first, so no kill leaves half of it.
                old = make_staging_dir(cell_dir)
                os.replace(cell_dir, old)
                os.replace(staging, cell_dir)
    finally:
        # A kill while deleting these leaves only staging folders, which the next writing command removes.
        for leftover in {staging, old}:
            shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # an old kernel, or a file system that cannot exchange
    raise OSError(code, os.strerror(code), str(b))


_LIBC = ctypes.CDLL(None, use_errno=True)


def pack_cell_dir(cell_dir: Path) -> dict[str, bytes]:
    """Every file of a cell directory as {relative path: bytes} (empty when it does not exist); hidden ones are not results.

    A symbolic link (or pipe, device) anywhere in it is refused, never followed."""
    cell_dir = Path(cell_dir)
    if check_entry(cell_dir) is None:
        return {}
    check_tree(cell_dir)
    return {str(path.relative_to(cell_dir)): read_bytes(path) for path in sorted(cell_dir.rglob("*"))
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(cell_dir).parts)}


def unpack_cell_dir(files: dict[str, bytes], cell_dir: Path) -> None:
    """Write what :func:`pack_cell_dir` returned into ``cell_dir``."""
    for relative, content in files.items():
        path = Path(cell_dir) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@dataclass
class Experiment:
    """One cell of a results dir: params, history, metrics, checkpoints, and lazily loaded models."""

    name: str
    path: Path
    params: dict
    status: CellStatus
    _models: dict = field(default_factory=dict, repr=False)

    @cached_property
    def metrics(self) -> dict | None:
        return read_metrics(self.path)

    @property
    def scores(self) -> dict:
        return (self.metrics or {}).get("scores", {})

    @cached_property
    def history(self):
        return read_history(self.path)

    @cached_property
    def checkpoints(self):
        """Scores along training (step, metric, value); empty for a cell trained without them."""
        return read_checkpoints(self.path)

    @property
    def encoder(self):
        return self._load_model(ENCODER_FILE)

    @property
    def decoder(self):
        return self._load_model(DECODER_FILE)

    @property
    def has_models(self) -> bool:
        return all((self.path / filename).is_file() for filename in MODEL_FILES)

    def _load_model(self, filename: str):
        if filename not in self._models:
            self._models[filename] = load_network(self.path, filename)
        return self._models[filename]

    def matches(self, where: dict | None) -> bool:
        if not where:
            return True
        flat = {**self.params.get("hparams", {}), **self.params}
        for key, wanted in where.items():
            options = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            if flat.get(key) not in options:
                return False
        return True


def read_history(cell_dir: Path):
    """A cell's history.csv as a DataFrame (empty when it has none); a VaebenchError when it has no header row."""
    import io

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


def load_network(cell_dir: Path, filename: str):
    """A stored Keras network of a trained cell; a VaebenchError if the cell kept no weights."""
    path = Path(cell_dir) / filename
    if check_entry(path) is None or not path.is_file():
        raise VaebenchError(f"{cell_dir} has no {filename}: this results dir does not keep its weights "
                            "(a published grid keeps only what its report needs); train the cell again to get them")
    import keras

    try:
        return keras.saving.load_model(path)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
        # Keras reports a truncated or foreign file as "File not found" (ValueError) or a zip error
        raise VaebenchError(f"corrupt results file {path}: cannot be loaded as a Keras model; "
                            "train the cell again (remove its directory)") from None


def load_experiments(results_dir, where: dict | None = None, include_failed: bool = False) -> list[Experiment]:
    """Every trained cell under ``results_dir`` whose params match ``where``, sorted by name.

    ``where`` maps a parameter (``model``, ``latent_dim``, ``seed``, ``family``,
    ``dataset``, or a hyperparameter such as ``beta``) to a value or a list of
    accepted values. Models load on first access of ``.encoder``/``.decoder``.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise VaebenchError(f"results dir {root} does not exist")
    experiments = []
    for params_path in sorted(root.rglob(PARAMS_FILE)):
        parts = params_path.relative_to(root).parts
        if any(part.startswith(".") for part in parts) or parts[0] == REFERENCES_DIR:
            continue  # a staging folder or other temporary copy, or a calibration row: never a cell
        check_path(root, params_path)
        check_tree(params_path.parent)
        params = read_params(params_path.parent)
        status = CellStatus(params["status"])
        if status != CellStatus.DONE and not (include_failed and status == CellStatus.FAILED):
            continue
        experiment = Experiment(params["name"], params_path.parent, params, status)
        if experiment.matches(where):
            experiments.append(experiment)
    return experiments


PARAM_COLUMNS = ("name", "dataset", "image_size", "model", "family", "latent_dim", "seed", "steps")


def metrics_frame(experiments: Iterable[Experiment]):
    """A tidy DataFrame: one row per (cell, metric), with the cell's parameters as columns.

    ``value`` is NaN where the metric does not apply; ``note`` then says why.
    """
    import pandas as pd

    rows = []
    for experiment in experiments:
        base = _cell_columns(experiment)
        for metric, value in sorted(experiment.scores.items()):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            rows.append({**base, "metric": metric, "value": float(value) if numeric else math.nan,
                         "note": None if numeric else str(value)})
    return pd.DataFrame(rows)


# --- calibration rows --------------------------------------------------------

def reference_name(dataset: str, kind: str, family: str | None = None, latent_dim: int | None = None,
                   seed: int | None = None) -> str:
    """The folder of one calibration row, relative to the results dir, e.g. ``references/dsprites32/pca/z4/s0``.

    ``dataset`` is spelt as cell names start (``dsprites32``); only the parts ``REFERENCE_KINDS`` names for
    ``kind`` are used.
    """
    values = {"family": family, "latent_dim": f"z{latent_dim}", "seed": f"s{seed}"}
    return "/".join([REFERENCES_DIR, dataset, kind, *(values[part] for part in REFERENCE_KINDS[kind])])


def reference_dirs(root: Path) -> dict[str, Path]:
    """Name (see :func:`reference_name`) -> folder of every calibration row stored under ``root`` with a metrics.json."""
    root = Path(root)
    return {path.parent.relative_to(root).as_posix(): path.parent
            for path in sorted((root / REFERENCES_DIR).rglob(METRICS_FILE))
            if not any(part.startswith(".") for part in path.relative_to(root).parts)}


def _reference_row(name: str, source: Path) -> dict:
    """dataset, reference, family, latent_dim and seed of a calibration row's name; a VaebenchError naming ``source`` otherwise."""
    parts = name.split("/")[1:]
    kind = parts[1] if len(parts) > 1 else None
    layout = REFERENCE_KINDS.get(kind)
    if layout is None or len(parts) != 2 + len(layout) or not _NAME_PART.fullmatch(parts[0]):
        raise VaebenchError(f"corrupt results file {source}: {name} is not a calibration row; expected "
                            f"{REFERENCES_DIR}/<dataset>/<kind>/... with a kind among {', '.join(REFERENCE_KINDS)}")
    row = {"dataset": parts[0], "reference": kind, "family": None, "latent_dim": None, "seed": None}
    for part, value in zip(layout, parts[2:]):
        prefix = {"latent_dim": "z", "seed": "s"}.get(part)
        if prefix and not re.fullmatch(rf"{prefix}[0-9]+", value):
            raise VaebenchError(f"corrupt results file {source}: {value!r} in {name} is not {prefix}<int>")
        row[part] = int(value[1:]) if prefix else value
    return row


def load_references(results_dir):
    """The calibration rows of a results dir as a tidy DataFrame, without Keras: one row per (row, score).

    Columns: dataset (as cell names spell it, e.g. ``dsprites32``), reference (the kind: mean_image, chance,
    pca, random, untrained), family, latent_dim, seed (missing where the kind has none), metric, value (NaN
    where the score does not apply) and note (then its "n/a: ..." reason). Empty when none are stored.
    """
    import pandas as pd

    root = Path(results_dir)
    if not root.is_dir():
        raise VaebenchError(f"results dir {root} does not exist")
    rows = []
    for name, folder in reference_dirs(root).items():
        base = _reference_row(name, folder / METRICS_FILE)
        for metric, value in sorted(read_metrics(folder)["scores"].items()):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            rows.append({**base, "metric": metric, "value": float(value) if numeric else math.nan,
                         "note": None if numeric else str(value)})
    columns = ["dataset", "reference", "family", "latent_dim", "seed", "metric", "value", "note"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"latent_dim": "Int64", "seed": "Int64", "value": float})


def checkpoints_frame(experiments: Iterable[Experiment]):
    """A tidy DataFrame of the scores along training: one row per (cell, step, metric), with the cell's parameters."""
    import pandas as pd

    frames = [experiment.checkpoints.assign(**_cell_columns(experiment)) for experiment in experiments]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(CHECKPOINT_COLUMNS))


def _cell_columns(experiment: Experiment) -> dict:
    """The cell's parameters as the columns of a tidy frame (hyperparameters prefixed ``hp_``)."""
    columns = {column: experiment.params.get(column) for column in PARAM_COLUMNS}
    columns.update({f"hp_{key}": value for key, value in experiment.params.get("hparams", {}).items()})
    return columns
