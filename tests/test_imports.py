"""Imports only go down: the import-linter contracts of pyproject.toml ([tool.importlinter]) hold."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_import_contracts_hold():
    """Layers (cli over the run stages over the report over drawing, training, the grid, scoring, models, data, results),
    a report that loads no model, dataset, training or drawing, a Keras-free vocabulary, and no import cycles."""
    run = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
