"""Every results file is named once, in vaebench/results/layout.py: no module outside the results package spells
one in a string literal.

Docstrings may mention a file by name (prose explains the layout); code must use layout's constant, so a
renamed file changes in one place.
"""

import ast
import re
from pathlib import Path

from vaebench.results import layout

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "vaebench" / "results"


def results_file_names() -> set[str]:
    """The names layout declares: every ``*_FILE`` string and ``*_FILES`` tuple of strings."""
    names = set()
    for attribute in dir(layout):
        value = getattr(layout, attribute)
        if attribute.endswith("_FILE") and isinstance(value, str):
            names.add(value)
        elif attribute.endswith("_FILES") and isinstance(value, tuple):
            names.update(value)
    return names


def spelled_names(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of each results file name inside a non-docstring string literal of ``source``."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [(node.lineno, name) for name in sorted(names)
                      if re.search(rf"(?<![\w.-]){re.escape(name)}(?!\w)", node.value)]
    return found


def test_layout_declares_the_layout():
    assert {"grid.json", "params.json", "metrics.json", "history.csv", "checkpoints.csv", "encoder.keras",
            "decoder.keras", "pictures.json", "latents.csv"} <= results_file_names()


def test_the_check_finds_a_spelled_name_but_not_prose():
    source = '"""Reads params.json."""\ndef f():\n    """Writes metrics.json."""\n    return open("params.json")\n'
    assert spelled_names(source, results_file_names()) == [(4, "params.json")]


def test_no_module_outside_the_results_package_spells_a_results_file_name():
    names = results_file_names()
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in sorted((ROOT / "vaebench").rglob("*.py"))
                 if not path.is_relative_to(OWNER) for line, name in spelled_names(path.read_text(), names)]
    assert not offenders, "use vaebench.results.layout's constant instead:\n" + "\n".join(offenders)
