"""Where a file dataset is read from: its path and, for a CSV table, which columns play which part."""

from __future__ import annotations

from dataclasses import dataclass


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
