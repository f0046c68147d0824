"""The scale benchmark (benchmarks/bench_site.py) at 120 cells: the site's size targets, and a rebuild after one cell
changed renders that cell alone again."""

import importlib.util
import sys
from pathlib import Path

import pytest

from vaebench.site.pages import cell_pictures_url, cell_url

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_site", ROOT / "benchmarks" / "bench_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_at_120_cells_pages_stay_small_and_a_rebuild_renders_only_the_changed_cell(tmp_path):
    bench = _bench()
    figures = bench.measure(ROOT / "results" / "study", 120, tmp_path)
    print(bench.table(figures))
    assert figures["page_kb_max"] <= 30 and figures["index_kb"] <= 500
    cell_files = [f for f in figures["rewritten"] if f.startswith("cells/")]
    folder = cell_pictures_url(figures["changed"])
    assert cell_url(figures["changed"]) in cell_files and any(f.startswith(folder) for f in cell_files)
    assert all(f == cell_url(figures["changed"]) or f.startswith(folder) for f in cell_files), cell_files
    assert "assets/vega-bundle.js" not in figures["rewritten"]
    assert figures["carried"] >= 119 * 2  # every other cell's page and data script at least
