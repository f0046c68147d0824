"""The index's and comparison page's charts: valid Vega-Lite, named by the spec's labels, oriented by its directions."""

import json

import jsonschema
import pytest
from altair.vegalite.v6.schema import load_schema

from vaebench.site import charts
from vaebench.site.labels import arrow, heading

METRICS = ["recon_bce", "elbo", "mig", "dci_disentanglement", "active_units"]
CONFIGS = ["VAE", "β-VAE (β = 4)", "DIP-VAE-II (λ = 10)"]


def test_headings_say_the_unit_and_which_end_is_better():
    assert heading("mig") == "MIG (higher is better)"
    assert heading("recon_bce") == "reconstruction NLL (nats, lower is better)"
    assert heading("active_units") == "active latent units" and arrow("active_units") == ""
    assert heading("from_a_newer_version") == "from_a_newer_version"


@pytest.mark.parametrize("build", [
    lambda: charts.overview(CONFIGS, METRICS), lambda: charts.heatmap(CONFIGS, METRICS), lambda: charts.regularisation(CONFIGS, METRICS),
    lambda: charts.seed_strips(CONFIGS, METRICS), lambda: charts.metric_vs_latent(CONFIGS, METRICS),
    lambda: charts.models_side_by_side(CONFIGS, METRICS)])
def test_shared_table_charts_are_valid_name_the_table_and_show_full_legends(build):
    spec = build()
    errors = list(jsonschema.Draft7Validator(load_schema()).iter_errors(spec))
    assert not errors, errors[0].message[:300]
    text = json.dumps(spec)
    assert '"data": {"name": "metrics"}' in text and "datasets" not in spec
    assert spec["config"]["legend"] == {"labelLimit": 0, "symbolOpacity": 1}
    assert "picked metric" not in text and '"title": "value' not in text
    assert "MIG (higher is better)" in text  # the title follows the picker


def test_the_answer_figure_reads_the_settings_and_references_tables_draws_crosshairs_and_the_pareto_front():
    domains = {m: {"x": [40.0, 90.0], "y": [0.0, 1.0]} for m in ("mig", "dci_disentanglement")}
    spec = charts.answer(CONFIGS, ["mig", "dci_disentanglement"], [4, 10], domains)
    errors = list(jsonschema.Draft7Validator(load_schema()).iter_errors(spec))
    assert not errors, errors[0].message[:300]
    text = json.dumps(spec)
    assert "datasets" not in spec and '"name": "settings"' in text and '"name": "references"' in text
    assert len(spec["hconcat"]) == 2  # a panel per latent size
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["hconcat"][0]["layer"]]
    assert marks[:6] == ["rule", "rule", "rule", "rule", "line", "point"] and set(marks[6:]) == {"text"}
    assert {"filter": "datum.pareto"} in spec["hconcat"][0]["layer"][4]["transform"]


def test_every_chart_gives_a_model_the_same_colour():
    def colours(node):
        if isinstance(node, dict):
            if node.get("field") == "config" and "scale" in node and "scheme" in node["scale"]:
                yield node["scale"]
            for value in node.values():
                yield from colours(value)
        elif isinstance(node, list):
            for value in node:
                yield from colours(value)
    answer = charts.answer(CONFIGS, ["mig"], [4], {"mig": {"x": [0, 1], "y": [0, 1]}})
    scales = [scale for spec in (answer, charts.overview(CONFIGS, METRICS),
                                 charts.regularisation(CONFIGS, METRICS), charts.seed_strips(CONFIGS, METRICS),
                                 charts.metric_vs_latent(CONFIGS, METRICS)) for scale in colours(spec)]
    assert len(scales) >= 5 and all(scale == {"domain": CONFIGS, "scheme": "tableau10"} for scale in scales)


def test_the_heatmap_colours_the_best_median_brightest_whichever_end_is_better():
    spec = charts.heatmap(CONFIGS, METRICS)
    transforms = spec["layer"][0].get("transform", []) + spec.get("transform", [])
    [direction] = [t["calculate"] for t in transforms if t.get("as") == "direction"]
    assert json.loads(direction.split("[")[0]) == {"recon_bce": -1, "elbo": 1, "mig": 1, "dci_disentanglement": 1,
                                                   "active_units": 1}  # from the spec; unordered scores count up
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["field"] == "better" and colour["scale"] == {"domain": [0, 1], "scheme": "viridis"}


def test_the_trade_off_and_seed_spread_share_one_view_and_one_highlight():
    spec = charts.overview(CONFIGS, METRICS)
    assert len(spec["vconcat"]) == 2
    [highlight] = [p for p in spec["params"] if p["name"] == charts.MODEL_SELECTION]
    assert highlight["bind"] == "legend"
    for view in spec["vconcat"]:
        assert view["encoding"]["opacity"]["condition"]["param"] == charts.MODEL_SELECTION
