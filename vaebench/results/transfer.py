"""Cells as bytes, for workers without a shared file system: packed where they trained, unpacked where they go."""

from __future__ import annotations

from pathlib import Path

from vaebench.results.files import check_entry, check_tree, read_bytes


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
