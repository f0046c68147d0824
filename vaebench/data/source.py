"""Where a file dataset is read from: its path and, for a CSV table, which columns play which part."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaebench.errors import VaebenchError


@dataclass(frozen=True)
class DataSource:
    """``--data-path`` with the CSV options of the command line (``--label-column``, ``--factor-columns``, ``--categorical``)."""

    path: str
    label_column: str | None = None
    factor_columns: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    @property
    def has_table_options(self) -> bool:
        return bool(self.label_column or self.factor_columns or self.categorical)


def check_data_file(path: Path, expected: str) -> None:
    """Refuse, saying what stands there, a data path that is no regular file: missing, a folder, or a pipe or device
    (which a reader would wait on, or read forever). ``expected`` says what should be there."""
    path = Path(path)
    if not path.exists():
        raise VaebenchError(f"data file {path} not found; expected {expected}")
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe, socket or device)"
        raise VaebenchError(f"data file {path} is {kind}; expected {expected}")
