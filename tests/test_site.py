"""The static report: every link resolves, every chart spec is valid Vega-Lite, escaping, determinism, a real browser."""

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from altair.vegalite.v6.schema import load_schema

from vaebench import store
from vaebench.errors import VaebenchError
from vaebench.site import build_site


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.specs, self.charts, self._in_spec = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag == "script" and attrs.get("type") == "application/json":
            self._in_spec = True
            self.specs.append("")
        if tag == "div" and "data-spec" in attrs:
            self.charts.append(attrs["data-spec"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_spec = False

    def handle_data(self, data):
        if self._in_spec:
            self.specs[-1] += data


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text())
    return collector


@pytest.fixture(scope="module")
def site_results(smoke_results, tmp_path_factory):
    """A copy of the smoke grid: building a site stores each cell's pictures in it."""
    results = tmp_path_factory.mktemp("site-results") / "results"
    shutil.copytree(smoke_results, results)
    return results


@pytest.fixture(scope="module")
def site(site_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(site_results, out)
    return out


def test_pages_exist_for_every_cell(site, site_results):
    cells = store.load_experiments(site_results)
    pages = sorted((site / "cells").glob("*.html"))
    assert len(pages) == len(cells)
    for name in ("index.html", "compare.html", "glossary.html", "data/metrics.js", "assets/vega-bundle.js", "assets/style.css"):
        assert (site / name).is_file()
    for cell in cells:
        folder = site / "cells" / cell.name.replace("/", "__")
        for picture in ("reconstructions.png", "traversal-0.png", "interpolation.png", "arithmetic.png"):
            assert (folder / picture).stat().st_size > 100


def test_every_internal_link_resolves(site):
    for page in site.rglob("*.html"):
        for link in _parse(page).links:
            if link.startswith(("http:", "https:")):
                pytest.fail(f"{page.name} links outside the site: {link}")
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(site)} → {link}"


def test_every_chart_spec_is_valid_vega_lite(site):
    schema = load_schema()
    validator = jsonschema.Draft7Validator(schema)
    count = 0
    for page in sorted(site.rglob("*.html")):
        parsed = _parse(page)
        assert len(parsed.charts) == len(parsed.specs), page.name
        for text in parsed.specs:
            spec = json.loads(text)
            errors = sorted(validator.iter_errors(spec), key=lambda e: e.path)
            assert not errors, f"{page.name}: {errors[0].message[:300]}"
            assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
            count += 1
    assert count >= 4 + 2 + 2  # index, comparisons, and at least curves + scatter matrix on a cell page


def test_the_vega_libraries_ship_once_and_nothing_loads_from_the_network(site):
    scripts = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.js"))
    assert scripts == ["assets/vega-bundle.js", "data/metrics.js"]
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text
        assert len(text) < 400_000, f"{page.name} seems to inline a library"


def _shared_table(site: Path) -> list[dict]:
    prefix = "window.VAEBENCH_DATA = window.VAEBENCH_DATA || {};\nwindow.VAEBENCH_DATA.metrics = "
    text = (site / "data" / "metrics.js").read_text()
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix):-2])


def test_the_metrics_table_ships_once_and_the_charts_name_it(site, site_results):
    rows = _shared_table(site)
    cells = store.load_experiments(site_results)
    assert sorted(r["name"] for r in rows) == sorted(c.name for c in cells)
    assert all(isinstance(r["recon_bce"], float) and r["latent_dim"] in (2, 4) for r in rows)
    # the smoke grid holds the VAE and the β-VAE at β = 4: the VAE joins the β-VAE's sweep at β = 1
    assert {(r["model"], r["strength"]) for r in rows if r["sweep"]} == {("vae", 1.0), ("beta_vae", 4.0)}
    for page in ("index.html", "compare.html"):
        text = (site / page).read_text()
        assert '<script src="data/metrics.js"></script>' in text
        specs = [json.loads(t) for t in _parse(site / page).specs]
        named = [s for s in specs if '"name": "metrics"' in json.dumps(s)]
        assert len(named) >= 2 and all("metrics" not in s.get("datasets", {}) for s in named), page
        assert rows[0]["name"] not in text.split("<h2 id=\"cells\">")[0].split("</details>")[-1]  # no copy of the table


def test_the_index_leads_with_the_verdict_and_a_leaderboard_marking_each_columns_best(site):
    index = (site / "index.html").read_text()
    assert index.index("<h2>Verdict</h2>") < index.index("leaderboard") < index.index("<details")
    verdict = index.split("<h2>Verdict</h2>")[1].split("</ul>")[0]
    assert "reconstruction NLL (lower is better): best " in verdict and "MIG (higher is better): best " in verdict
    board = index.split('<table class="numbers leaderboard">')[1].split("</table>")[0]
    header, *rows = board.split("</tr>")[:-1]
    columns = re.findall(r'<th><a href="glossary.html#(\w+)">', header)
    assert columns[:2] == ["recon_bce", "elbo"] and "mig" in columns
    assert "nats</span> ↓" in header and "MIG</a> ↑" in header
    assert len(rows) == 3 * 2  # model × latent size
    cells = [re.findall(r"<td( class=\"best\")?>", row)[2:] for row in rows]
    for column in range(len(columns)):
        assert any(row[column] for row in cells), f"no best value in column {columns[column]}"
    assert [re.search(r"<td>(\d+)</td>", row).group(1) for row in rows[:2]] == ["2", "4"]


def test_the_glossary_defines_every_score_key_any_metrics_json_holds(site, site_results):
    glossary = (site / "glossary.html").read_text()
    anchors = set(re.findall(r'<section class="term" id="(\w+)">', glossary))
    written = {key for cell in store.load_experiments(site_results) for key in cell.scores}
    assert written and written <= anchors
    mig = glossary.split('id="mig"')[1].split("</section>")[0]
    assert "higher is better" in mig and "Chen, Li, Grosse &amp; Duvenaud (2018)" in mig and "posterior mean" in mig
    assert re.search(r"<code>num_train</code></td><td[^>]*>\d+</td><td>10,000</td>", mig)  # used here against the standard
    index = (site / "index.html").read_text()
    assert re.findall(r'href="glossary.html#(\w+)"', index)


def _assert_same_site(site, again):
    first = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    date = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    for relative in first:
        a, b = (site / relative).read_bytes(), (again / relative).read_bytes()
        if relative.name == "index.html":
            a, b = date.sub("DATE", a.decode()), date.sub("DATE", b.decode())
            assert len(date.findall((site / relative).read_text())) == 1
        assert a == b, relative


def test_rebuilding_gives_the_same_files_except_the_date(site, site_results, tmp_path):
    build_site(site_results, tmp_path / "again")
    _assert_same_site(site, tmp_path / "again")


def test_a_results_dir_without_its_weights_rebuilds_the_same_site_from_its_stored_pictures(site, site_results, tmp_path):
    published = tmp_path / "published" / site_results.name  # the footer names the results dir
    shutil.copytree(site_results, published)
    for weights in published.rglob("*.keras"):
        weights.unlink()
    build_site(published, tmp_path / "again")
    _assert_same_site(site, tmp_path / "again")
    assert not list(published.rglob("*.keras"))


def test_a_cell_with_neither_weights_nor_pictures_gets_a_page_that_says_so(smoke_results, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_results, results)
    cell = sorted(p.parent for p in results.rglob("params.json"))[0]
    for path in cell.glob("*.keras"):
        path.unlink()
    shutil.rmtree(cell / store.PICTURES_DIR, ignore_errors=True)
    build_site(results, tmp_path / "site")
    name = json.loads((cell / "params.json").read_text())["name"]
    page = tmp_path / "site" / "cells" / (name.replace("/", "__") + ".html")
    assert "keeps neither its weights nor the pictures" in page.read_text()
    experiment = next(e for e in store.load_experiments(results) if e.name == name)
    with pytest.raises(VaebenchError, match="has no encoder.keras: this results dir does not keep its weights"):
        experiment.encoder


def test_markup_in_results_shows_as_text_and_broken_cells_are_listed(smoke_results, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_results, results)
    cells = sorted(p.parent for p in results.rglob("params.json"))
    failed = json.loads((cells[0] / "params.json").read_text())
    failed.update(status="failed", failure={"reason": "<script>alert('x')</script> at step 3", "step": 3})
    store.write_json(cells[0] / "params.json", failed)
    (cells[1] / "metrics.json").write_text("{broken")
    (cells[2] / "metrics.json").unlink()
    out = build_site(results, tmp_path / "site")
    index = out.read_text()
    assert "&lt;script&gt;alert(" in index and "<script>alert(" not in index
    assert "corrupt metrics.json" in index and "metrics.json is missing" in index
    assert len(list((tmp_path / "site" / "cells").glob("*.html"))) == len(cells) - 1


def test_empty_or_missing_results_are_one_line_errors(tmp_path):
    with pytest.raises(VaebenchError, match="does not exist"):
        build_site(tmp_path / "nope", tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaebenchError, match="holds no grid"):
        build_site(tmp_path / "empty", tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_the_headline_chart_also_exists_as_a_picture(site):
    assert (site / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_index_says_what_the_grid_is_and_that_it_is_not_the_paper_study(site):
    index = (site / "index.html").read_text()
    assert "Preset smoke: Smoke test: 3 models" in index
    assert "Not the literature-scale study." in index and "300k steps" in index


def test_a_folder_holding_one_grid_builds_and_other_folders_are_never_replaced(smoke_results, tmp_path):
    parent = tmp_path / "results"
    shutil.copytree(smoke_results, parent / "smoke")
    assert "vaebench report: smoke" in build_site(parent, tmp_path / "site").read_text()
    shutil.copytree(smoke_results, parent / "other")
    with pytest.raises(VaebenchError, match="holds several grids \\(other, smoke\\); pass one of them with --results"):
        build_site(parent, tmp_path / "site")
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "draft.txt").write_text("keep me")
    with pytest.raises(VaebenchError, match="is not a vaebench site; refusing to replace it"):
        build_site(parent / "smoke", precious)
    assert (precious / "draft.txt").read_text() == "keep me"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_pages_render_in_a_real_browser(site):
    """Open index.html and one cell page from disk: no console errors, every chart drawn."""
    in_ci = os.environ.get("CI") == "true"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed in CI")
        pytest.skip("playwright is not installed (pip install playwright)")
    if CHROMIUM is None:
        if in_ci:
            pytest.fail("Debian's chromium is not installed in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pages = [site / "index.html", site / "compare.html", sorted((site / "cells").glob("*.html"))[0]]
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            for path in pages:
                page = browser.new_page()
                errors = []
                page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(path.as_uri())
                charts = page.locator("div.chart")
                page.wait_for_function("document.querySelectorAll('div.chart svg .mark-group, div.chart svg g.mark-symbol,"
                                       " div.chart svg path').length > 0", timeout=30_000)
                page.wait_for_timeout(500)
                for i in range(charts.count()):
                    marks = charts.nth(i).locator("svg [class*='mark-']").count()
                    assert marks > 0, f"{path.name}: chart {i} drew no marks"
                assert not errors, f"{path.name}: {errors}"
                page.close()
        finally:
            browser.close()
