"""Hostile or damaged files: nothing of the user's is ever read, deleted or overwritten by mistake.

Results dirs are written by hand (test_reliability.fake_results), so no test trains a model.
"""

import hashlib
import html
import json
import os
import re

import pytest

from conftest import run_in_process
from test_reliability import CELLS, GRID, digest, fake_results, one_line_error, results_digest
from vaebench.errors import VaebenchError
from vaebench.pictures.spec import PICTURES_VERSION, REDRAW_HINT
from vaebench.results import files
from vaebench.results.files import MAX_JSON_DEPTH, read_json, write_json
from vaebench.results.layout import (GRID_FILE, HISTORY_FILE, MAX_NAME_PART, METRICS_FILE, PARAMS_FILE, PICTURES_DIR,
                                     PICTURES_FILE)
from vaebench.site import build_site, publish
from vaebench.site.pages import cell_url


@pytest.fixture
def results(tmp_path):
    return fake_results(tmp_path / "results")


def manifest(out):
    return json.loads((out / publish.SITE_MANIFEST).read_text())


# --- build-site touches only what it can prove it wrote ------------------------

def test_a_folder_named_like_a_site_without_a_manifest_is_refused_and_untouched(results, tmp_path, capsys):
    out = tmp_path / "mine"
    for name in ("index.html", "assets/app.js", "data/numbers.js", "cells/x.html"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(f"the user's {name}")
    before = digest(out)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, f"out dir {out} exists and is not a vaebench site", publish.SITE_MANIFEST)
    assert digest(out) == before


@pytest.mark.parametrize("hashless", [True, False])
def test_a_manifest_naming_a_users_file_does_not_get_it_deleted(results, tmp_path, hashless, capsys):
    out = tmp_path / "site"
    build_site(results, out)
    (out / "notes.txt").write_text("mine")
    recorded = manifest(out)
    if hashless:  # as a build before digests were recorded wrote it (the committed site/ has one)
        recorded = {"files": sorted(recorded["files"]) + ["notes.txt"]}
    else:
        recorded["files"]["notes.txt"] = {"sha256": hashlib.sha256(b"something else").hexdigest(), "build": "forged"}
    (out / publish.SITE_MANIFEST).write_text(json.dumps(recorded))
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine"
    assert err.strip().splitlines() == [f"warning: left 1 file in {out} that an earlier build wrote but that changed since, "
                                        "or whose content it did not record (now yours, no longer the site's): notes.txt"]
    assert "notes.txt" not in manifest(out)["files"]
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)  # said once
    assert code == 0 and err == "", err


def test_every_file_of_the_site_is_recorded_with_its_sha256_and_build(results, tmp_path):
    out = tmp_path / "site"
    build_site(results, out)
    files = manifest(out)["files"]
    on_disk = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in out.rglob("*") if p.is_file() and p.name != publish.SITE_MANIFEST}
    assert {name: entry["sha256"] for name, entry in files.items()} == on_disk
    assert len({entry["build"] for entry in files.values()}) == 1


def test_a_site_file_the_user_changed_is_kept_when_the_build_drops_it(results, tmp_path, capsys):
    out = tmp_path / "site"
    build_site(results, out)
    page = out / "cells" / (CELLS[1].name.replace("/", "__") + ".html")
    page.write_text("my annotated copy")
    params = json.loads((results / CELLS[1].name / PARAMS_FILE).read_text())
    write_json(results / CELLS[1].name / PARAMS_FILE, {**params, "status": "failed", "failure": {"reason": "x"}})
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    assert code == 0 and err.startswith("warning: left 1 file") and page.name in err, err
    assert page.read_text() == "my annotated copy"


def test_a_site_file_the_user_changed_where_the_build_writes_is_refused_and_nothing_changes(results, tmp_path, capsys):
    out = tmp_path / "site"
    build_site(results, out)
    (out / "index.html").write_text("my own front page")
    before = digest(out)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, f"--out {out} holds index.html", "that vaebench did not write (or that changed since)")
    assert digest(out) == before


def test_a_link_inside_the_site_is_never_written_through(results, tmp_path, capsys):
    out = tmp_path / "site"
    build_site(results, out)
    elsewhere = tmp_path / "elsewhere"
    (out / "assets").rename(elsewhere)
    (out / "assets").symlink_to(elsewhere)
    before = digest(elsewhere)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, f"--out {out} holds assets/")
    assert digest(elsewhere) == before


def test_a_build_killed_while_moving_files_in_is_completed_by_the_next_without_leaving_any(results, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_site(results, out)
    write_json(results / CELLS[0].name / METRICS_FILE, {"scores": {"recon_bce": 70.0, "mig": 0.5},
                                                                     "settings": {}, "seconds": {}})
    real_replace, moves = os.replace, []

    def killed_after_three(source, target):
        if len(moves) == 3:
            raise KeyboardInterrupt
        moves.append(target)
        real_replace(source, target)

    monkeypatch.setattr(publish.os, "replace", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        build_site(results, out)
    monkeypatch.setattr(publish.os, "replace", real_replace)
    warnings = []
    build_site(results, out, warn=warnings.append)
    assert warnings == []
    assert set(manifest(out)["files"]) == {p.relative_to(out).as_posix() for p in out.rglob("*")
                                           if p.is_file() and p.name != publish.SITE_MANIFEST}


@pytest.mark.parametrize("content", ['{"files": {"../outside": {"sha256": "%s", "build": "b"}}}' % ("0" * 64),
                                     '{"files": {"index.html": {"sha256": "short", "build": "b"}}}',
                                     '{"files": ["/etc/passwd"]}', '{"files": 3}', "[" * 100_000, "{trunc"])
def test_a_corrupt_site_manifest_is_one_line_and_nothing_changes(results, tmp_path, content, capsys):
    out = tmp_path / "site"
    build_site(results, out)
    (out / publish.SITE_MANIFEST).write_text(content)
    before = digest(out)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, f"corrupt site manifest {out / publish.SITE_MANIFEST}")
    assert digest(out) == before


# --- symbolic links in a results dir ---------------------------------------------

def commands(results, tmp_path):
    return {"list": ["list", "--results", results], "evaluate": ["evaluate", "--results", results],
            "build-site": ["build-site", "--results", results, "--out", tmp_path / "site"],
            "merge": ["merge", results, "--into", tmp_path / "merged"],
            "run grid": ["run", "grid", *GRID, "--results", results]}


def link_in_place(path, tmp_path):
    """Move ``path`` out of the results dir and leave a symbolic link to it where it was."""
    target = tmp_path / "elsewhere" / path.name
    target.parent.mkdir(exist_ok=True)
    path.rename(target)
    path.symlink_to(target)
    return path


@pytest.mark.parametrize("command", ["list", "evaluate", "build-site", "merge", "run grid"])
@pytest.mark.parametrize("which", ["cell folder", PARAMS_FILE, METRICS_FILE])
def test_a_symbolic_link_in_a_results_dir_is_refused_naming_it(results, tmp_path, command, which, capsys):
    cell = results / CELLS[0].name
    link = link_in_place(cell if which == "cell folder" else cell / which, tmp_path)
    before = digest(tmp_path / "elsewhere")
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    one_line_error(code, err, f"{link} is a symbolic link")
    assert not (tmp_path / "site").exists() and not (tmp_path / "merged" / GRID_FILE).exists()
    assert digest(tmp_path / "elsewhere") == before


@pytest.mark.parametrize("command", ["build-site", "merge", "evaluate"])
@pytest.mark.parametrize("which", [f"{PICTURES_DIR}/reconstructions.png", HISTORY_FILE, PICTURES_DIR])
def test_a_linked_picture_or_history_is_neither_published_nor_copied(results, tmp_path, command, which, capsys):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not the user's to publish")
    cell = results / CELLS[0].name
    (cell / PICTURES_DIR).mkdir()
    if which == PICTURES_DIR:
        (cell / which).rmdir()
        secret.parent.joinpath("pics").mkdir()
        secret.parent.joinpath("pics", "reconstructions.png").write_bytes(secret.read_bytes())
        (cell / which).symlink_to(secret.parent / "pics")
    else:
        (cell / which).unlink(missing_ok=True)
        (cell / which).symlink_to(secret)
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    one_line_error(code, err, f"{cell / which} is a symbolic link")
    copies = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink() and secret.read_bytes() == p.read_bytes()]
    assert copies == [secret] + ([secret.parent / "pics" / "reconstructions.png"] if which == PICTURES_DIR else [])


def test_a_pipe_in_place_of_a_results_file_is_refused_not_read(results, tmp_path, capsys):
    path = results / CELLS[0].name / METRICS_FILE
    path.unlink()
    os.mkfifo(path)
    code, _, err = run_in_process(["list", "--results", results], capsys)  # reading a pipe would wait forever
    one_line_error(code, err, f"{path} is neither a regular file nor a folder")


# --- JSON too deep or too large -------------------------------------------------

def test_a_deeply_nested_metrics_file_is_one_line_and_a_problem_cell_on_the_site(results, tmp_path, capsys):
    path = results / CELLS[0].name / METRICS_FILE
    path.write_text('{"scores": {}, "settings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for argv in (["list", "--results", results], ["evaluate", "--results", results]):
        code, _, err = run_in_process(argv, capsys)
        one_line_error(code, err, f"corrupt results file {path}: nested deeper than {MAX_JSON_DEPTH} levels")
    code, _, err = run_in_process(["build-site", "--results", results, "--out", tmp_path / "site"], capsys)
    assert code == 0, err
    index = (tmp_path / "site" / "index.html").read_text()
    assert "corrupt metrics.json" in index and "nested deeper than" in index


@pytest.mark.parametrize("command", ["list", "build-site", "merge"])
def test_a_deeply_nested_or_huge_params_or_grid_file_is_one_line(results, tmp_path, command, capsys, monkeypatch):
    params = results / CELLS[0].name / PARAMS_FILE
    params.write_text('{"name": ' + "[" * 5000 + "]" * 5000 + "}")
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    one_line_error(code, err, f"corrupt results file {params}: nested deeper than")
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 100)
    grid = results / GRID_FILE
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    one_line_error(code, err, f"corrupt results file {grid}: {grid.stat().st_size} bytes, more than the 100")


def test_json_as_deep_as_the_limit_is_read_and_one_level_deeper_is_refused(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert read_json(path) is not None
    path.write_text('{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}")
    with pytest.raises(VaebenchError, match="nested deeper than"):
        read_json(path)


# --- names and places merge refuses before writing ------------------------------

@pytest.mark.parametrize("long_name", ["d/" + "m" * 300 + "/conv/z2/s0", "d/vae/conv/z2/s" + "1" * 150,
                                       "/".join(["x" * 90] * 3) + "/z2/s0"])
def test_an_over_long_cell_name_is_refused_before_merge_writes(tmp_path, long_name, capsys):
    source = tmp_path / "source"
    source.mkdir()
    (source / GRID_FILE).write_text(json.dumps({"cells": {long_name: {"name": long_name}}}))
    into = fake_results(tmp_path / "into")
    before = digest(into)
    code, _, err = run_in_process(["merge", source, "--into", into], capsys)
    one_line_error(code, err, "is not a cell name", f"at most {MAX_NAME_PART} characters")
    assert digest(into) == before


def test_merge_into_a_folder_inside_a_source_is_refused(results, tmp_path, capsys):
    before = digest(results)
    for into in (results / "merged", results / CELLS[0].name / "deeper"):
        code, _, err = run_in_process(["merge", results, "--into", into], capsys)
        one_line_error(code, err, f"--into {into} is inside the source {results}")
        assert digest(results) == before and not into.exists()


# --- an emptied history ------------------------------------------------------------

@pytest.mark.parametrize("command", ["list", "run grid", "merge"])
def test_an_emptied_history_of_a_done_cell_is_reported_as_corrupt(results, tmp_path, command, capsys):
    path = results / CELLS[0].name / HISTORY_FILE
    path.write_bytes(b"")
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    one_line_error(code, err, f"corrupt results file {path}: expected a CSV table with a header row")
    assert not (tmp_path / "merged" / GRID_FILE).exists()


def test_a_file_in_place_of_a_cell_s_folder_is_one_line(results, tmp_path, capsys):
    family = results / CELLS[0].name.rsplit("/", 2)[0]
    moved = tmp_path / "moved"
    family.rename(moved)
    family.write_text("not a folder")
    code, _, err = run_in_process(["list", "--results", results], capsys)
    one_line_error(code, err, f"{family} is a file where the results dir needs a folder")


def test_a_site_with_a_manifest_without_digests_is_rebuilt_where_the_build_writes_and_nothing_else_goes(results, tmp_path):
    out = tmp_path / "site"  # as the committed site/ was built: its manifest lists names only
    build_site(results, out)
    (out / "index.html").write_text("the old front page")
    (out / "cells" / "old__cell.html").write_text("a page of a cell no longer in the results")
    names = sorted(manifest(out)["files"]) + ["cells/old__cell.html"]
    (out / publish.SITE_MANIFEST).write_text(json.dumps({"files": names}))
    warnings = []
    build_site(results, out, warn=warnings.append)
    assert "vaebench report" in (out / "index.html").read_text()
    assert (out / "cells" / "old__cell.html").read_text() == "a page of a cell no longer in the results"
    assert len(warnings) == 1 and warnings[0].endswith(": cells/old__cell.html")
    assert all(len(entry["sha256"]) == 64 for entry in manifest(out)["files"].values())


def problem_rows(index: str, name: str) -> list[tuple[str, str]]:
    """(status, reason) of each row of the index's problem table that names the cell ``name``."""
    return [(status, html.unescape(reason)) for status, reason in
            re.findall(rf'<tr><td title="{re.escape(name)}">.*?<td class="bad">(.*?)</td><td>(.*?)</td></tr>', index)]


@pytest.mark.parametrize("content, reason", [
    ("[" * 100_000 + "]" * 100_000, f"nested deeper than {MAX_JSON_DEPTH} levels"),
    ('{"version": %d, "gaussian": tr' % PICTURES_VERSION, "Expecting value"),  # cut off while written
    # a field missing: once a KeyError traceback from the cell page, which read the fields by key
    (json.dumps({"version": PICTURES_VERSION, "gaussian": True}), "'order' must be a list, found None"),
])
def test_a_corrupt_pictures_file_is_a_problem_cell_on_the_site_and_the_rest_builds(results, tmp_path, content, reason, capsys):
    """As a corrupt metrics.json is: build-site lists the cell with the reason, its page says so, nothing else changes."""
    clean = tmp_path / "clean"
    build_site(results, clean)
    broken, other = CELLS[0].name, CELLS[1].name
    pictures = results / broken / PICTURES_DIR / PICTURES_FILE
    pictures.parent.mkdir()
    pictures.write_text(content)
    before = digest(results)
    out = tmp_path / "site"
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    assert code == 0, err
    assert digest(results) == before
    index = (out / "index.html").read_text()
    (status, why), = problem_rows(index, broken)  # one row: not also "pictures not drawn"
    shown = pictures.relative_to(results)  # the site names files inside the results dir only
    assert status == f"corrupt {PICTURES_FILE}" and why.startswith(f"corrupt results file {shown}: {reason}")
    assert problem_rows(index, other) == problem_rows((clean / "index.html").read_text(), other)
    page = html.unescape((out / cell_url(broken)).read_text())
    assert f"corrupt results file {shown}: {reason}" in page
    assert (out / cell_url(other)).read_bytes() == (clean / cell_url(other)).read_bytes()


def test_a_corrupt_pictures_file_stops_evaluate_pictures_with_the_command_that_redraws_it(results, capsys):
    """Unforced, ``evaluate --pictures`` checks whether the pictures are current, which reads the corrupt file: it
    stops on one line that says to force; forced, a cell without weights cannot be redrawn and is named, not an error."""
    pictures = results / CELLS[0].name / PICTURES_DIR / PICTURES_FILE
    pictures.parent.mkdir()
    pictures.write_text('{"version": %d, "gaussian": tr' % PICTURES_VERSION)
    before = results_digest(results)
    code, _, err = run_in_process(["evaluate", "--results", results, "--pictures"], capsys)
    one_line_error(code, err, f"corrupt results file {pictures}", REDRAW_HINT)
    assert results_digest(results) == before
    code, out, err = run_in_process(["evaluate", "--results", results, "--pictures", "--force"], capsys)
    assert code == 0 and err == "", err
    assert f"no pictures {CELLS[0].name}: its weights" in " ".join(out.split())
    assert results_digest(results) == before


# --- build-site's out dir: a dangling link, a build running beside it ------------------------

def test_an_out_dir_that_is_a_dangling_link_is_one_line(results, tmp_path, capsys):
    out = tmp_path / "site"
    out.symlink_to(tmp_path / "gone")
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
    one_line_error(code, err, f"--out {out} is a link to {tmp_path / 'gone'}, which does not exist")
    assert out.is_symlink() and not (tmp_path / "gone").exists()


def test_a_build_onto_an_out_dir_another_build_is_writing_is_one_line_and_leaves_that_build_alone(results, tmp_path,
                                                                                                    capsys):
    """A second build-site onto the same --out while the first builds: refused, the first's staging folder kept."""
    import fcntl

    out = tmp_path / "site"
    building = files.make_staging_dir(out)  # the first build's, held as a live build holds it
    (building / "index.html").write_text("half built")
    descriptor = os.open(building, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)
        one_line_error(code, err, f"--out {out} is being built by another vaebench build-site now")
        assert (building / "index.html").read_text() == "half built"
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["results", building.name])
    finally:
        os.close(descriptor)
    code, _, err = run_in_process(["build-site", "--results", results, "--out", out], capsys)  # that build was killed
    assert code == 0 and not building.exists(), err


# --- folders given as "" or as a file; Ctrl-C; paths on the page ------------------------------

@pytest.mark.parametrize("command", ["list", "evaluate", "build-site", "merge", "run grid"])
@pytest.mark.parametrize("given", ["empty", "file"])
def test_a_results_dir_given_empty_or_as_a_file_is_one_true_line(results, tmp_path, command, given, capsys):
    """`--results ""` is not the current folder, and a file is not "missing" nor "File exists"."""
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    folder = "" if given == "empty" else str(file)
    argv = [str(part) for part in commands(results, tmp_path)[command]]
    argv[argv.index("--into" if command == "merge" else "--results") + 1] = folder
    code, _, err = run_in_process(argv, capsys)
    option = "--into" if command == "merge" else "--results"
    one_line_error(code, err, f"{option} is empty; expected a folder" if given == "empty" else
                   f"results dir {file} is not a folder (a file or something else stands there)")
    assert file.read_text() == "mine" and sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "results"]


@pytest.mark.parametrize("command", ["build-site", "merge"])
def test_ctrl_c_in_build_site_or_merge_says_so_in_one_line(results, tmp_path, command, monkeypatch, capsys):
    import vaebench.run.shards
    import vaebench.site

    def pressed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vaebench.site, "build_site", pressed)
    monkeypatch.setattr(vaebench.run.shards, "merge_results", pressed)
    code, _, err = run_in_process(commands(results, tmp_path)[command], capsys)
    assert code == 130 and err == "error: interrupted (Ctrl-C); run the same command again to finish\n", err


def test_a_problem_row_names_files_relative_to_the_results_dir(results, tmp_path):
    """The page shows no folder of the machine that built it, only paths inside the results dir."""
    (results / CELLS[0].name / HISTORY_FILE).write_bytes(b"")
    build_site(results.resolve(), tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    assert f"corrupt results file {CELLS[0].name}/{HISTORY_FILE}" in html.unescape(index)
    assert str(tmp_path.resolve()) not in index
