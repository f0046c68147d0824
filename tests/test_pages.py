"""What a reader of a study's index relies on: a headline chart with marks, reference lines and labels that do not
overlap, in every published study; the scores along training on an axis that shows step 0; models in numeric order
of their hyperparameters; the budget and the scored representation on the first screen."""

import copy
import html
import math
import re
import tomllib
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import vl_convert

from study_results import write_study
from vaebench import display
from vaebench.metrics.published import LITERATURE_STEPS
from vaebench.metrics.spec import SCORED_CODE
from vaebench.site import answer, build_site, cell_charts, charts
from vaebench.site.build import Site
from vaebench.site.label_layout import PLACES, text_box
from vaebench.site.publish import Earlier
from vaebench.site.studies import study_dirs

RESULTS = Path(__file__).parent.parent / "results"
#: every study committed under results/ (a folder holding a grid.json)
PUBLISHED = tuple(sorted(path.parent.name for path in RESULTS.glob("*/grid.json")))


def _marks(node):
    """Every named mark of a Vega scenegraph: (its name, its items)."""
    if isinstance(node, dict):
        if node.get("marktype") and node.get("name"):
            yield node["name"], node.get("items", [])
        for key in ("items", "root", "scenegraph"):
            if key in node:
                yield from _marks(node[key])
    elif isinstance(node, list):
        for child in node:
            yield from _marks(child)


def _drawn(spec: dict, score: str | None = None) -> list[tuple]:
    """The marks Vega draws for ``spec`` with its picker at ``score`` (default: its default)."""
    spec = copy.deepcopy(spec)
    if score is not None:
        [picker] = [p for p in spec["params"] if p["name"] == "answer_metric"]
        picker["value"] = score
    return list(_marks(vl_convert.vegalite_to_scenegraph(spec)))


def _label_boxes(marks) -> dict:
    """Per panel (the latent size its marks' names end with), the boxes of every label drawn there, from the positions
    Vega gave them."""
    boxes = {}
    for name, items in marks:
        if "labels_" in name:
            for item in items:
                boxes.setdefault(re.search(r"_z(\d+)_\d+_marks$", name).group(1), []).append((item["text"], text_box(
                    item["x"], item["y"], item["text"], item["fontSize"], item["align"], item["baseline"],
                    item.get("dx", 0), item.get("dy", 0))))
    return boxes


def _clustered_study() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve settings whose medians crowd within 2 nats and 0.02 of each other at two latent sizes (as the study's do
    near 80–85 nats), and calibration rows (PCA, random codes at each size, the mean image far beyond the axis)."""
    rows = []
    for latent_dim in (4, 10):
        for k in range(12):
            config = display.model_name("dip_vae_ii", {"lambda_od": k + 1, "lambda_d": k + 1})
            for seed in range(3):
                url = f"cells/{k}-{latent_dim}-{seed}.html"
                common = {"setting": f"{config}, z = {latent_dim}", "config": config, "latent_dim": latent_dim,
                          "seed": seed, "url": url}
                rows += [{**common, "metric": "recon_bce", "value": 80 + (k % 4) * 0.5 + seed * 0.1},
                         {**common, "metric": "mig", "value": 0.05 + (k // 4) * 0.008 + seed * 0.001}]
    references = pd.DataFrame(
        [{"reference": kind, "latent_dim": latent_dim, "metric": "mig", "value": value}
         for latent_dim in (4, 10) for kind, value in (("pca", 0.04 + latent_dim / 1000), ("random", 0.001))]
        + [{"reference": "mean_image", "latent_dim": pd.NA, "metric": "recon_bce", "value": 545.8}])
    return pd.DataFrame(rows), references.astype({"latent_dim": "Int64"})


def _headline(frame: pd.DataFrame, references: pd.DataFrame) -> tuple[dict, list[dict], list[dict]]:
    rows = answer.settings_rows(frame, ["mig"])
    levels = answer.level_rows(references, rows)
    domains = answer.domains(rows, levels)
    rows, levels = answer.placed(rows, levels, domains)
    spec = charts.answer(list(dict.fromkeys(frame["config"])), ["mig"], [4, 10], domains)
    spec["datasets"] = {charts.SETTINGS_DATA: rows, charts.REFERENCES_DATA: levels}
    return spec, rows, levels


def test_no_two_labels_of_the_headline_chart_overlap_however_crowded_its_points():
    spec, rows, levels = _headline(*_clustered_study())
    boxes = _label_boxes(_drawn(spec))
    assert len(boxes) == 2  # one panel per latent size
    for drawn in boxes.values():
        for k, (text, box) in enumerate(drawn):
            for other_text, other in drawn[k + 1:]:
                assert not box.overlaps(other), (text, other_text)
    # the placement's geometry is Vega's: each setting's label is drawn at its point as answer.placed computed it
    (x_low, x_high), (y_low, y_high) = answer.domains(rows, levels)["mig"].values()
    drawn_at = {(name.split("_z")[1].split("_")[0], item["text"]): (item["x"], item["y"])
                for name, items in _drawn(spec) if name.startswith("setting_labels_") for item in items}
    for row in rows:
        if row["place"] is not None:
            x, y = drawn_at[(str(row["latent_dim"]), row["label"])]
            assert x == pytest.approx((row["recon"] - x_low) / (x_high - x_low) * answer.WIDTH, abs=0.5)
            assert y == pytest.approx((y_high - row["median"]) / (y_high - y_low) * answer.HEIGHT, abs=0.5)
    drawn = [text for panel in boxes.values() for text, _ in panel]
    # every reference line is labelled; every setting is drawn, and the crowd's labels that have no room are left out
    assert sum("linear code" in text for text in drawn) == 2 and sum("random code" in text for text in drawn) == 2
    named = [row for row in rows if row["place"] is not None]
    assert 0 < len(named) < len(rows) and sorted(text for text in drawn if text.startswith("DIP")) == sorted(
        row["label"] for row in named)
    # the Pareto front is labelled first, here in a corner whose neighbours leave it room only over or under its point
    for latent_dim in (4, 10):
        front = sorted((row for row in rows if row["pareto"] and row["latent_dim"] == latent_dim), key=lambda r: r["recon"])
        assert front[0]["place"] is not None


def test_the_headline_chart_draws_the_calibration_rows_at_the_panel_s_latent_size_and_the_mean_image_at_its_edge():
    frame, references = _clustered_study()
    spec, rows, levels = _headline(frame, references)
    by = {(level["reference"], level["latent_dim"]): level for level in levels}
    assert by[("pca", 4)]["value"] == 0.044 and by[("pca", 10)]["value"] == 0.05 and by[("random", 4)]["value"] == 0.001
    assert by[("pca", 4)]["axis"] == "score" and by[("pca", 4)]["text"] == "linear code (PCA)"
    mean = by[("mean_image", 4)]
    # the mean image's 546 nats lie far beyond the settings' 80–82: named at the axis's right edge, not drawn there
    assert mean["axis"] == "reconstruction" and not mean["drawn"] and mean["text"] == "mean image (546 nats) →"
    assert mean["anchor_x"] == answer.domains(rows, levels)["mig"]["x"][1]
    # the score axis reaches down to the random code's level
    assert answer.domains(rows, levels)["mig"]["y"][0] < 0.001
    points = {name.split("_")[1]: items for name, items in _drawn(spec) if name.startswith("points_")}
    assert len(points["z4"]) == 12 and len(points["z10"]) == 12


@pytest.mark.parametrize("results", PUBLISHED)
def test_every_headline_chart_of_every_published_study_draws_finite_points(results, tmp_path):
    for study in study_dirs([RESULTS / results]):
        site = Site(study.results_dir, tmp_path, Earlier(tmp_path, {}), data=study.data)
        spec = site.headline_chart(inline=True)
        assert spec is not None, f"{study.name}: no headline chart"
        for score in site.headline.scores:
            rows = [row for row in site.headline.settings if row["metric"] == score]
            assert rows and all(math.isfinite(row[key]) for row in rows for key in ("recon", "median", "low", "high"))
            points = [items for name, items in _drawn(spec, score) if name.startswith("points_")]
            assert sum(map(len, points)) == len(rows), f"{study.name}, {score}"
            assert all(math.isfinite(item["x"]) and math.isfinite(item["y"]) for items in points for item in items)


def test_the_wine_study_without_factors_charts_what_its_models_are_for():
    study = next(s for s in study_dirs([RESULTS / "tables"]) if s.data == "wine")
    site = Site(study.results_dir, Path("/nonexistent"), Earlier(Path("/nonexistent"), {}), data=study.data)
    assert site.headline.scores[0] == "label_from_z"


def test_the_scores_along_training_share_the_cell_pages_step_axis_which_shows_step_0():
    steps = [0, 100, 200, 500, 1300, 3000]
    spec = charts.along_training(["VAE"], ["mig"], steps)
    axis = spec["spec"]["layer"][0]["encoding"]["x"] if "layer" in spec.get("spec", {}) else spec["spec"]["encoding"]["x"]
    assert axis == cell_charts.step_axis(steps).to_dict()
    assert axis["scale"]["type"] == "symlog" and axis["axis"]["values"] == steps
    rows = [{"setting": "VAE, z = 4", "config": "VAE", "latent_dim": 4, "metric": "mig", "step": step,
             "median": 0.1, "low": 0.05, "high": 0.15, "n": 5} for step in steps]
    drawn = dict(_marks(vl_convert.vegalite_to_scenegraph({**spec, "datasets": {charts.CHECKPOINTS_DATA: rows}})))
    xs = next([item["x"] for item in items] for name, items in drawn.items()
              if name.endswith("_marks") and len(items) == len(steps))
    # step 0 at the left edge, every step apart, and the first checkpoint far from step 0 (a linear axis would put
    # step 100 of 3,000 at 3 % of the width; a log axis cannot draw step 0 at all)
    assert xs[0] == 0 and xs == sorted(set(xs)) and xs[1] > 0.15 * xs[-1]


def test_models_sort_by_the_value_of_their_hyperparameters_not_its_spelling():
    models = [("dip_vae_ii", {"lambda_od": value, "lambda_d": value}) for value in (20, 1, 5)]
    models += [("beta_vae", {"beta": 16.0}), ("vae", {}), ("beta_vae", {"beta": 4.0}), ("beta_vae", {"beta": 1.0})]
    ordered = [display.model_name(*m) for m in sorted(models, key=lambda m: display.model_order(*m))]
    assert ordered == ["VAE", "β-VAE (β = 1)", "β-VAE (β = 4)", "β-VAE (β = 16)", "DIP-VAE-II (λ = 1)",
                       "DIP-VAE-II (λ = 5)", "DIP-VAE-II (λ = 20)"]
    # a word sorts after every number, and an unknown model after the known
    assert display.model_order("seq_vae", {"decoder_mode": "free"}) > display.model_order("seq_vae", {"decoder_mode": 1})
    assert display.model_order("from_a_newer_version") > display.model_order("seq_cvae")


CONFIGS = ["VAE", "β-VAE (β = 4)", "β-VAE (β = 16)", "DIP-VAE-II (λ = 1)", "DIP-VAE-II (λ = 5)", "DIP-VAE-II (λ = 20)"]
METRICS = ["recon_bce", "mig", "beta_vae_eval"]


@pytest.mark.parametrize("spec", [
    charts.heatmap(CONFIGS, METRICS), charts.seed_strips(CONFIGS, METRICS), charts.models_side_by_side(CONFIGS, METRICS),
    charts.overview(CONFIGS, METRICS), charts.regularisation(CONFIGS, METRICS), charts.metric_vs_latent(CONFIGS, METRICS),
    charts.along_training(CONFIGS, METRICS, [0, 10]), charts.answer(CONFIGS, METRICS, [4], {m: {"x": [0, 1], "y": [0, 1]}
                                                                                             for m in METRICS})],
    ids=["heatmap", "strips", "side_by_side", "overview", "strength", "by_latent", "training", "answer"])
def test_every_chart_lists_the_models_in_the_order_given(spec):
    def config_encodings(node):
        if isinstance(node, dict):
            for channel in ("x", "y", "xOffset", "color", "row", "column", "facet"):
                if isinstance(node.get("encoding", {}).get(channel), dict) and node["encoding"][channel].get("field") == "config":
                    yield node["encoding"][channel]
            for value in node.values():
                yield from config_encodings(value)
        elif isinstance(node, list):
            for value in node:
                yield from config_encodings(value)
    found = list(config_encodings(spec))
    assert found
    for encoding in found:  # an axis sorts by the order given, a colour legend takes it as its domain
        assert encoding.get("sort") == CONFIGS or encoding.get("scale", {}).get("domain") == CONFIGS, encoding


def _text(page: Path) -> str:
    markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " [chart] ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory):
    root = write_study(tmp_path_factory.mktemp("study") / "study", off_protocol=False)
    return build_site(root, tmp_path_factory.mktemp("site") / "site").parent


def test_the_first_screen_states_the_budget_against_the_literature_and_the_scored_representation(synthetic_site):
    text = _text(synthetic_site / "index.html")
    first = text[:text.index("[chart]", text.index("What was measured"))]  # before the headline chart
    assert ("20 trained cells, each 3,000 steps of batch 64: 1 % of the 300,000 steps of the literature "
            "(Locatello et al. 2019), so every score is of models early in training") in first
    assert "5 seeds per setting" in first and SCORED_CODE in first and "posterior mean" in SCORED_CODE


def test_the_literature_budget_is_the_paper_preset_s():
    paper = tomllib.loads((resources.files("vaebench") / "presets" / "paper.toml").read_text())
    assert paper["steps"] == LITERATURE_STEPS


def test_the_gallery_and_leaderboard_list_strengths_in_numeric_order(synthetic_site):
    gallery, index = (_text(synthetic_site / page) for page in ("gallery.html", "index.html"))
    board = index[index.index("Leaderboard"):index.index("Budget, and what it cannot show")]
    for text in (gallery, board):
        assert text.index("β-VAE (β = 4)") < text.index("β-VAE (β = 16)")


def test_a_label_takes_the_first_free_place_and_none_where_every_place_is_taken():
    from vaebench.site.label_layout import Box, place_labels

    # two labels for one point: the second goes below the first; at the right edge a label goes left of its point
    first, second = place_labels([(100, 100), (100, 100)], ["a label", "a label"], 300, 200, 10, 6)
    assert (first.name, second.name) == ("right-above", "right-below")
    [edge] = place_labels([(295, 100)], ["a label"], 300, 200, 10, 6)
    assert edge.name == "left-above"
    # a fixed box over the whole plot leaves no place: the label is not drawn
    assert place_labels([(100, 100)], ["a label"], 300, 200, 10, 6, [Box(0, 0, 300, 200)]) == [None]
