"""Publishing a built site into its out dir: a staging folder moved in, and a manifest of what the site owns there.

A build writes every page into a hidden staging folder beside the out dir; only then are its files moved
in. The manifest (``SITE_MANIFEST``) records each file a build wrote with its sha256 and the build that
wrote it, so a rebuild replaces or removes a file only while it still has that content and leaves every
other file alone; a kill at any moment leaves a manifest naming every file of ours with the content it
may have. A file may also record a digest of what it was built from ("inputs"): a rebuild whose file
would be built from the same inputs carries the earlier one over (``Earlier.carry``) instead of writing it.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from vaebench.errors import VaebenchError
from vaebench.results.files import STAGING_DIR, make_staging_dir, naming, write_json
from vaebench.results.records import read_grid

#: the files a build wrote into its out dir, each with its sha256 and the build that wrote it: a rebuild replaces
#: or removes a file only while it still has that content, and leaves every other file alone
SITE_MANIFEST = ".vaebench-site.json"
#: a manifest entry: {"sha256": hex digest, "build": the build's id}, and optionally "inputs": the digest of what it was built from
_MANIFEST_ENTRY = {"sha256": re.compile(r"[0-9a-f]{64}"), "build": re.compile(r".+")}
_INPUTS = re.compile(r"[0-9a-f]{64}")


class Earlier:
    """The files an earlier, completed build left in the out dir, for this build to carry over where it would build
    them from the same inputs; and the inputs of every file this build writes, for the manifest."""

    def __init__(self, out_dir: Path, recorded: dict[str, dict]):
        self.out_dir, self.recorded = out_dir, recorded
        #: the folder of the site this view's paths are relative to ("" for the root; ``within``)
        self.prefix = ""
        #: relative path -> the digest of the inputs this build made it from (written or carried over)
        self.inputs: dict[str, str] = {}
        #: relative path -> its earlier manifest entry, for each file carried over
        self.carried: dict[str, dict] = {}
        #: each folder ("cells/x/") -> the recorded files below it: a scan of every file per folder would grow
        #: with the square of the site's size
        self._below: dict[str, list[str]] = {}
        for relative in recorded:
            parts = relative.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                self._below.setdefault("/".join(parts[:depth]) + "/", []).append(relative)

    def within(self, folder: str) -> "Earlier":
        """The same earlier build and records, seen from ``folder`` ("name/"): the paths a study in that folder of the
        site carries or records are relative to it."""
        view = copy.copy(self)
        view.prefix = self.prefix + folder
        return view

    def carry(self, staging: Path, paths: list[str], inputs: str) -> bool:
        """Link the earlier build's ``paths`` (relative to ``staging``, this view's folder of the site; a path ending in
        "/": every file it wrote below that folder) into ``staging``, if it built every one of them from ``inputs`` and
        each still has the content it wrote; otherwise link nothing and return False (the caller builds them)."""
        files = [r for path in paths for r in (self._below.get(self.prefix + path, []) if path.endswith("/")
                                               else [self.prefix + path])]
        entries = [self.recorded.get(relative) for relative in files]
        if not all(entry and entry.get("inputs") == inputs for entry in entries) or not all(
                _in_real_folders(self.out_dir, relative) and _digest(self.out_dir / relative) == entry["sha256"]
                for relative, entry in zip(files, entries)):
            return False
        for relative, entry in zip(files, entries):
            target = staging / relative.removeprefix(self.prefix)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.out_dir / relative, target)
            except OSError:  # another file system, or links not allowed: a copy does as well
                shutil.copyfile(self.out_dir / relative, target)
            self.carried[relative] = entry
        self.inputs.update(dict.fromkeys(files, inputs))
        return True

    def built_from(self, paths: list[str], inputs: str) -> None:
        """Record that this build made ``paths`` (relative to this view's folder of the site) from ``inputs``."""
        self.inputs.update({self.prefix + path: inputs for path in paths})


def inputs_digest(*parts) -> str:
    """The digest of what a file is built from: ``parts`` are strings, bytes, or JSON-able values."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else (part if isinstance(part, str) else
                                                     json.dumps(part, sort_keys=True, default=str)).encode()
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def publish(out_dir: Path, grid_dirs: list[Path], write: Callable[[Path, Earlier], None], warn=None) -> None:
    """Call ``write(staging, earlier)`` to build the site in a staging folder, then move it into ``out_dir``; ``write``
    carries over what it can of the earlier build (``Earlier``).

    ``out_dir`` is refused before anything is written where it is not the site's to write (a file, a
    folder holding one of the ``grid_dirs`` the site is built from, a non-empty folder no build wrote); a failed or killed build leaves it
    as it was. ``warn`` (default: a line on stderr) is told of the files an earlier build wrote that
    changed since, which are left alone.
    """
    out_dir = Path(out_dir)
    ours, recorded = _earlier_build(out_dir, grid_dirs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging_dir(out_dir)
    try:
        with _held(staging):
            _remove_killed_builds(out_dir, staging)
            with naming(out_dir):  # no results lock: the build only reads, and every results file is replaced atomically
                earlier = Earlier(out_dir, recorded)
                write(staging, earlier)
                _swap_in(staging, out_dir, ours, warn or _warn, earlier)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _held(staging: Path):
    """Hold a build's staging folder (an OS lock on the folder, which a killed build releases with its death), so
    that another build tells this live one from a killed one's leftover."""
    descriptor = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove_killed_builds(out_dir: Path, own: Path) -> None:
    """Remove the staging folders killed builds of ``out_dir`` left beside it; refuse while another build holds its own."""
    for other in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.staging-*"):
        if other == own or not STAGING_DIR.fullmatch(other.name) or not other.is_dir() or other.is_symlink():
            continue
        descriptor = os.open(other, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaebenchError(f"--out {out_dir} is being built by another vaebench build-site now (its staging folder "
                                f"{other.name}); wait for it to finish, then build again") from None
        else:
            shutil.rmtree(other)
        finally:
            os.close(descriptor)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _earlier_build(out_dir: Path, grid_dirs: list[Path]) -> tuple[dict[str, dict[str, str] | None], dict[str, dict]]:
    """What an earlier build wrote in ``out_dir``: {relative path: {sha256 it may have: the build that wrote it}}, and
    the manifest entries of a completed earlier build (none after a killed one); refuse an ``out_dir`` that is not
    the site's to write.

    A manifest written before digests were recorded (a plain list of paths) gives None for each path: such a
    file is replaced only by the file of the same name this build writes, and never removed.
    """
    out = out_dir.resolve()
    if out_dir.is_symlink() and not out_dir.exists():
        raise VaebenchError(f"--out {out_dir} is a link to {os.readlink(out_dir)}, which does not exist; "
                            "choose a folder for the site (new, empty, or an earlier site)")
    if out_dir.exists() and not out_dir.is_dir():
        raise VaebenchError(f"--out {out_dir} is a file; expected a folder for the site (new, empty, or an earlier site)")
    for grid_dir in grid_dirs:
        results = grid_dir.resolve()
        if results.is_relative_to(out):
            raise VaebenchError(f"--out {out_dir} holds the results dir {grid_dir}; choose a folder outside it, e.g. {out.parent / 'site'}")
        if out.is_relative_to(results) and out.relative_to(results).parts[0] in {name.split("/")[0] for name in read_grid(grid_dir).cells}:
            raise VaebenchError(f"--out {out_dir} is inside the cells of the results dir {grid_dir}; choose a folder outside them")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return {}, {}
    manifest = out_dir / SITE_MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        raise VaebenchError(f"out dir {out_dir} exists and is not a vaebench site; refusing to replace it: it has no "
                            f"{SITE_MANIFEST}; choose another --out, or a new or empty folder")
    problem = f"corrupt site manifest {manifest}: expected the files a vaebench build wrote inside {out_dir}"
    try:
        recorded = json.loads(manifest.read_text())
    except (ValueError, RecursionError, OSError):
        raise VaebenchError(problem) from None
    if isinstance(recorded, dict) and isinstance(recorded.get("files"), list):  # written before digests were recorded
        files = recorded["files"]
        if not all(isinstance(f, str) and _inside(f) for f in files):
            raise VaebenchError(problem)
        return dict.fromkeys(files), {}
    sections = [recorded.get(key, {}) for key in ("files", "incoming")] if isinstance(recorded, dict) else [None]
    if not all(isinstance(section, dict) and all(_inside(f) and _is_entry(entry) for f, entry in section.items())
               for section in sections):
        raise VaebenchError(problem)
    ours: dict[str, dict[str, str] | None] = {}
    for section in sections:
        for relative, entry in section.items():
            ours.setdefault(relative, {})[entry["sha256"]] = entry["build"]
    return ours, ({} if "incoming" in recorded else recorded["files"])


def _is_entry(entry) -> bool:
    return isinstance(entry, dict) and set(_MANIFEST_ENTRY) <= set(entry) <= {*_MANIFEST_ENTRY, "inputs"} and \
        all(isinstance(entry[key], str) and rule.fullmatch(entry[key]) for key, rule in _MANIFEST_ENTRY.items()) and \
        ("inputs" not in entry or (isinstance(entry["inputs"], str) and bool(_INPUTS.fullmatch(entry["inputs"]))))


def _inside(relative: str) -> bool:
    """Whether a manifest's path names a file below the site folder (relative, no "..", no empty part)."""
    parts = relative.split("/")
    return all(part not in ("", ".", "..") for part in parts) and "\\" not in relative and "\0" not in relative


def _digest(path: Path) -> str | None:
    """The sha256 of the regular file at ``path`` (not followed if a link); None for anything else or nothing."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return hashlib.sha256(handle.read()).hexdigest()


def _in_real_folders(out_dir: Path, relative: str) -> bool:
    """Whether every folder between ``out_dir`` and ``relative`` is a real folder or missing: never a link or a file."""
    folder = out_dir
    for part in relative.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            return False
    return True


def _swap_in(staging: Path, out_dir: Path, ours: dict[str, dict[str, str] | None], warn, earlier: Earlier) -> None:
    """Move the built site from ``staging`` into ``out_dir``: a file there is replaced or removed only if an earlier
    build wrote it and it still has that content; the others stay, and ``warn`` is told once of those it had written.
    A file carried over keeps its earlier entry (its build, its content); every file records its inputs where known."""
    build = f"{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}-{secrets.token_hex(4)}"
    built = {}
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging).as_posix()
        if path.is_file():
            carried = earlier.carried.get(relative)
            built[relative] = {"sha256": carried["sha256"] if carried else _digest(path),
                               "build": carried["build"] if carried else build,
                               **({"inputs": earlier.inputs[relative]} if relative in earlier.inputs else {})}
    if not out_dir.exists():
        write_json(staging / SITE_MANIFEST, {"files": built})
        os.rename(staging, out_dir)
        return
    # a file carried over was read for its digest when it was linked into the staging folder, moments ago
    present = {relative: earlier.carried[relative]["sha256"] if relative in earlier.carried else
               _digest(out_dir / relative) if _in_real_folders(out_dir, relative) else None
               for relative in set(ours) | set(built)}
    mine = {relative: {"sha256": present[relative], "build": builds[present[relative]] if builds else "unrecorded"}
            for relative, builds in ours.items()
            if present[relative] is not None and (present[relative] in builds if builds is not None else relative in built)}
    blocked = [relative for relative in built if relative not in mine and
               (not _in_real_folders(out_dir, relative) or os.path.lexists(out_dir / relative))]
    if blocked:
        raise VaebenchError(f"--out {out_dir} holds {blocked[0]}{f' and {len(blocked) - 1} more' if len(blocked) > 1 else ''} "
                            "that vaebench did not write (or that changed since), where this build writes its own; "
                            "move it away and build again, or choose another --out")
    kept = sorted(relative for relative in ours if relative not in mine and os.path.lexists(out_dir / relative))
    if kept:
        warn(f"left {len(kept)} file{'s' if len(kept) > 1 else ''} in {out_dir} that an earlier build wrote but that changed "
             f"since, or whose content it did not record (now yours, no longer the site's): {', '.join(kept)}")
    # From here on the manifest names every file of ours in out_dir with the content it may have, wherever a kill interrupts.
    write_json(out_dir / SITE_MANIFEST, {"files": mine, "incoming": built})
    for relative in built:
        (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, out_dir / relative)
    for relative in sorted(set(mine) - set(built)):
        (out_dir / relative).unlink(missing_ok=True)
        for parent in (out_dir / relative).parents:
            if parent == out_dir or any(parent.iterdir()):
                break
            parent.rmdir()
    write_json(out_dir / SITE_MANIFEST, {"files": built})
