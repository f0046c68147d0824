"""Tables of records: scikit-learn's bundled ``wine`` and ``breast_cancer``, and the user's CSV files.

A table is held as encoded records (see ``columns``) with a fixed split: a seeded shuffle,
the first fifth held out. Standardisation uses the training part's mean and standard
deviation. A table may have a label column (for the conditional and branched models) and
factor columns (discrete columns that score disentanglement, left out of what the model
reads); factors are drawn as the factors of random records, and an observation for given
factors is a random record that has them.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from vaebench.data.base import Dataset, NoRecord, Sample
from vaebench.data.columns import Column, encode
from vaebench.data.source import check_data_file
from vaebench.errors import VaebenchError
from vaebench.kinds import ColumnKind

HELDOUT_FRACTION = 0.2
#: a table needs this many records: enough for a training and a held-out part
MIN_RECORDS = 20
#: the most distinct values a categorical or label column may take
MAX_CATEGORIES = 100
#: the most distinct values a factor column may take
MAX_FACTOR_VALUES = 50
#: the most columns a CSV file may have: the table likelihood traces one slice per column, so a model's
#: build time grows with the column count (10,000 columns did not build within 600 s)
MAX_COLUMNS = 1000


#: the largest standardised value a model can read (records are float32)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def split_indices(n: int) -> dict[str, np.ndarray]:
    """The records of each split: a shuffle seeded with 0, its first HELDOUT_FRACTION held out."""
    order = np.random.default_rng(0).permutation(n)
    heldout = math.ceil(HELDOUT_FRACTION * n)
    return {"test": order[:heldout], "train": order[heldout:]}


class TableDataset(Dataset):
    """Encoded records, (n, D) float32, with their labels and factors where the table has them."""

    deterministic = False  # the records for given factors are drawn at random

    def __init__(self, name: str, columns: tuple[Column, ...], records: np.ndarray, labels: np.ndarray | None = None,
                 label_names: tuple[str, ...] = (), factors: np.ndarray | None = None, factor_names: tuple[str, ...] = (),
                 factor_sizes: tuple[int, ...] = ()):
        self.name, self.columns, self.records = name, columns, records
        self.shape = (records.shape[1],)
        self.labels, self.label_names, self.num_classes = labels, label_names, len(label_names)
        self.factors, self.factor_names, self.factor_sizes = factors, factor_names, factor_sizes
        self._splits = split_indices(len(records))

    def sample(self, n: int, rng: np.random.Generator, split: str = "train") -> Sample:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; accepted: train, test")
        index = self._splits[split][rng.integers(0, len(self._splits[split]), n)]
        return self._sample(index)

    def _sample(self, index: np.ndarray) -> Sample:
        return Sample(self.records[index], None if self.factors is None else self.factors[index],
                      None if self.labels is None else self.labels[index])

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The factors of ``n`` random records: the table's own joint distribution of its factors."""
        self._require_factors()
        return self.factors[rng.integers(0, len(self.factors), n)]

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """A random record with each row's factors; :class:`NoRecord` where no record has them."""
        return self.records[self._records_with(factors, rng if rng is not None else np.random.default_rng())]

    def labels_for(self, factors: np.ndarray) -> np.ndarray | None:
        """The most frequent label among the records with each row's factors (the label itself where factors fix it)."""
        if self.labels is None:
            return None
        keys = self._keys(self.factors)
        majority = {}
        for key in np.unique(keys):
            majority[key] = np.bincount(self.labels[keys == key]).argmax()
        wanted = self._keys(np.asarray(factors))
        self._check_known(wanted, factors, set(majority))
        return np.array([majority[key] for key in wanted], np.int64)

    def _keys(self, factors: np.ndarray) -> np.ndarray:
        return np.ravel_multi_index(tuple(np.asarray(factors).T), self.factor_sizes)

    def _check_known(self, wanted: np.ndarray, factors: np.ndarray, known) -> None:
        missing = [i for i, key in enumerate(wanted) if key not in known]
        if missing:
            values = ", ".join(f"{name}={index}" for name, index in zip(self.factor_names, np.asarray(factors)[missing[0]]))
            raise NoRecord(f"no record of {self.name} has the factors {values}")

    def _records_with(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        keys = self._keys(self.factors)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        wanted = self._keys(np.asarray(factors))
        first = np.searchsorted(sorted_keys, wanted, side="left")
        count = np.searchsorted(sorted_keys, wanted, side="right") - first
        self._check_known(wanted, factors, set(sorted_keys[first[count > 0]]))
        return order[first + (rng.random(len(wanted)) * count).astype(np.int64)]


def table_from_values(name: str, values: dict[str, np.ndarray], kinds: dict[str, ColumnKind], labels: np.ndarray | None = None,
                      label_names: tuple[str, ...] = (), factors: np.ndarray | None = None,
                      factor_names: tuple[str, ...] = (), factor_sizes: tuple[int, ...] = ()) -> TableDataset:
    """A table from each column's values (numbers, or category names) and kind, standardised on its training part."""
    n = len(next(iter(values.values())))
    train = split_indices(n)["train"]
    columns, indexed = [], {}
    for column_name, kind in kinds.items():
        column_values = values[column_name]
        if kind is ColumnKind.NUMERIC:
            numbers = column_values.astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = float(numbers[train].mean()), float(numbers[train].std() or 1.0)
                standardised = (numbers - mean) / std
            if not (math.isfinite(mean) and math.isfinite(std) and np.all(np.abs(standardised) <= FLOAT32_MAX)):
                raise VaebenchError(f"numeric column {column_name!r} of {name} overflows once standardised (values up to "
                                    f"{np.abs(numbers).max():g}); accepted: numbers whose mean and spread fit in 64-bit "
                                    "floats and whose standardised values fit in 32-bit floats")
            columns.append(Column(column_name, kind, (), mean, std))
            indexed[column_name] = numbers
        else:
            categories, index = np.unique(column_values.astype(str), return_inverse=True)
            columns.append(Column(column_name, kind, tuple(str(c) for c in categories)))
            indexed[column_name] = index
    columns = tuple(columns)
    return TableDataset(name, columns, encode(columns, indexed), labels, label_names, factors, factor_names, factor_sizes)


def load_sklearn_table(name: str) -> TableDataset:
    """scikit-learn's bundled ``wine`` (178 wines, 13 measurements, 3 cultivars) or ``breast_cancer``
    (569 tumours, 30 measurements, malignant or benign): numeric columns, the class as label, no factors."""
    from sklearn import datasets

    bunch = {"wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer}[name]()
    values = {feature: bunch.data[:, i] for i, feature in enumerate(bunch.feature_names)}
    return table_from_values(name, values, dict.fromkeys(values, ColumnKind.NUMERIC), bunch.target.astype(np.int64),
                             tuple(str(t) for t in bunch.target_names))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_csv_table(path: str | Path, label_column: str | None = None, factor_columns: tuple[str, ...] = (),
                   categorical: tuple[str, ...] = ()) -> TableDataset:
    """A CSV file with a header row as a table; every problem is a one-line :class:`VaebenchError`.

    Columns named in ``categorical`` are categorical; any other column is numeric when every value is a
    number and categorical when none is; a column of exactly two values is binary. ``label_column`` and
    ``factor_columns`` (discrete: integers or text, at most MAX_FACTOR_VALUES values) leave the columns the
    model reads.
    """
    path = Path(path)
    check_data_file(path, "a CSV file with a header row")
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports write one) is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(line, row) for line, row in enumerate(csv.reader(handle), 1) if row]  # blank lines skipped
    except UnicodeDecodeError as error:
        raise VaebenchError(f"data file {path} is not UTF-8 text (byte {error.start}); expected a CSV file") from None
    except csv.Error as error:
        raise VaebenchError(f"data file {path} is not a readable CSV file: {error}") from None
    if not rows:
        raise VaebenchError(f"data file {path} is empty; expected a header row and at least {MIN_RECORDS} records")
    header = [name.strip() for name in rows[0][1]]
    if len(header) > MAX_COLUMNS:
        raise VaebenchError(f"data file {path} has {len(header)} columns; at most {MAX_COLUMNS} are accepted")
    if any(not name for name in header) or len(set(header)) < len(header):
        raise VaebenchError(f"data file {path}: the header row needs a distinct, non-empty name for every column")
    records = [row for _, row in rows[1:]]
    lines = np.array([line for line, _ in rows[1:]])
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise VaebenchError(f"data file {path} line {line}: {len(row)} fields, while the header names {len(header)} columns")
    for option, names in (("--label-column", (label_column,) if label_column else ()), ("--factor-columns", factor_columns),
                          ("--categorical", categorical)):
        for column_name in names:
            if column_name not in header:
                raise VaebenchError(f"{option} {column_name!r} is not a column of {path}; its columns: {', '.join(header)}")
    if len(records) < MIN_RECORDS:
        raise VaebenchError(f"data file {path} has {len(records)} records; at least {MIN_RECORDS} are needed "
                            f"(a training and a held-out part)")
    columns = {name: np.array([row[i].strip() for row in records], dtype=object) for i, name in enumerate(header)}
    for name, column_values in columns.items():
        empty = np.flatnonzero(column_values == "")
        if len(empty):
            raise VaebenchError(f"data file {path} line {lines[empty[0]]}: column {name!r} has no value; every record needs "
                                "a value in every column")
    for name, column_values in columns.items():
        if _distinct_values(column_values, as_text=name in categorical) < 2:
            raise VaebenchError(f"column {name!r} of {path} takes a single value ({column_values[0]}): it carries "
                                "nothing to learn; leave it out of the file")
    labels, label_names = None, ()
    if label_column:
        label_names, labels = _categories(columns[label_column], f"label column {label_column!r} of {path}", MAX_CATEGORIES)
    factors, factor_sizes = [], []
    for name in factor_columns:
        if any(_number(v) is not None and not float(v).is_integer() for v in columns[name]):
            raise VaebenchError(f"factor column {name!r} of {path} has non-integer numbers; factor columns must be "
                                f"discrete: integers or text, at most {MAX_FACTOR_VALUES} distinct values")
        values, index = _categories(columns[name], f"factor column {name!r} of {path}", MAX_FACTOR_VALUES)
        factors.append(index)
        factor_sizes.append(len(values))
    observed = [name for name in header if name != label_column and name not in factor_columns]
    if not observed:
        raise VaebenchError(f"data file {path} has no column left for the model to read once the label and factor "
                            "columns are set aside")
    kinds, values = {}, {}
    for name in observed:
        kinds[name], values[name] = _kind(path, lines, name, columns[name], name in categorical)
    return table_from_values("csv", values, kinds, labels, label_names,
                             np.stack(factors, axis=1).astype(np.int64) if factors else None, tuple(factor_columns),
                             tuple(factor_sizes))


def _distinct_values(values: np.ndarray, as_text: bool) -> int:
    """How many distinct values a column holds: numbers by their value ("1", "1.0" and "1.00" are one), unless the
    column is read ``as_text`` (named categorical), and text as it is spelt."""
    if as_text:
        return len(set(values))
    return len({number if (number := _number(value)) is not None else value for value in values})


def _categories(values: np.ndarray, what: str, limit: int) -> tuple[tuple[str, ...], np.ndarray]:
    categories, index = np.unique(values.astype(str), return_inverse=True)
    if len(categories) > limit:
        raise VaebenchError(f"{what} has {len(categories)} distinct values; at most {limit} are accepted")
    return tuple(str(c) for c in categories), index.astype(np.int64)


def _kind(path: Path, lines: np.ndarray, name: str, values: np.ndarray, named_categorical: bool) -> tuple[ColumnKind, np.ndarray]:
    """The column's kind and its values as the table reads them (numbers for a numeric column)."""
    distinct = len(set(values))
    if named_categorical:
        kind = ColumnKind.BINARY if distinct == 2 else ColumnKind.CATEGORICAL
    else:
        numbers = [_number(v) for v in values]
        parsed = [i for i, number in enumerate(numbers) if number is not None]
        if parsed and len(parsed) < len(values):
            row = next(i for i, number in enumerate(numbers) if number is None)
            raise VaebenchError(f"data file {path} line {lines[row]}: column {name!r} has the non-numeric value "
                                f"{values[row]!r} among numbers; name it in --categorical if the column is categorical")
        bad = [i for i in parsed if not math.isfinite(numbers[i])]
        if bad:
            raise VaebenchError(f"data file {path} line {lines[bad[0]]}: column {name!r} has the value {values[bad[0]]!r}; "
                                "a numeric column needs finite numbers")
        if parsed and distinct > 2:
            return ColumnKind.NUMERIC, np.array(numbers, np.float64)
        kind = ColumnKind.BINARY if distinct == 2 else ColumnKind.CATEGORICAL
    if kind is ColumnKind.CATEGORICAL and distinct > MAX_CATEGORIES:
        raise VaebenchError(f"column {name!r} of {path} has {distinct} distinct text values; a categorical column may "
                            f"have at most {MAX_CATEGORIES}")
    return kind, values
