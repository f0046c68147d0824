"""The results lock: one writing command at a time per results dir, and the leftovers of killed ones removed."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

from vaebench.errors import VaebenchError
from vaebench.results.files import remove_temporaries, results_dir_error, write_json
from vaebench.results.layout import LOCK_FILE, LOCK_INFO_FILE, REFERENCES_DIR, snapshot_dirs
from vaebench.results.records import read_grid

LOCK_GRACE_SECONDS = 1.0


@contextlib.contextmanager
def results_lock(root: Path, command: str):
    """Hold the results dir ``root`` for one writing command, or fail naming who holds it.

    The lock is an OS file lock (``filelock``), so a holder killed with ``kill -9`` releases it
    with its death. Once held, vaebench's own leftovers of killed commands are removed.
    """
    import filelock

    root = Path(root)
    if not root.is_dir():
        raise results_dir_error(root)
    # A short grace, not a wait: a holder that is just finishing lets go, one just starting has said who it is.
    lock = filelock.FileLock(root / LOCK_FILE, timeout=LOCK_GRACE_SECONDS)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _in_use(root) from None
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


def check_not_held(root: Path) -> None:
    """Refuse at once a results dir that another command holds, as :func:`results_lock` would: a command checks this
    before its slow start (Keras) and takes the lock itself once it writes. A dir that is not there is held by no one;
    one whose lock cannot be opened is left for results_lock to name."""
    import filelock

    if not Path(root).is_dir():
        return
    lock = filelock.FileLock(Path(root) / LOCK_FILE, timeout=LOCK_GRACE_SECONDS)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _in_use(root) from None
    except OSError:
        return
    lock.release()


def _in_use(root: Path) -> VaebenchError:
    return VaebenchError(f"results dir {root} is in use by {_holder(root)}; wait for it to finish "
                         "(or stop it), then run this command again")


def _holder(root: Path) -> str:
    try:
        info = json.loads((Path(root) / LOCK_INFO_FILE).read_text())
        return f"`vaebench {info['command']}` (pid {info['pid']} on {info['host']})"
    except (OSError, ValueError, KeyError, TypeError):  # the holder is still writing it, or was killed doing so
        return "another vaebench command"


def remove_leftovers(root: Path) -> list[Path]:
    """Remove what killed vaebench commands left in a results dir: temporary files and staging folders.

    Only the folders vaebench writes in (the root, each cell of its grid, its snapshots and the folder holding it)
    are looked at, and only names matching vaebench's own patterns are touched. Returns what was removed.
    """
    root = Path(root)
    cells = [root / name for name in read_grid(root).cells]
    folders = {root, *(path for cell in cells for path in (cell, cell.parent, *snapshot_dirs(cell).values()))}
    references = root / REFERENCES_DIR
    if references.is_dir() and not references.is_symlink():
        # hidden folders (staging folders, and anything inside them) are leftovers themselves, not places to look
        folders |= {references, *(path for path in references.rglob("*") if path.is_dir() and not path.is_symlink()
                                  and not any(part.startswith(".") for part in path.relative_to(references).parts))}
    return remove_temporaries(folders)
