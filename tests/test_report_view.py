"""The report is a view: build-site reads the results without Keras, writes nothing into them, and draws no picture."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_in_process, run_vaebench
from vaebench.results.layout import PICTURES_DIR
from vaebench.results.lock import results_lock
from vaebench.results.records import Grid, read_grid, read_params, write_grid
from vaebench.site import build_site

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results" / "study"
#: put on PYTHONPATH, it makes every import of these packages fail, as on a machine without them
_REFUSE_BACKENDS = '''
import sys

class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "tensorflow", "jax"):
            raise ImportError(f"{name} is not importable in this test")
        return None

sys.meta_path.insert(0, _Refuse())
'''


def _listing(folder: Path) -> dict:
    """Every path under ``folder`` with its kind, size, mtime and (for files) content hash."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        entries[path.relative_to(folder).as_posix()] = (path.is_dir(), stat.st_size, stat.st_mtime_ns, digest)
    return entries


def _without_backends(tmp_path: Path) -> dict:
    blocker = tmp_path / "no-backends"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(_REFUSE_BACKENDS)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}


def _page(site: Path, name: str) -> str:
    return (site / "cells" / (name.replace("/", "__") + ".html")).read_text()


def _published_copy(tmp_path: Path, cells: int = 4) -> Path:
    """A results dir holding the first ``cells`` cells of the published grid (stored pictures, no weights)."""
    results = tmp_path / "results"
    grid = read_grid(PUBLISHED)
    names = sorted(grid.cells)[:cells]
    for name in names:
        shutil.copytree(PUBLISHED / name, results / name)
    write_grid(results, Grid({name: grid.cells[name] for name in names}, grid.presets))
    return results


def test_build_site_runs_without_keras_and_writes_nothing_into_the_results(tmp_path):
    results = _published_copy(tmp_path)
    before = _listing(results)
    run = run_vaebench("build-site", "--results", results, "--out", tmp_path / "site", env=_without_backends(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    assert _listing(results) == before
    name = sorted(read_grid(results).cells)[0]
    assert "traversal-0.png" in _page(tmp_path / "site", name)
    assert "pictures not drawn" not in (tmp_path / "site" / "index.html").read_text()


def test_the_blocker_does_block_keras(tmp_path):
    """The test above proves something only if Keras really cannot load under it."""
    run = run_vaebench("models", env=_without_backends(tmp_path))
    assert run.returncode != 0 and "keras is not importable in this test" in run.stderr


def _explorer_factors(site: Path) -> dict:
    """The explorer's factors, each with how its scatter colours it (data/codes.js)."""
    codes = (site / "data" / "codes.js").read_text()
    return json.loads(codes.split("window.VAEBENCH_DATA.codes = ", 1)[1].rstrip().rstrip(";"))["factors"]



def test_the_site_reads_factor_names_and_categories_from_pictures_json(tmp_path):
    """The scatter matrices colour a categorical factor by category: pictures.json says which factors are categories."""
    results = _published_copy(tmp_path, cells=1)
    build_site(results, tmp_path / "site")
    ordered = {"categorical": False, "values": [], "cyclic": False}
    assert _explorer_factors(tmp_path / "site") == {
        "shape": {"categorical": True, "values": ["square", "ellipse", "heart"], "cyclic": False}, "scale": ordered,
        "orientation": {**ordered, "cyclic": True}, "pos_x": ordered, "pos_y": ordered}

    # a folder drawn before pictures.json named them: the names come from latents.csv, every factor reads as ordered
    for path in results.rglob("pictures.json"):
        meta = json.loads(path.read_text())
        del meta["factors"], meta["categorical_factors"], meta["category_names"], meta["cyclic_factors"]
        path.write_text(json.dumps(meta))
    build_site(results, tmp_path / "older")
    assert _explorer_factors(tmp_path / "older") == {name: ordered for name in ("shape", "scale", "orientation",
                                                                                "pos_x", "pos_y")}


def test_build_site_does_not_wait_for_the_results_lock(tmp_path):
    """It only reads, so a run writing into the same results dir does not stop it."""
    results = _published_copy(tmp_path, cells=1)
    with results_lock(results, "run grid"):
        run = run_vaebench("build-site", "--results", results, "--out", tmp_path / "site", env=_without_backends(tmp_path),
                           timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.slow
def test_a_cell_without_pictures_is_listed_and_evaluate_pictures_draws_them(smoke_results, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_results, results)
    cells = sorted(p.parent for p in results.rglob("params.json"))
    drawn, weightless = cells[0], cells[1]
    shutil.rmtree(drawn / PICTURES_DIR)
    shutil.rmtree(weightless / PICTURES_DIR)
    for path in weightless.glob("*.keras"):
        path.unlink()
    names = [read_params(cell).name for cell in (drawn, weightless)]

    before = _listing(results)
    run = run_vaebench("build-site", "--results", results, "--out", tmp_path / "site", env=_without_backends(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    assert _listing(results) == before  # nothing drawn
    index = (tmp_path / "site" / "index.html").read_text()
    for name in names:
        assert "pictures not drawn: run `vaebench evaluate --pictures`" in _page(tmp_path / "site", name)
        assert index.count(name) >= 1
    assert index.count("pictures not drawn") == index.count("run `vaebench evaluate --pictures`") == 2

    run = run_vaebench("evaluate", "--results", results, "--pictures")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (drawn / PICTURES_DIR / "pictures.json").is_file()
    assert not (weightless / PICTURES_DIR).exists()
    assert f"{len(cells) - 1} of {len(cells)} cells have their pictures" in run.stdout
    assert names[1] in run.stdout and "weights" in run.stdout
    assert json.loads((drawn / "metrics.json").read_text()) == json.loads((smoke_results / names[0] / "metrics.json").read_text())

    run = run_vaebench("build-site", "--results", results, "--out", tmp_path / "site")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "traversal-0.png" in _page(tmp_path / "site", names[0])
    assert "pictures not drawn" not in _page(tmp_path / "site", names[0])
    assert "pictures not drawn" in _page(tmp_path / "site", names[1])


def test_evaluate_pictures_takes_no_metrics(tmp_path, capsys):
    code, _, err = run_in_process(["evaluate", "--results", tmp_path, "--pictures", "--metrics", "mig"], capsys)
    assert code == 2 and err.startswith("error: --pictures scores nothing")
