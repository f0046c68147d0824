"""The closed vocabularies of the data: what a dataset's samples hold, and what a table's column holds.

Both are ``str``-valued, so a cell's card, a table's column spec and ``pictures.json`` store them as the
plain strings ("images", "numeric") they always held, and read them back with ``DataKind(text)``.
"""

from __future__ import annotations

import enum


class StoredVocabulary(str, enum.Enum):
    """A closed vocabulary stored as its members' plain strings: printed, formatted and saved as the value."""

    def __str__(self) -> str:
        return self.value


class DataKind(StoredVocabulary):
    """What one sample of a dataset holds; a model names the kinds it trains on."""

    IMAGES = "images"
    SEQUENCES = "sequences"
    TWO_VIEWS = "two_views"
    TABLES = "tables"

    @property
    def label(self) -> str:
        """The kind as a sentence names it ("two views")."""
        return self.value.replace("_", " ")

    @property
    def has_image_size(self) -> bool:
        """Whether its datasets render at a chosen image size (a sequence or a record has none)."""
        return self not in (DataKind.SEQUENCES, DataKind.TABLES)


class ColumnKind(StoredVocabulary):
    """What one observed column of a table holds (see ``vaebench.data.columns``)."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BINARY = "binary"
