"""Several results dirs as one site, each study judged on the scores that fit its data: synthetic studies of every
data kind whose answers are known (a dominant setting, a tie, a score only one setting has), checked word for word."""

import html
import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from conftest import VAEBENCH, run_in_process, write_preset
from study_results import SPREAD, TIE, write_cell, write_grid, write_study
from test_site import _opened, browser  # noqa: F401 (browser: the fixture, Debian's chromium)
from vaebench.errors import VaebenchError
from vaebench.pictures.images import RECONSTRUCTIONS
from vaebench.results.layout import PARAMS_FILE, PICTURES_DIR, PICTURES_FILE
from vaebench.site import build_site

NOT_APPLICABLE = "n/a: the dataset has no factors"
FACTOR_SCORES = ("mig", "beta_vae_eval", "factor_vae_eval", "dci_disentanglement")


def _text(page) -> str:
    """The page's visible text, one space between words (scripts and styles removed)."""
    markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def _write_kind(root, settings: dict, description: str, **where) -> None:
    """Five seeds of each (model, hparams) at z = 2: its centre plus SPREAD, or TIE where the centre is None; a
    setting's own "where" (data kind, dataset) replaces the study's."""
    names = []
    for (model, hparams), centres in settings.items():
        centres = dict(centres)
        at = {**where, **centres.pop("where", {})}
        for seed in range(5):
            scores = {key: (centre if isinstance(centre, str) else (TIE[seed] if centre is None else centre + SPREAD[seed]))
                      for key, centre in centres.items()}
            names.append(write_cell(root, model, dict(hparams), 2, seed, scores, **at))
    write_grid(root, names, description)


#: a labelled table without factors: the conditional VAE holds least of the label in z, the VAE and the branched VAE
#: tie seed for seed on the likelihood bound, and only the branched VAE has a classifier branch
TABLES = {
    ("vae", ()): {"recon_bce": 20.0, "iwae_log_px": None, "label_from_z": 0.80, "classifier_accuracy": "n/a: no classifier branch",
                  **dict.fromkeys(FACTOR_SCORES, NOT_APPLICABLE)},
    ("cvae", ()): {"recon_bce": 18.0, "iwae_log_px": -30.0, "label_from_z": 0.30,
                   "classifier_accuracy": "n/a: no classifier branch", **dict.fromkeys(FACTOR_SCORES, NOT_APPLICABLE)},
    ("branched_vae", (("classifier_weight", 1.0),)): {"recon_bce": 21.0, "iwae_log_px": None, "label_from_z": 0.90,
                                                        "classifier_accuracy": 0.85, **dict.fromkeys(FACTOR_SCORES, NOT_APPLICABLE)},
}
#: two views, as the grid trains them: the plain VAE on the first view alone (an image model on dSprites), the
#: shared-latent VAE on both; only it cross-reconstructs, and it reconstructs best on its own data
TWO_VIEWS = {
    ("vae", ()): {"recon_bce": 50.0, "cross_recon_a_from_b": "n/a: not a two-view model",
                  "cross_recon_b_from_a": "n/a: not a two-view model", "mig": 0.10,
                  "where": {"data_kind": "images", "dataset": "dsprites"}},
    ("shared_vae", (("align", 1.0),)): {"recon_bce": 55.0, "cross_recon_a_from_b": 80.0, "cross_recon_b_from_a": 90.0,
                                        "mig": 0.12},
}
#: sequences: the decoder mode is part of the setting; feeding back the output disentangles best on MIG
SEQUENCES = {
    ("seq_vae", (("decoder_mode", "repeat_latent"),)): {"recon_bce": 30.0, "mig": 0.10},
    ("seq_vae", (("decoder_mode", "output_as_input"),)): {"recon_bce": 32.0, "mig": 0.25},
}


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """One results dir per data kind under one folder, and the site built from them."""
    root = tmp_path_factory.mktemp("studies")
    write_study(root / "dsprites")
    _write_kind(root / "tables", TABLES, "labelled tables", data_kind="tables", dataset="wine", family="mlp")
    _write_kind(root / "two_views", TWO_VIEWS, "two views", data_kind="two_views", dataset="dsprites_outline", family="mlp")
    _write_kind(root / "sequences", SEQUENCES, "sequences", data_kind="sequences", dataset="sines", family="rnn")
    out = tmp_path_factory.mktemp("site") / "site"
    build_site([root / name for name in ("dsprites", "tables", "two_views", "sequences")], out)
    return root, out


def test_a_labelled_table_is_judged_on_its_likelihood_its_label_in_z_and_its_classifier(studies):
    _, site = studies
    index = _text(site / "tables" / "index.html")
    assert ("label predictability from z (low: a code free of the label, the conditional VAE's aim) at z = 2: "
            "conditional VAE, z = 2 is best (mean 0.300, median 0.300, P(best) = 1.00).") in index
    assert ("Left out: conditional VAE, z = 2 (5 cells) reads the label: its IWAE bound on log p(x), reconstruction NLL "
            "are of x given the label") in index
    assert ("classifier-branch accuracy at z = 2: only VAE with classifier branch (classifier weight = 1), z = 2 has it "
            "(mean 0.850, n = 5 cells)") in index
    # the VAE and the branched VAE have the same bound seed for seed: a tie, never a winner
    assert ("IWAE bound on log p(x) at z = 2: VAE with classifier branch (classifier weight = 1), z = 2 and VAE, z = 2 "
            "tie at a mean of 0.840 nats, reconstruction cost against the best at z = 2 (nats): VAE with classifier "
            "branch (classifier weight = 1), z = 2 +1.00, VAE, z = 2 +0.") in index
    assert "MIG:" not in index and "DCI disentanglement:" not in index  # the table has no factors


def test_two_views_are_judged_on_cross_reconstruction_and_sequences_per_decoder_mode(studies):
    _, site = studies
    two_views = _text(site / "two_views" / "index.html")
    for view, median in (("view a from b", "80.0"), ("view b from a", "90.0")):
        assert (f"cross-reconstruction NLL, {view} at z = 2 on dsprites_outline: only shared-latent VAE (alignment "
                f"weight = 1), z = 2 has it (mean {median} nats, n = 5 cells), it also reconstructs best at z = 2 on "
                f"dsprites_outline.") in two_views
    # what two views are for comes first, though the plain VAE's cells are an image model's
    assert (two_views.index("cross-reconstruction NLL, view a from b at z = 2 on dsprites_outline: only")
            < two_views.index("MIG at z = 2 on dsprites"))
    sequences = _text(site / "sequences" / "index.html")
    assert ("MIG at z = 2: sequence VAE (decoder = output_as_input), z = 2 is best (mean 0.250, median 0.250, "
            "P(best) = 1.00), at 2.00 nats "
            "more reconstruction error than the best at z = 2 (sequence VAE (decoder = repeat_latent), z = 2).") in sequences
    # the dSprites study's verdict is the one it had alone
    assert ("MIG at z = 4: β-VAE (β = 16), z = 4 is best (mean 0.300, median 0.300, P(best) = 1.00)"
            in _text(site / "dsprites" / "index.html"))


def test_the_overview_says_what_each_study_asks_and_answers_with_n_and_links_to_its_pages(studies):
    _, site = studies
    overview = _text(site / "index.html")
    for name, asks, answer in (
            ("dsprites", "a synthetic study", "MIG: at z = 4, β-VAE (β = 16), z = 4 is best (mean 0.300, median 0.300, "
                                              "P(best) = 1.00); "
                                              "n = 21 cells of 4 settings."),
            ("tables", "labelled tables", "IWAE bound on log p(x): at z = 2, VAE with classifier branch (classifier "
                                          "weight = 1), z = 2 and VAE, z = 2 tie at a mean of 0.840 nats; n = 10 cells of 2 "
                                          "settings."),
            ("two_views", "two views", "cross-reconstruction NLL, view a from b: at z = 2 on dsprites_outline, only "
                                       "shared-latent VAE (alignment weight = 1), z = 2 has it (mean 80.0 nats, n = 5 "
                                       "cells)."),
            ("sequences", "sequences", "MIG: at z = 2, sequence VAE (decoder = output_as_input), z = 2 is best")):
        section = overview[overview.index(f" {name} What it asks:"):]
        assert section.startswith(f" {name} What it asks: {asks} ") and answer in section, section[:600]
    page = (site / "index.html").read_text()
    for name in ("dsprites", "tables", "two_views", "sequences"):
        for link in ("index.html", "gallery.html", "explorer.html", "compare.html", "glossary.html"):
            assert f'href="{name}/{link}"' in page and (site / name / link).is_file()
    assert not (site / "dsprites" / "assets").exists() and (site / "assets" / "vega-bundle.js").is_file()


def test_every_study_page_links_back_to_the_overview_and_reads_the_shared_assets(studies):
    _, site = studies
    for page in [site / "tables" / "gallery.html", next((site / "sequences" / "cells").glob("*.html"))]:
        up = "../" if page.parent.name == "tables" else "../../"
        markup = page.read_text()
        assert f'<a href="{up}index.html">All studies</a>' in markup
        assert f'href="{up}assets/style.css"' in markup and (page.parent / up / "assets" / "style.css").resolve().is_file()


def test_a_folder_holding_several_results_dirs_builds_the_same_site(studies, tmp_path):
    root, _ = studies
    index = build_site(root, tmp_path / "site")
    assert {p.name for p in (tmp_path / "site").iterdir()} >= {"dsprites", "tables", "two_views", "sequences", "assets"}
    assert "4 studies" in _text(index)


def test_two_results_dirs_of_one_name_are_refused_in_one_line_and_nothing_is_written(studies, tmp_path, capsys):
    root, _ = studies
    shutil.copytree(root / "tables", tmp_path / "elsewhere" / "tables")
    code, _, err = run_in_process(["build-site", "--results", root / "tables", "--results", tmp_path / "elsewhere" / "tables",
                                   "--out", tmp_path / "site"], capsys)
    assert code == 2 and err == (f"error: two results dirs are named tables ({root / 'tables'} and "
                                 f"{tmp_path / 'elsewhere' / 'tables'}); a study is named by its results dir, so rename one "
                                 "of them\n")
    assert not (tmp_path / "site").exists()
    shutil.copytree(root / "tables", tmp_path / "assets")
    with pytest.raises(VaebenchError, match="is named assets, the site's folder of shared assets"):
        build_site([root / "tables", tmp_path / "assets"], tmp_path / "site")


#: one tiny trained grid per data kind beyond images: two settings, one seed, a few steps each
KIND_GRIDS = {
    "tables": {"dataset": "labour", "models": ["cvae", "branched_vae"], "families": ["mlp"]},
    "two_views": {"dataset": "dsprites_outline", "models": ["vae", "shared_vae"], "families": ["mlp"]},  # the VAE on dsprites
    "sequences": {"dataset": "sines", "models": ["seq_ae", "seq_vae"], "families": ["rnn"]},
}
#: every trained study: the images' one is the session's smoke grid, which other tests train anyway
TRAINED_STUDIES = ("dsprites", *KIND_GRIDS)


@pytest.fixture(scope="session")
def trained_studies(smoke_results, tmp_path_factory):
    """The kinds' tiny grids, trained at once (fresh processes, as a user runs them), a copy of the smoke grid, and
    the site of all of them."""
    root = tmp_path_factory.mktemp("trained-studies")
    shutil.copytree(smoke_results, root / "dsprites")
    runs = {kind: subprocess.Popen([*VAEBENCH, "run", "grid", "--preset", write_preset(root / f"{kind}.toml", steps=20, **keys),
                                    "--results", root / kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for kind, keys in KIND_GRIDS.items()}
    for kind, run in runs.items():
        out, err = run.communicate(timeout=900)
        assert run.returncode == 0, f"{kind}: {out[-2000:]}{err[-3000:]}"
    site = tmp_path_factory.mktemp("trained-site") / "site"
    build_site([root / name for name in TRAINED_STUDIES], site)
    return root, site


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the fixture trains four grids at once on a shared machine
def test_a_two_view_model_s_pictures_and_gallery_show_both_views_side_by_side(trained_studies):
    root, site = trained_studies
    cells = {json.loads(path.read_text())["model"]: path.parent for path in (root / "two_views").rglob(PARAMS_FILE)}
    shared, plain = (json.loads((cells[model] / PICTURES_DIR / PICTURES_FILE).read_text()) for model in ("shared_vae", "vae"))
    assert shared["second_view_rows"] == ["second view", "second view decoded from the first view's code"]
    tile = shared["tile"]
    width, height = Image.open(cells["shared_vae"] / PICTURES_DIR / shared["second_view"]).size
    assert (height, width) == (2 * (tile["height"] + tile["gutter"]) + tile["gutter"],
                               RECONSTRUCTIONS * (tile["width"] + tile["gutter"]) + tile["gutter"])
    assert "second_view" not in plain  # the plain VAE trains on the first view alone (the record leaves it out)
    gallery = _text(site / "two_views" / "gallery.html")
    assert "second view · second view decoded from the first view's code" in gallery


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the fixture trains four grids at once on a shared machine
def test_every_study_s_index_gallery_and_explorer_load_in_a_real_browser_and_the_overview_links_work(browser, trained_studies):
    _, site = trained_studies
    for study in TRAINED_STUDIES:
        for page in ("index.html", "gallery.html", "explorer.html"):
            with _opened(browser, site / study / page) as opened:
                assert opened.locator("h1").count() == 1
    # every block of the tables' gallery charts its columns along its latents (they have no pictures to tile), and
    # the explorer colours a table's codes by its label and its factors
    with _opened(browser, site / "tables" / "gallery.html") as gallery:
        assert gallery.locator(".gallery-block div.chart").count() == len(KIND_GRIDS["tables"]["models"])
    with _opened(browser, site / "tables" / "explorer.html") as explorer:
        assert {"label", "age_band"} <= set(explorer.locator("#pick-factor option").all_inner_texts())
        assert explorer.locator("#explorer-chart svg [class*='mark-']").count() > 0
    with _opened(browser, site / "index.html") as overview:
        for study in TRAINED_STUDIES:
            overview.locator(f"#study-{study} h2 a").click()
            assert overview.url == (site / study / "index.html").as_uri()
            assert f"vaebench report: {study}" in overview.locator("h1").inner_text()
            overview.locator("nav a", has_text="All studies").click()
            assert overview.url == (site / "index.html").as_uri()


def test_a_results_dir_of_two_datasets_of_one_kind_is_two_studies_and_a_conditional_likelihood_is_kept_apart(tmp_path):
    """Scores of different data are never compared: labour and wine in one results dir are two studies; and a model
    that reads the label has a likelihood of x given it, left out of the likelihood comparisons with a line."""
    root = tmp_path / "tables"
    _write_kind(root, {**TABLES, ("ae", ()): {**TABLES[("vae", ())], "where": {"dataset": "labour"}}}, "labelled tables",
                data_kind="tables", dataset="wine", family="mlp")
    site = build_site([root], tmp_path / "site").parent
    assert sorted(p.name for p in site.iterdir() if p.is_dir()) == ["assets", "tables-labour", "tables-wine"]
    wine, labour = _text(site / "tables-wine" / "index.html"), _text(site / "tables-labour" / "index.html")
    assert ("Left out: conditional VAE, z = 2 (5 cells) reads the label: its IWAE bound on log p(x), reconstruction NLL "
            "are of x given the label, not of x alone, so they are left out of those comparisons.") in wine
    assert ("IWAE bound on log p(x) at z = 2: VAE with classifier branch (classifier weight = 1), z = 2 and VAE, z = 2 "
            "tie at a mean of 0.840 nats") in wine
    assert "reconstruction NLL at z = 2: only AE, z = 2 has it (mean 20.0 nats, n = 5 cells)" in labour and "conditional VAE, z" not in labour
