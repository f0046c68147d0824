"""The data kinds and column kinds are spelt once, in vaebench/kinds.py, and stored as the plain strings they always were."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from vaebench.data.columns import Column
from vaebench.kinds import ColumnKind, DataKind

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "vaebench" / "kinds.py"
VOCABULARY = {kind.value for kind in (*DataKind, *ColumnKind)}


def spelled_kinds(source: str) -> list[tuple[int, str]]:
    """(line, kind) of each string literal that is exactly a kind's value; docstrings and dict keys (other
    vocabularies that happen to share a word, e.g. the CSV option "categorical") are not kinds."""
    tree = ast.parse(source)
    skipped = {id(node.body[0].value) for node in ast.walk(tree)
               if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
               and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    skipped |= {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys if key is not None}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in VOCABULARY and id(node) not in skipped]


def test_the_check_finds_a_spelled_kind_but_not_prose_or_keys():
    source = '"""Reads "tables"."""\nx = {"categorical": 1}\nif kind == "numeric":\n    pass\n'
    assert spelled_kinds(source) == [(3, "numeric")]


def test_no_module_but_kinds_spells_a_kind():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {kind!r}" for path in sorted((ROOT / "vaebench").rglob("*.py"))
                 if path != OWNER for line, kind in spelled_kinds(path.read_text())]
    assert not offenders, "use vaebench.kinds' DataKind or ColumnKind instead:\n" + "\n".join(offenders)


def test_kinds_are_stored_as_their_plain_strings():
    column = Column("age", ColumnKind.NUMERIC, (), 40.0, 12.5)
    assert json.dumps({"data_kind": DataKind.TWO_VIEWS, "column": column.to_json()}) == (
        '{"data_kind": "two_views", "column": {"name": "age", "kind": "numeric", "categories": [], "mean": 40.0, "std": 12.5}}')
    assert f"{DataKind.TABLES}" == "tables" and DataKind.TWO_VIEWS.label == "two views"
    assert Column.from_json(json.loads(json.dumps(column.to_json()))) == column


def test_a_column_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'ordinal' is not a valid ColumnKind"):
        Column("grade", "ordinal", ("a", "b"))


@pytest.mark.parametrize("kind, categories, values, width", [
    (ColumnKind.NUMERIC, (), np.array([1.0, 3.0]), 1),
    (ColumnKind.CATEGORICAL, ("a", "b", "c"), np.array([2, 0]), 3),
    (ColumnKind.BINARY, ("no", "yes"), np.array([1, 0]), 1),
])
def test_a_column_encodes_its_values_and_reads_them_back(kind, categories, values, width):
    column = Column("c", kind, categories, 2.0, 0.5)
    encoded = column.encode(values)
    assert encoded.shape == (2, width)
    np.testing.assert_allclose(column.values(encoded), values)
