"""No lost file, no concurrent damage, corrupt results handled: kill -9 points, a held lock, bad results files.

Results dirs here are written by hand (finished, scored cells without weights), so no test trains a model.
"""

import hashlib
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import VAEBENCH, run_in_process
from vaebench.errors import VaebenchError
from vaebench.grid import load_preset
from vaebench.metrics import metric_names
from vaebench.results import records
from vaebench.results.experiments import load_experiments
from vaebench.results.files import STAGING_DIR, TMP_FILE, make_staging_dir, replace_cell_dir, write_json, write_text
from vaebench.results.layout import (GRID_FILE, HISTORY_FILE, LOCK_FILE, LOCK_INFO_FILE, METRICS_FILE, MODEL_FILES,
                                     PARAMS_FILE, is_cell_name)
from vaebench.results.records import record_cells
from vaebench.site import build as site_build, build_site
from vaebench.site.pages import cell_pictures_url, cell_url
from vaebench.site.publish import SITE_MANIFEST

#: `vaebench run grid` with these options asks for exactly the cells `fake_results` writes, and scores no calibration
#: rows (these tests are about the cells' files; rows would be seconds of real scoring per command)
GRID = ["--preset", "smoke", "--models", "vae", "--latent-dims", "2,3", "--no-references"]
CELLS = load_preset("smoke").with_overrides(models=["vae"], latent_dims=[2, 3]).cells()


def fake_results(root: Path) -> Path:
    """A finished, fully scored results dir of the GRID cells, without weights (nothing left to train or score)."""
    record_cells(root, {cell.name: cell.to_params() for cell in CELLS}, {"smoke": load_preset("smoke").description})
    for index, cell in enumerate(CELLS):
        cell_dir = root / cell.name
        write_text(cell_dir / HISTORY_FILE, "step,loss\n10,90.5\n20,80.25\n")
        write_json(cell_dir / METRICS_FILE, {"scores": {"recon_bce": 80.0 + index, "mig": 0.1 * index},
                                             "settings": {}, "seconds": dict.fromkeys(metric_names(), 0.0)})
        write_json(cell_dir / PARAMS_FILE, {**cell.to_params(), "status": "done", "wall_seconds": 1.0})
    return root


def digest(root: Path) -> dict:
    """Every file under root (hidden ones included) with its hash."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def results_digest(root: Path) -> dict:
    """Like digest, but for the results lock: empty, vaebench's own, and kept once a command has held it."""
    return {name: sha for name, sha in digest(root).items() if Path(name).name != LOCK_FILE}


def site_digest(out: Path) -> dict:
    """Like digest, with the build date (the one line that differs between two builds) blanked, and the manifest
    (which records the build and index.html's digest) as the names it lists."""
    date = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    return {str(p.relative_to(out)): sorted(json.loads(p.read_text())["files"]) if p.name == SITE_MANIFEST
            else hashlib.sha256(date.sub(b"DATE", p.read_bytes())).hexdigest()
            for p in sorted(Path(out).rglob("*")) if p.is_file()}


def one_line_error(code, err, *needles):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def cli_process(*args, **kwargs):
    return subprocess.Popen([*VAEBENCH, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


# --- build-site never deletes what it did not write -------------------------

@pytest.fixture
def results(tmp_path):
    return fake_results(tmp_path / "results")


def test_a_rebuild_renders_only_the_changed_cell_again_and_never_carries_over_a_page_changed_since(results, tmp_path):
    out = tmp_path / "site"
    build_site(results, out)
    builds = {relative: entry["build"] for relative, entry in json.loads((out / SITE_MANIFEST).read_text())["files"].items()}
    metrics = json.loads((results / CELLS[0].name / METRICS_FILE).read_text())
    write_json(results / CELLS[0].name / METRICS_FILE, {**metrics, "scores": {**metrics["scores"], "mig": 0.5}})
    build_site(results, out)
    entries = json.loads((out / SITE_MANIFEST).read_text())["files"]
    anew = {relative for relative, entry in entries.items() if entry["build"] != builds.get(relative)}
    page, folder = cell_url(CELLS[0].name), cell_pictures_url(CELLS[0].name)
    assert {relative for relative in anew if relative.startswith("cells/")} == {page, f"{folder}cell.js"}
    assert "index.html" in anew and "assets/vega-bundle.js" not in anew
    assert all(len(entries[relative]["inputs"]) == 64 for relative in (page, f"{folder}cell.js", "assets/vega-bundle.js"))
    assert "<td>0.5</td>" in (out / page).read_text()

    other = out / cell_url(CELLS[1].name)
    other.write_text("my notes")  # the same inputs, but no longer the page the manifest records: not carried over
    with pytest.raises(VaebenchError, match="changed since"):
        build_site(results, out)
    assert other.read_text() == "my notes"


def test_rebuild_keeps_unrelated_files_and_replaces_only_its_own(results, tmp_path):
    out = tmp_path / "site"
    build_site(results, out)
    (out / "notes.txt").write_text("mine")
    (out / "cells" / "draft.md").write_text("mine too")
    dropped = json.loads((results / CELLS[1].name / PARAMS_FILE).read_text())
    write_json(results / CELLS[1].name / PARAMS_FILE, {**dropped, "status": "failed", "failure": {"reason": "x"}})
    build_site(results, out)
    assert (out / "notes.txt").read_text() == "mine" and (out / "cells" / "draft.md").read_text() == "mine too"
    manifest = json.loads((out / SITE_MANIFEST).read_text())["files"]
    assert "notes.txt" not in manifest and "index.html" in manifest
    pages = sorted(p.name for p in (out / "cells").glob("*.html"))
    assert pages == [CELLS[0].name.replace("/", "__") + ".html"]  # the failed cell's old page is gone
    assert sorted(manifest) == sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                                      if p.is_file() and p.name not in ("notes.txt", "draft.md", SITE_MANIFEST))


def test_an_empty_out_dir_is_built_into_and_a_site_without_a_manifest_is_refused(results, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    build_site(results, empty)
    assert (empty / "index.html").is_file()
    legacy = tmp_path / "legacy"  # named like a site's files, but nothing proves vaebench wrote them
    for name in ("index.html", "compare.html", "glossary.html", "tradeoff.png", "assets/style.css", "assets/vega-bundle.js",
                 "data/metrics.js", "cells/old__cell.html", "cells/old__cell/traversal-0.png"):
        (legacy / name).parent.mkdir(parents=True, exist_ok=True)
        (legacy / name).write_text("old")
    before = digest(legacy)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", legacy], capsys)
    one_line_error(code, err, "is not a vaebench site", SITE_MANIFEST)
    assert digest(legacy) == before


@pytest.mark.parametrize("extra", ["notes.txt", "assets/photo.jpg", "cells/a/b/deep.png", ".git/HEAD"])
def test_a_folder_that_only_looks_like_a_site_is_refused_and_untouched(results, tmp_path, extra, capsys):
    out = tmp_path / "looks-like-a-site"
    for name in ("index.html", "assets/style.css", extra):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("user's")
    before = digest(out)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, "is not a vaebench site; refusing to replace it")
    assert digest(out) == before


def test_out_that_is_a_file_or_overlaps_the_results_is_refused(results, tmp_path, capsys):
    a_file = tmp_path / "site.html"
    a_file.write_text("keep")
    before = digest(results)
    for out, message in [(a_file, "is a file"), (results, "holds the results dir"), (tmp_path, "holds the results dir"),
                         (results / CELLS[0].name, "is inside the cells of the results dir"),
                         (results / CELLS[0].name.split("/")[0] / "site", "is inside the cells of the results dir")]:
        code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
        one_line_error(code, err, message, str(out))
        assert digest(results) == before and a_file.read_text() == "keep"
    assert not any(p.name.endswith(".html") for p in results.rglob("*"))


def test_a_failed_build_leaves_the_old_site_byte_identical(results, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_site(results, out)
    (out / "notes.txt").write_text("mine")
    before = digest(out)

    def crash(self):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(site_build.Site, "compare", crash)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build_site(results, out)
    assert digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_staging_folder_left_by_a_killed_build_does_not_block_and_is_removed(results, tmp_path):
    out = tmp_path / "site"
    killed = tmp_path / ".site.staging-ab12cd34"
    (killed / "cells").mkdir(parents=True)
    (killed / "index.html").write_text("half")
    unrelated = tmp_path / ".site.staging-notours"  # not vaebench's name pattern: not touched
    unrelated.mkdir()
    build_site(results, out)
    assert (out / "index.html").is_file() and not killed.exists() and unrelated.is_dir()


def run_until(process: subprocess.Popen, started) -> float:
    """Seconds from ``started()`` first being true until the process exits successfully."""
    while not started() and process.poll() is None:
        time.sleep(0.005)
    begun = time.monotonic()
    assert process.wait(timeout=300) == 0, process.stderr.read()
    return time.monotonic() - begun


def new_staging_dir(folder: Path):
    """A test: has a staging folder appeared somewhere under ``folder`` since now (the command has started writing)?"""
    def staging_dirs():
        # os.walk passes over a folder that vanishes while it is read (the command renames and removes its staging
        # folders as it goes), where rglob raises
        return {Path(top, name) for top, dirs, files in os.walk(folder) for name in dirs + files
                if STAGING_DIR.fullmatch(name)}
    before = staging_dirs()
    return lambda: bool(staging_dirs() - before)


def kill_during(args: list, window: float, rng: random.Random, watched: Path) -> float:
    """Run the CLI and kill -9 it at a random moment of ``window`` seconds after it starts writing under ``watched``."""
    started = new_staging_dir(watched)
    process = cli_process(*args)
    while not started() and process.poll() is None:
        time.sleep(0.005)
    delay = rng.uniform(0, window)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return delay


@pytest.mark.slow
def test_kill_minus_nine_during_build_site_leaves_old_or_new_site_and_the_next_build_succeeds(results, tmp_path):
    """Killed at random moments of a real `vaebench build-site`'s work: never a half site, never a blocked next build."""
    out = tmp_path / "site"
    build_site(results, out)
    (out / "notes.txt").write_text("mine")
    old = site_digest(out)
    write_json(results / CELLS[0].name / METRICS_FILE,
               {"scores": {"recon_bce": 70.0, "mig": 0.5}, "settings": {}, "seconds": dict.fromkeys(metric_names(), 0.0)})
    window = run_until(cli_process("build-site", "--results", results, "--out", tmp_path / "reference"),
                       new_staging_dir(tmp_path))
    new = {**site_digest(tmp_path / "reference"), "notes.txt": old["notes.txt"]}
    rng = random.Random(14)
    outcomes = []
    for _ in range(3):
        delay = kill_during(["build-site", "--results", results, "--out", out], window, rng, tmp_path)
        now = site_digest(out)
        assert now in (old, new), f"half a site after a kill {delay:.2f} s into the build"
        outcomes.append("new" if now == new else "old")
    again = cli_process("build-site", "--results", results, "--out", out)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert site_digest(out) == new
    assert not [p for p in tmp_path.iterdir() if STAGING_DIR.fullmatch(p.name)]
    print(f"build-site killed at 3 points: {outcomes}")


# --- one writing command per results dir ------------------------------------

def hold_lock(root: Path) -> subprocess.Popen:
    """Another process holding the results dir as `vaebench run grid` would; returns once it holds it."""
    code = ("import sys, time; from vaebench.results.lock import results_lock\n"
            "with results_lock(sys.argv[1], 'run grid'):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def writing_commands(root: Path, tmp_path: Path) -> list[list]:
    source = fake_results(tmp_path / "source")
    return [["run", "grid", *GRID, "--results", root], ["evaluate", "--results", root],
            ["merge", source, "--into", root]]  # build-site only reads: tests/test_report_view.py


def test_a_held_results_dir_refuses_every_writing_command_until_the_holder_exits(results, tmp_path, capsys):
    commands = writing_commands(results, tmp_path)
    holder = hold_lock(results)
    try:
        before = digest(results)
        for argv in commands:
            code, _, err = run_in_process(argv, capsys)
            one_line_error(code, err, f"results dir {results} is in use by `vaebench run grid` (pid {holder.pid} on ",
                           "then run this command again")
            assert digest(results) == before, argv[0]
    finally:
        holder.terminate()
        holder.wait()
    for argv in commands:
        code, out, err = run_in_process(argv, capsys)
        assert code == 0, (argv[0], err)
    assert "0 to train" in run_in_process(commands[0], capsys)[1]


def test_a_held_results_dir_is_refused_before_keras_loads(results, tmp_path):
    """A fresh `run grid` or `evaluate` on a held dir exits 2 without importing Keras (which takes seconds, a minute on
    a busy machine): the lock is checked first, so the refusal comes after the lock's one-second grace."""
    script = ("import sys, time; start = time.monotonic(); sys.argv = ['vaebench', *sys.argv[1:]]\n"
              "from vaebench.cli import main\n"
              "try:\n    main()\n"
              "except SystemExit as stop:\n"
              "    print(stop.code, 'keras' in sys.modules, round(time.monotonic() - start, 2))\n")
    holder = hold_lock(results)
    try:
        for argv in writing_commands(results, tmp_path)[:2]:
            run = subprocess.run([sys.executable, "-c", script, *map(str, argv)], capture_output=True, text=True, timeout=120)
            code, keras_loaded, seconds = run.stdout.split()
            assert (code, keras_loaded) == ("2", "False"), (argv[0], run.stdout, run.stderr)
            assert "is in use by `vaebench run grid`" in run.stderr
            print(f"{argv[0]} refused in {seconds} s")
    finally:
        holder.terminate()
        holder.wait()


def test_a_holder_killed_with_sigkill_does_not_block(results, tmp_path, capsys):
    holder = hold_lock(results)
    holder.kill()
    holder.wait()
    assert (results / LOCK_INFO_FILE).exists()  # stale: it names a dead process
    code, _, err = run_in_process(["evaluate", "--results", results], capsys)
    assert code == 0, err
    assert not (results / LOCK_INFO_FILE).exists()


def test_two_merges_into_one_dir_at_once_give_one_consistent_result(tmp_path):
    """Concurrent writers: each either merges or is refused in one line; the result equals one merge."""
    sources = []
    for index in range(3):
        source = fake_results(tmp_path / f"source{index}")
        sources.append(source)
    into = tmp_path / "into"
    processes = [cli_process("merge", *sources, "--into", into) for _ in range(3)]
    results = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        assert code == 0 or (code == 2 and "is in use by `vaebench merge`" in err and len(err.strip().splitlines()) == 1), err
    assert digest(into / CELLS[0].name) == digest(sources[0] / CELLS[0].name)
    assert sorted(e.name for e in load_experiments(into)) == sorted(c.name for c in CELLS)


# --- merge stays inside its target ------------------------------------------

@pytest.mark.parametrize("bad_name", ["../victim", "{tmp}/victim", "d/vae/conv/z2/../../../../victim",
                                      ".hidden/vae/conv/z2/s0", "d/vae/conv/z2", "d/vae//z2/s0", "d/vae/conv/z2/s0/extra",
                                      "d/v a e/conv/z2/s0", "d/vae/conv/two/s0"])
def test_merge_refuses_a_cell_name_outside_the_grid_naming_and_writes_nothing(tmp_path, bad_name, capsys):
    bad_name = bad_name.format(tmp=tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep")
    source = tmp_path / "results" / "source"
    source.mkdir(parents=True)
    (source / GRID_FILE).write_text(json.dumps({"cells": {bad_name: {"name": bad_name}}}))
    into = fake_results(tmp_path / "into")
    before, victim_before = digest(into), digest(victim)
    code, _, err = run_in_process(["merge", source, "--into", into], capsys)
    one_line_error(code, err, "is not a cell name", str(source / GRID_FILE))
    assert digest(into) == before and digest(victim) == victim_before


def test_every_cell_name_the_grids_make_is_accepted():
    for preset in ("smoke", "cpu", "paper"):
        for cell in load_preset(preset).cells():
            assert is_cell_name(cell.name), cell.name
    for model in ("seq_vae", "shared_vae", "cvae"):
        for cell in load_preset("smoke").with_overrides(models=[model]).cells():
            assert is_cell_name(cell.name), cell.name


def test_kill_minus_nine_during_merge_leaves_whole_cells_and_the_next_merge_succeeds(tmp_path):
    source = fake_results(tmp_path / "source")
    for cell in CELLS:  # weights-sized files, so that copying takes a while
        (source / cell.name / "encoder.keras").write_bytes(os.urandom(30_000_000))
    into = tmp_path / "into"
    reference = tmp_path / "reference"
    window = run_until(cli_process("merge", source, "--into", reference), new_staging_dir(tmp_path))
    rng = random.Random(9)
    outcomes = []
    for _ in range(5):
        delay = kill_during(["merge", source, "--into", into], window, rng, tmp_path)
        for cell in CELLS:
            present = digest(into / cell.name) if (into / cell.name).exists() else None
            assert present in (None, digest(source / cell.name)), f"half a cell after a kill {delay:.2f} s into copying"
        outcomes.append(sum((into / cell.name).exists() for cell in CELLS))
        names = [e.name for e in load_experiments(into)]
        assert len(names) == len(set(names))
    again = cli_process("merge", source, "--into", into)
    assert again.wait(timeout=120) == 0, again.stderr.read()
    assert sorted(e.name for e in load_experiments(into)) == sorted(c.name for c in CELLS)
    for cell in CELLS:
        assert digest(into / cell.name) == digest(source / cell.name)
    assert not [p for p in into.rglob(".*") if STAGING_DIR.fullmatch(p.name) or TMP_FILE.fullmatch(p.name)]
    print(f"merge killed at 5 points, cells copied by then: {outcomes}")


# --- leftovers of kill -9 ---------------------------------------------------

def plant_leftovers(root: Path) -> list[Path]:
    cell = root / CELLS[0].name
    staging = cell.parent / f".{cell.name}.staging-k1ll3d99"  # merge's copy of the cell, killed before its rename
    staging.mkdir()
    (staging / PARAMS_FILE).write_bytes((cell / PARAMS_FILE).read_bytes())
    pictures = cell / ".pictures.staging-x9y8z7w6"
    pictures.mkdir()
    (pictures / "reconstructions.png").write_bytes(b"half")
    files = [root / ".grid.json.ab3_9xyz.tmp", cell / ".metrics.json.q1w2e3r4.tmp", cell / ".params.json.zz00aa11.tmp",
             cell / ".encoder.keras.abcdefgh.tmp.keras", root / ".write-check.12345678.tmp"]
    for path in files:
        path.write_text("{half")
    return [staging, pictures, *files]


@pytest.mark.parametrize("command", ["merge", "evaluate", "run grid", "build-site"])
def test_leftovers_are_never_cells_and_the_next_writing_command_removes_them(results, tmp_path, command, capsys):
    leftovers = plant_leftovers(results)
    mine = results / ".my-notes.tmp"
    mine.write_text("not vaebench's")
    elsewhere = results / "notes" / ".draft.abcd1234.tmp"  # vaebench's pattern, but in no folder vaebench writes in
    elsewhere.parent.mkdir()
    elsewhere.write_text("not vaebench's either")
    assert sorted(e.name for e in load_experiments(results)) == sorted(c.name for c in CELLS)
    argv = {"merge": ["merge", fake_results(tmp_path / "other"), "--into", results],
            "evaluate": ["evaluate", "--results", results], "run grid": ["run", "grid", *GRID, "--results", results],
            "build-site": ["build-site", "--results", results, "--out", tmp_path / "site"]}[command]
    code, out, err = run_in_process(argv, capsys)
    assert code == 0, err
    assert mine.read_text() == "not vaebench's" and elsewhere.read_text() == "not vaebench's either"
    if command == "build-site":  # it writes nothing into the results dir, so it leaves them there, read as no cell
        assert all(path.exists() for path in leftovers)
        assert len(list((tmp_path / "site" / "cells").glob("*.html"))) == len(CELLS)
    else:
        assert [path for path in leftovers if path.exists()] == []
        assert f"{len(CELLS)} done, 0 failed, 0 pending" in out


# --- file modes -------------------------------------------------------------

@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700)])
def test_results_files_and_staging_dirs_get_the_usual_modes(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a" / "params.json", {"status": "done"})
        replace_cell_dir(tmp_path / "a" / "cell", lambda staging: (staging / "x").write_text("x"))
        build_site_staging = make_staging_dir(tmp_path / "site")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "params.json").stat().st_mode & 0o777 == file_mode
    assert (tmp_path / "a" / "cell").stat().st_mode & 0o777 == dir_mode
    assert build_site_staging.stat().st_mode & 0o777 == dir_mode


# --- a full disk ------------------------------------------------------------

def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG, like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_is_one_line_and_leaves_results_and_site_as_they_were(results, tmp_path):
    out = tmp_path / "site"
    build_site(results, out)
    site_before, results_before = digest(out), digest(results)
    run = subprocess.run([*VAEBENCH, "build-site", "--results", results, "--out", out], capture_output=True, text=True,
                         timeout=300, preexec_fn=_file_size_limit(10_000))  # index.html is larger (the bundle is carried over)
    line = one_line_error(run.returncode, run.stderr, "File too large", str(out))
    assert digest(out) == site_before and digest(results) == results_before, line
    assert not [p for p in tmp_path.iterdir() if STAGING_DIR.fullmatch(p.name)]

    source = fake_results(tmp_path / "source")
    (source / CELLS[0].name / "encoder.keras").write_bytes(b"w" * 300_000)
    merged = tmp_path / "merged"
    run = subprocess.run([*VAEBENCH, "merge", source, "--into", merged], capture_output=True, text=True,
                         timeout=120, preexec_fn=_file_size_limit(200_000))
    one_line_error(run.returncode, run.stderr, "File too large", str(merged / CELLS[0].name))
    assert [p.name for p in merged.rglob("*") if p.is_file()] == [LOCK_FILE]  # no half cell, no grid.json


def test_an_unexpected_os_error_still_shows_its_traceback(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("an internal bug")  # no errno, no file name: not the machine's state

    fake_results(tmp_path / "r")
    monkeypatch.setattr(records, "read_grid", broken)
    with pytest.raises(OSError, match="an internal bug"):
        run_in_process(["list", "--results", tmp_path / "r"], capsys)


# --- corrupt results files ----------------------------------------------------

CORRUPT_PARAMS = [("[]", "expected an object"), ("null", "expected an object"),
                  ('{"name": "%s", "status": "failed"}', "a failed cell needs a 'failure' object with its 'reason'"),
                  ('{"status": "done"}', "expected the cell's 'name'"),
                  ('{"name": "%s", "status": "finished"}', "unknown status 'finished'; expected one of done, failed"),
                  ('{"name": "%s", "status": "pending"}', "unknown status 'pending'"),
                  ('{"name": "%s"}', "unknown status None")]


@pytest.mark.parametrize("content, message", CORRUPT_PARAMS)
@pytest.mark.parametrize("command", ["list", "evaluate", "build-site", "merge", "run grid"])
def test_a_corrupt_params_file_is_one_line_naming_it_everywhere(results, tmp_path, content, message, command, capsys):
    path = results / CELLS[0].name / PARAMS_FILE
    path.write_text(content.replace("%s", CELLS[0].name))
    before = digest(results)
    source = fake_results(tmp_path / "source")
    argv = {"list": ["list", "--results", results], "evaluate": ["evaluate", "--results", results],
            "build-site": ["build-site", "--results", results, "--out", tmp_path / "site"],
            "merge": ["merge", results, "--into", source], "run grid": ["run", "grid", *GRID, "--results", results]}[command]
    code, _, err = run_in_process(argv, capsys)
    one_line_error(code, err, f"corrupt results file {path}: {message}")
    assert results_digest(results) == before
    assert not (tmp_path / "site").exists()


CORRUPT_METRICS = [("[]", "expected an object whose 'scores', 'settings' and 'seconds' are objects"),
                   ('{"scores": [1, 2]}', "expected an object whose 'scores'"),
                   ('{"scores": {"mig": [0.1]}}', "score 'mig' is neither a number nor an 'n/a: reason'"),
                   ("{trunc", "corrupt results file")]


@pytest.mark.parametrize("content, message", CORRUPT_METRICS)
def test_a_corrupt_metrics_file_is_one_line_for_list_and_evaluate_and_a_problem_cell_on_the_site(
        results, tmp_path, content, message, capsys):
    path = results / CELLS[0].name / METRICS_FILE
    path.write_text(content)
    for argv in (["list", "--results", results], ["evaluate", "--results", results]):
        code, _, err = run_in_process(argv, capsys)
        one_line_error(code, err, str(path), message)
    assert path.read_text() == content
    index = build_site(results, tmp_path / "site").read_text()
    assert "corrupt metrics.json" in index and f"corrupt results file {path.relative_to(results)}" in index
    assert len(list((tmp_path / "site" / "cells").glob("*.html"))) == len(CELLS)


@pytest.mark.parametrize("content", ["", "\n", "garbage without a step column\n1\n"])
def test_an_empty_history_is_a_problem_cell_naming_the_file(results, tmp_path, content):
    path = results / CELLS[0].name / HISTORY_FILE
    path.write_text(content)
    experiment = next(e for e in load_experiments(results) if e.name == CELLS[0].name)
    with pytest.raises(VaebenchError, match=f"corrupt results file {re.escape(str(path))}: expected a CSV table"):
        experiment.history
    index = build_site(results, tmp_path / "site").read_text()
    assert "corrupt history.csv" in index and f"corrupt results file {path.relative_to(results)}" in index


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_a_truncated_network_file_is_one_line_naming_it(results, tmp_path, content, capsys):
    for filename in MODEL_FILES:
        (results / CELLS[0].name / filename).write_bytes(content)
    before = digest(results)
    code, _, err = run_in_process(["evaluate", "--results", results, "--metrics", "mig", "--force"], capsys)
    one_line_error(code, err, f"corrupt results file {results / CELLS[0].name / 'encoder.keras'}: cannot be loaded as a Keras model")
    assert results_digest(results) == before


@pytest.mark.parametrize("hostile", ['<script>alert("key")</script>', "mig[0]", "a.b", ""])
def test_a_hostile_metric_key_is_a_problem_cell_shown_as_text(results, tmp_path, hostile):
    path = results / CELLS[0].name / METRICS_FILE
    metrics = json.loads(path.read_text())
    metrics["scores"][hostile] = 0.5
    write_json(path, metrics)
    out = build_site(results, tmp_path / "site")
    pages = [out.read_text(), *(p.read_text() for p in (tmp_path / "site" / "cells").glob("*.html"))]
    assert len(pages) == 1 + len(CELLS)
    index = pages[0]
    assert "corrupt metrics.json" in index and "is not a metric name" in index
    if "<" in hostile:
        assert not any(hostile in page for page in pages)
        assert "&#39;&lt;script&gt;alert(&#34;key&#34;)&lt;/script&gt;&#39; is not a metric name" in index


def test_a_read_only_results_dir_is_one_line(results, tmp_path, capsys, monkeypatch):
    """Root ignores file modes, so the read-only file system is simulated where the lock file is opened."""
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(results)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    before = digest(results)
    for argv in (["evaluate", "--results", results], ["merge", fake_results(tmp_path / "source"), "--into", results]):
        code, _, err = run_in_process(argv, capsys)
        one_line_error(code, err, str(results), "Read-only file system")
        assert digest(results) == before
    code, _, err = run_in_process(["build-site", "--results", results, "--out", tmp_path / "site"], capsys)
    assert code == 0, err  # the report only reads the results
    assert (tmp_path / "site" / "index.html").is_file() and digest(results) == before
