"""How vaebench touches the disk: atomic writes, staging folders and directory swaps, the removal of its own
leftovers, and reading only the regular files and folders of a results dir, within size and depth limits."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any

from vaebench.errors import VaebenchError
from vaebench.results.layout import LOGS_DIR, PICTURES_DIR, SNAPSHOTS_DIR

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


def remove_temporaries(folders) -> list[Path]:
    """Remove vaebench's temporary files and staging folders (by their names' patterns) from ``folders``; returns them."""
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


def results_dir_error(root: Path) -> VaebenchError:
    """What a command says of a results dir that is no folder: missing, or a file (or anything else) in its place."""
    if os.path.lexists(root):
        return VaebenchError(f"results dir {root} is not a folder (a file or something else stands there); "
                             "give a folder")
    return VaebenchError(f"results dir {root} does not exist")


def check_writable(root: Path) -> None:
    """Fail with a one-line error, before any work, when ``root`` cannot hold results."""
    root = Path(root)
    if os.path.lexists(root) and not root.is_dir():
        raise results_dir_error(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        # missing_ok: the command holding this dir may already have removed it as a leftover
        _create_unique(_make_file, root, lambda random: f".write-check.{random}.tmp").unlink(missing_ok=True)
    except OSError as error:
        raise VaebenchError(f"results dir {root} cannot be written: {error.strerror or error}") from None


def reset_cell_dir(cell_dir: Path) -> None:
    """Make ``cell_dir`` ready to train into: created if missing, emptied of what an interrupted run left."""
    cell_dir = Path(cell_dir)
    if cell_dir.is_dir():
        for child in cell_dir.iterdir():
            if child.is_file():
                child.unlink()
            elif child.is_dir() and child.name in (LOGS_DIR, PICTURES_DIR, SNAPSHOTS_DIR):
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
