"""The columns of a table: what each one is, and how records become the vectors a model reads.

A record is encoded column by column, in order: a numeric column as one standardised
value ((x − mean) / std, both from the training records), a categorical column as the
one-hot vector of its K categories, a binary column as one value, 0 or 1 (1 for its second
category). The decoder's output has the same layout, and the table likelihood
(``vaebench.models.likelihoods``) reads it with the same slices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from vaebench.kinds import ColumnKind


@dataclass(frozen=True)
class Column:
    """One observed column. ``categories``: the values of a categorical or binary column, in encoding order."""

    name: str
    kind: ColumnKind
    categories: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "kind", ColumnKind(self.kind))

    @property
    def numeric(self) -> bool:
        return self.kind is ColumnKind.NUMERIC

    @property
    def width(self) -> int:
        """How many values the column takes in an encoded record."""
        return len(self.categories) if self.kind is ColumnKind.CATEGORICAL else 1

    def encode(self, values: np.ndarray) -> np.ndarray:
        """(n, width) encoded values from numbers (numeric) or category indices (otherwise)."""
        values = np.asarray(values)
        if self.kind is ColumnKind.NUMERIC:
            return ((values.astype(np.float64) - self.mean) / self.std)[:, None]
        if self.kind is ColumnKind.CATEGORICAL:
            return np.eye(self.width)[values.astype(np.int64)]
        return values.astype(np.float64)[:, None]

    def decoded(self, means: np.ndarray) -> np.ndarray:
        """The column's value from its part (n, width) of the likelihood's means: numeric de-standardised (n,),
        categorical the probability of each category (n, K), binary the probability of its second category (n,)."""
        if self.kind is ColumnKind.NUMERIC:
            return means[:, 0] * self.std + self.mean
        return means if self.kind is ColumnKind.CATEGORICAL else means[:, 0]

    def values(self, encoded: np.ndarray) -> np.ndarray:
        """The column's values back from its part (n, width) of encoded records: numbers, or category indices."""
        if self.kind is ColumnKind.NUMERIC:
            return encoded[:, 0] * self.std + self.mean
        if self.kind is ColumnKind.CATEGORICAL:
            return encoded.argmax(axis=1)
        return (encoded[:, 0] > 0.5).astype(np.int64)

    def probabilities(self, decoded: np.ndarray) -> np.ndarray:
        """A categorical or binary column's decoded value as one probability per category (n, K)."""
        return decoded if self.kind is ColumnKind.CATEGORICAL else np.stack([1.0 - decoded, decoded], axis=1)

    def readable(self, values: np.ndarray) -> np.ndarray:
        """Values as a person reads them: numbers to 5 decimals, category names."""
        return values.round(5) if self.numeric else np.asarray(self.categories, dtype=object)[values]

    def to_json(self) -> dict:
        return {**asdict(self), "categories": list(self.categories)}

    @classmethod
    def from_json(cls, data: dict) -> "Column":
        return cls(data["name"], data["kind"], tuple(data["categories"]), float(data["mean"]), float(data["std"]))


def offsets(columns: tuple[Column, ...]) -> list[tuple[Column, int, int]]:
    """Each column with the [start, stop) slice it takes in an encoded record."""
    spans, start = [], 0
    for column in columns:
        spans.append((column, start, start + column.width))
        start += column.width
    return spans


def encoded_width(columns: tuple[Column, ...]) -> int:
    return sum(column.width for column in columns)


def encode(columns: tuple[Column, ...], values: dict[str, np.ndarray]) -> np.ndarray:
    """(n, D) float32 encoded records from each column's values: numbers for numeric columns, category indices otherwise."""
    return np.concatenate([column.encode(values[column.name]) for column in columns], axis=1).astype(np.float32)


def decode_means(columns: tuple[Column, ...], means: np.ndarray) -> dict[str, np.ndarray]:
    """Each column's decoded value (:meth:`Column.decoded`) from the likelihood's means (n, D)."""
    return {column.name: column.decoded(np.asarray(means[:, start:stop], np.float64))
            for column, start, stop in offsets(columns)}


def raw_values(columns: tuple[Column, ...], records: np.ndarray) -> dict[str, np.ndarray]:
    """Each column's values back from encoded records: numbers for numeric columns, category indices otherwise."""
    return {column.name: column.values(np.asarray(records[:, start:stop], np.float64))
            for column, start, stop in offsets(columns)}
