"""Preset TOML files, shipped (``vaebench/presets/``) or a user's, read into their tables.

Keras-free, so the report can read the shipped presets' facts without loading the models that
``vaebench.grid.load_preset`` checks a preset against.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from vaebench.errors import VaebenchError

PRESET_DIR = resources.files("vaebench") / "presets"


def preset_names() -> list[str]:
    return sorted(path.name.removesuffix(".toml") for path in PRESET_DIR.iterdir() if path.name.endswith(".toml"))


def read_preset_table(name_or_path: str) -> tuple[dict, str, str]:
    """A shipped preset by name (smoke, cpu, paper) or a preset TOML file by path: (its table, its name, where it came from)."""
    if name_or_path in preset_names():
        source, text, name = f"preset {name_or_path}", (PRESET_DIR / f"{name_or_path}.toml").read_text(), name_or_path
    elif name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise VaebenchError(f"cannot read preset file {path}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise VaebenchError(f"cannot read preset file {path}: not UTF-8 text (byte {error.start}); TOML files are UTF-8") from None
        source, name = f"preset file {path}", path.stem
    else:
        raise VaebenchError(f"unknown preset {name_or_path!r}; accepted: {', '.join(preset_names())} or a path to a .toml file")
    try:
        return tomllib.loads(text), name, source
    except tomllib.TOMLDecodeError as error:
        raise VaebenchError(f"malformed {source}: {error}") from None
