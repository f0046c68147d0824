"""Every results file is named once, in vaebench/results/layout.py, and the keys of its records once, in
vaebench/results/records.py: no module outside the results package spells a file name in a string literal, or
reads a stored key by its string.

Docstrings may mention a file by name (prose explains the layout); code must use layout's constant and the
records' attributes, so a renamed file or key changes in one place.
"""

import ast
import dataclasses
import re
from pathlib import Path

from vaebench.results import experiments, layout, records

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


#: the top-level keys of grid.json and metrics.json, which callers read as the records' attributes
GRID_AND_METRICS_KEYS = {field.name for record in (records.Grid, records.Metrics) for field in dataclasses.fields(record)}
#: the tidy frames' columns, which the report reads rightly as ``row["seed"]``
FRAME_COLUMNS = {*experiments.PARAM_COLUMNS, *records.CHECKPOINT_COLUMNS}
#: params.json's keys (its card's and failure's too), which callers read as ``Experiment.record``'s attributes
PARAMS_KEYS = {field.name for record in (records.Params, records.ModelCard, records.Failure)
               for field in dataclasses.fields(record)} - FRAME_COLUMNS
STORED_KEYS = GRID_AND_METRICS_KEYS | PARAMS_KEYS
#: modules that read a format of their own by some of params.json's names: a preset and a cell's parameter dict
#: (grid.json's cells, which ``grid.Cell`` owns), the metric settings, a model's Keras config and its optimizer's
OWN_FORMATS = ("vaebench/grid.py", "vaebench/metrics/scoring.py", "vaebench/models/")

#: methods that read, take or set a mapping's value by its key
KEYED_METHODS = {"get", "pop", "setdefault"}


def spelled_keys(source: str, keys: set[str]) -> list[tuple[int, str]]:
    """(line, key) of each stored key read by its string: ``x["key"]``, ``x.get("key")`` (pop, setdefault), ``"key" in x``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript):
            used = [node.slice]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEYED_METHODS:
            used = node.args[:1]
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            used = [node.left]
        else:
            used = []
        found += [(key.lineno, key.value) for key in used if isinstance(key, ast.Constant) and key.value in keys]
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


def test_the_records_declare_the_stored_keys():
    assert {"cells", "presets", "scores", "settings", "seconds", "matrices", "data"} <= STORED_KEYS
    assert {"card", "hparams", "failure", "reason", "wall_seconds", "finished_at", "environment", "images_per_second",
            "pack_size", "reads_labels", "networks"} <= STORED_KEYS
    assert not {"name", "model", "seed", "latent_dim", "dataset", "steps"} & STORED_KEYS


def test_the_check_finds_a_stored_key_read_by_its_string_but_not_an_attribute():
    source = ('def f(metrics, grid, row, record):\n    return metrics.scores, row["name"], record.card.model\n'
              'def g(metrics, grid):\n    return metrics["scores"], grid.get("cells"), "seconds" in metrics\n'
              'def h(params):\n    return params.get("card"), params["failure"]["reason"]\n')
    assert spelled_keys(source, STORED_KEYS) == [(4, "scores"), (4, "cells"), (4, "seconds"), (6, "card"),
                                                 (6, "reason"), (6, "failure")]


def test_no_module_outside_the_results_package_reads_a_stored_key_by_its_string():
    def keys(path: Path) -> set[str]:
        owns_a_format = path.relative_to(ROOT).as_posix().startswith(OWN_FORMATS)
        return GRID_AND_METRICS_KEYS if owns_a_format else STORED_KEYS

    offenders = [f"{path.relative_to(ROOT)}:{line}: {key}" for path in sorted((ROOT / "vaebench").rglob("*.py"))
                 if not path.is_relative_to(OWNER) for line, key in spelled_keys(path.read_text(), keys(path))]
    assert not offenders, "read the record's attribute (vaebench.results.records) instead:\n" + "\n".join(offenders)
