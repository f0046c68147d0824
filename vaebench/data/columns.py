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

KINDS = ("numeric", "categorical", "binary")


@dataclass(frozen=True)
class Column:
    """One observed column. ``categories``: the values of a categorical or binary column, in encoding order."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0

    @property
    def width(self) -> int:
        """How many values the column takes in an encoded record."""
        return len(self.categories) if self.kind == "categorical" else 1

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
    parts = []
    for column in columns:
        column_values = np.asarray(values[column.name])
        if column.kind == "numeric":
            parts.append(((column_values.astype(np.float64) - column.mean) / column.std)[:, None])
        elif column.kind == "categorical":
            parts.append(np.eye(column.width)[column_values.astype(np.int64)])
        else:
            parts.append(column_values.astype(np.float64)[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)


def decode_means(columns: tuple[Column, ...], means: np.ndarray) -> dict[str, np.ndarray]:
    """Each column's decoded value from the likelihood's means (n, D): numeric de-standardised (n,),
    categorical the probability of each category (n, K), binary the probability of its second category (n,)."""
    decoded = {}
    for column, start, stop in offsets(columns):
        part = np.asarray(means[:, start:stop], np.float64)
        if column.kind == "numeric":
            decoded[column.name] = part[:, 0] * column.std + column.mean
        elif column.kind == "categorical":
            decoded[column.name] = part
        else:
            decoded[column.name] = part[:, 0]
    return decoded


def raw_values(columns: tuple[Column, ...], records: np.ndarray) -> dict[str, np.ndarray]:
    """Each column's values back from encoded records: numbers for numeric columns, category indices otherwise."""
    values = {}
    for column, start, stop in offsets(columns):
        part = np.asarray(records[:, start:stop], np.float64)
        if column.kind == "numeric":
            values[column.name] = part[:, 0] * column.std + column.mean
        elif column.kind == "categorical":
            values[column.name] = part.argmax(axis=1)
        else:
            values[column.name] = (part[:, 0] > 0.5).astype(np.int64)
    return values
