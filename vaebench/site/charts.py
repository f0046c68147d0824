"""Altair charts for the report, one function per chart; each returns a Vega-Lite spec (a dict).

Every parameter and selection is named explicitly so that rebuilding gives
byte-identical specs. The index's and comparison page's charts read the shared table
``metrics`` (``data/metrics.js``, one row per trained cell: name, url, config, model,
latent_dim, seed, sweep, strength and one column per score), which the page injects as a
named dataset; titles, axes and tooltips name scores by their labels in the metric spec.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from vaebench.metrics.spec import FACTOR_SCORES, KIND_SCORES, RECONSTRUCTION, SCORES
from vaebench.site import answer as answer_rows
from vaebench.site.cell_charts import step_axis
from vaebench.site.label_layout import PLACES
from vaebench.site.labels import heading, label

#: every score key a metric writes, in report order, with its label and direction (the metrics' spec)
KNOWN_METRICS = SCORES
#: the table of one row per (setting, factor score) that the answer figure reads (data/metrics.js)
SETTINGS_DATA = "settings"
#: the table of the calibration rows' levels that the answer figure draws (``vaebench.site.answer.level_rows``)
REFERENCES_DATA = "references"
#: the table of one row per (setting, checkpoint step, score) that the along-training chart reads
CHECKPOINTS_DATA = "checkpoints"
#: the table of one row per (setting, step, score) of full-protocol scores at several budgets (a convergence ladder)
BUDGETS_DATA = "budgets"
MODEL_SELECTION = "model_highlight"
#: the name of the shared table every index and comparison chart reads
DATA = "metrics"
#: legend labels in full, swatches at full opacity whatever the marks' opacity
LEGEND = {"labelLimit": 0, "symbolOpacity": 1}


def to_png(spec: dict, scale: float = 1.5) -> bytes:
    """The chart rendered as a PNG with its parameters at their defaults (vl-convert, no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(vl_spec=spec, scale=scale)


def _lookup(values: dict, param: str) -> str:
    """A Vega expression looking up the picked metric's entry in ``values``."""
    return f"{json.dumps(values, sort_keys=True, ensure_ascii=False)}[{param}]"


def _metric_picker(name: str, metrics: list[str], default: str, prompt: str = "metric") -> alt.Parameter:
    return alt.param(name=name, value=default, bind=alt.binding_select(options=metrics, labels=[label(m) for m in metrics],
                                                                         name=prompt + " "))


def _title(picker: alt.Parameter, metrics: list[str], suffix: str = "") -> alt.Title:
    """The chart's title: the picked metric's heading (axis titles cannot follow a picker)."""
    return alt.Title(alt.ExprRef(_lookup({m: heading(m) + suffix for m in metrics}, picker.name)), anchor="start")


def _direction(picker: alt.Parameter, metrics: list[str]) -> str:
    """+1 where higher is better (or the score is not ordered), −1 where lower is."""
    return _lookup({m: -1 if m in KNOWN_METRICS and KNOWN_METRICS[m].higher_is_better is False else 1 for m in metrics},
                   picker.name)


def _model_highlight() -> alt.Parameter:
    return alt.selection_point(name=MODEL_SELECTION, fields=["config"], bind="legend")


def _colour(configs: list[str]) -> alt.Color:
    """One colour per model on every chart: the same ordered domain and palette everywhere."""
    return alt.Color("config:N", title="model",
                     scale=alt.Scale(domain=configs, scheme="tableau10" if len(configs) <= 10 else "tableau20"))


def _picked(picker: alt.Parameter, metrics: list[str]) -> alt.Chart:
    """The shared table folded to (metric, value) rows of the picked metric."""
    return (alt.Chart(alt.NamedData(name=DATA)).transform_fold(metrics, as_=["metric", "value"])
            .transform_filter(alt.datum.metric == picker).transform_filter("isValid(datum.value)"))


def _cell_tooltip(value_title: str = "score") -> list[alt.Tooltip]:
    return [alt.Tooltip("config:N", title="model"), alt.Tooltip("latent_dim:O", title="latent size"),
            alt.Tooltip("seed:O", title="seed"), alt.Tooltip("value:Q", title=value_title, format=".3g")]


def tradeoff_metrics(metrics: list[str]) -> list[str]:
    """The scores the trade-off charts put against reconstruction, their default first: the factor scores the study
    has; without factors (a table with a label only), what its kind's models are for (``KIND_SCORES``) other than a
    likelihood (which reconstruction bounds), then every other score."""
    factor = [m for m in FACTOR_SCORES if m in metrics]
    aims = [m for scores in KIND_SCORES.values() for m in scores if m in metrics and not SCORES[m].of_x]
    return factor or aims or [m for m in metrics if m != RECONSTRUCTION] or metrics


def answer(configs: list[str], metrics: list[str], latent_dims: list[int], domains: dict[str, dict[str, list[float]]]) -> dict:
    """The index's first figure, one panel per latent size: per setting, the median of a score (picker: ``metrics``,
    those the ``settings`` table holds) against the median reconstruction, crosshairs from the lowest to the highest
    seed on both axes, the Pareto front of the latent size dashed, the calibration rows' levels (the ``references``
    table) as labelled grey lines, and the settings' labels where ``vaebench.site.answer`` found them a free place
    (the others on hover). ``domains``: per score, its axes' domains, which that placement assumes."""
    picker = _metric_picker("answer_metric", metrics, metrics[0], "score")
    # each axis's domain for the picked score, stated once as a parameter that every layer's scale reads
    x_domain, y_domain = (alt.param(name=f"answer_{axis}_domain", expr=_lookup({m: d[axis] for m, d in domains.items()},
                                                                             picker.name)) for axis in ("x", "y"))
    x_scale, y_scale = (alt.Scale(domain=alt.ExprRef(domain.name), nice=False, zero=False) for domain in (x_domain, y_domain))
    x = alt.X("recon:Q", title=f"median {heading(RECONSTRUCTION)}", scale=x_scale)
    y = alt.Y("median:Q", title=None, scale=y_scale)
    tooltip = [alt.Tooltip("setting:N", title="setting"), alt.Tooltip("n:Q", title="seeds (n)"),
               alt.Tooltip("median:Q", title="median", format=".3g"), alt.Tooltip("low:Q", title="lowest seed", format=".3g"),
               alt.Tooltip("high:Q", title="highest seed", format=".3g"),
               alt.Tooltip("recon:Q", title=f"median {label(RECONSTRUCTION)}", format=".3g")]
    colour = _colour(configs)

    def panel(latent_dim: int) -> alt.LayerChart:
        def rows(name: str) -> alt.Chart:
            return (alt.Chart(alt.NamedData(name=name)).transform_filter(alt.datum.metric == picker)
                    .transform_filter(alt.datum.latent_dim == latent_dim))

        settings, levels = rows(SETTINGS_DATA), rows(REFERENCES_DATA)
        score_level = levels.transform_filter(alt.datum.axis == "score").mark_rule(**_LEVEL_LINE).encode(
            y=alt.Y("value:Q", scale=y_scale), tooltip=[alt.Tooltip("title:N", title="calibration row"),
                                                       alt.Tooltip("value:Q", title="median", format=".3g")])
        recon_level = (levels.transform_filter(alt.datum.axis == "reconstruction").transform_filter(alt.datum.drawn)
                       .mark_rule(**_LEVEL_LINE)
                       .encode(x=alt.X("value:Q", scale=x_scale), tooltip=[alt.Tooltip("title:N", title="calibration row"),
                                                                           alt.Tooltip("value:Q", title="median", format=".4g")]))
        layers = [score_level, recon_level,
                  settings.mark_rule(opacity=0.6).encode(x=alt.X("recon_low:Q", scale=x_scale), x2="recon_high:Q", y=y, color=colour),
                  settings.mark_rule(opacity=0.6).encode(x=x, y=alt.Y("low:Q", scale=y_scale), y2="high:Q", color=colour),
                  settings.transform_filter(alt.datum.pareto).mark_line(color="#555", strokeDash=[5, 3]).encode(
                      x=x, y=y, order=alt.Order("recon:Q")),
                  settings.mark_point(filled=True, size=answer_rows.POINT_SIZE, opacity=1).encode(
                      x=x, y=y, color=colour, href="url:N", tooltip=tooltip).properties(name=f"points_z{latent_dim}")]
        for place in PLACES:
            layers += [_placed_text(levels, place, alt.X("anchor_x:Q", scale=x_scale), alt.Y("anchor_y:Q", scale=y_scale),
                                    "#666", "italic").properties(name=f"level_labels_{place.name}_z{latent_dim}"),
                       _placed_text(settings.transform_calculate(text="datum.label"), place, x, y, "#333", "normal")
                       .properties(name=f"setting_labels_{place.name}_z{latent_dim}")]
        return alt.layer(*layers).properties(title=f"latent size {latent_dim}", width=answer_rows.WIDTH,
                                             height=answer_rows.HEIGHT)

    return (alt.hconcat(*(panel(k) for k in latent_dims)).resolve_scale(color="shared").add_params(picker, x_domain, y_domain)
            .properties(title=_title(picker, metrics, ": median over seeds against reconstruction"))
            # the legend under the panels, so that both fit a 900 px screen's width
            .configure_legend(**LEGEND, orient="bottom", columns=3).to_dict())


#: how a calibration row's level is drawn: a grey dotted line, apart from the settings' coloured marks
_LEVEL_LINE = {"color": "#888", "strokeDash": [2, 3]}


def _placed_text(rows: alt.Chart, place, x: alt.X, y: alt.Y, colour: str, style: str) -> alt.Chart:
    """The ``text`` of the rows whose label takes ``place`` (a ``label_layout.Place``), written there."""
    return (rows.transform_filter(alt.datum.place == place.name)
            .mark_text(align=place.align, baseline=place.baseline, dx=place.dx, dy=place.dy, fontSize=answer_rows.FONT_SIZE,
                       color=colour, fontStyle=style)
            .encode(x=x, y=y, text="text:N"))


def _tradeoff(configs: list[str], metrics: list[str], highlight: alt.Parameter) -> alt.Chart:
    present = tradeoff_metrics(metrics)
    picker = _metric_picker("tradeoff_metric", present, present[0], "upper chart: metric")
    return (_picked(picker, present).mark_point(filled=True, size=90)
            .encode(x=alt.X("recon_bce:Q", title=heading("recon_bce"), scale=alt.Scale(zero=False)),
                    y=alt.Y("value:Q", title=None),
                    color=_colour(configs), shape=alt.Shape("latent_dim:N", title="latent size"),
                    opacity=alt.condition(highlight, alt.value(0.95), alt.value(0.12)), href="url:N",
                    tooltip=[*_cell_tooltip(), alt.Tooltip("recon_bce:Q", title=label("recon_bce"), format=".3g")])
            .add_params(picker, highlight)
            .properties(title=_title(picker, present, " against reconstruction"), width=520, height=320))


def tradeoff(configs: list[str], metrics: list[str]) -> dict:
    """A disentanglement metric (picker) against reconstruction: one point per trained model; click opens it."""
    return _tradeoff(configs, metrics, _model_highlight()).configure_legend(**LEGEND).to_dict()


def _seed_spread(configs: list[str], metrics: list[str], highlight: alt.Parameter) -> alt.Chart:
    picker = _metric_picker("spread_metric", metrics, tradeoff_metrics(metrics)[0], "lower chart: metric")
    return (_picked(picker, metrics).mark_circle(size=70)
            .encode(x=alt.X("latent_dim:O", title="latent size", axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("config:N", scale=alt.Scale(domain=configs)),
                    y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                    color=_colour(configs), opacity=alt.condition(highlight, alt.value(0.9), alt.value(0.12)),
                    href="url:N", tooltip=_cell_tooltip())
            .add_params(picker).properties(title=_title(picker, metrics, ": every seed"), width=520, height=260))


def overview(configs: list[str], metrics: list[str]) -> dict:
    """The trade-off above the seed spread in one view, so a click on the legend highlights a model in both."""
    highlight = _model_highlight()
    return (alt.vconcat(_tradeoff(configs, metrics, highlight), _seed_spread(configs, metrics, highlight))
            .configure_legend(**LEGEND).to_dict())


def heatmap(configs: list[str], metrics: list[str]) -> dict:
    """Median over seeds per (model, latent size) of the picked metric; the colour's bright end is always the best."""
    picker = _metric_picker("heatmap_metric", metrics, tradeoff_metrics(metrics)[0])
    base = (_picked(picker, metrics).transform_aggregate(median="median(value)", n="count()", groupby=["config", "latent_dim"])
            .transform_joinaggregate(low="min(median)", high="max(median)")
            .transform_calculate(direction=_direction(picker, metrics))
            .transform_calculate(better="datum.high == datum.low ? 1 : (datum.direction > 0 ? datum.median - datum.low"
                                        " : datum.high - datum.median) / (datum.high - datum.low)")
            .encode(x=alt.X("latent_dim:O", title="latent size", axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("config:N", title="model", sort=configs)))
    tooltip = [alt.Tooltip("config:N", title="model"), alt.Tooltip("latent_dim:O", title="latent size"),
               alt.Tooltip("median:Q", title="median over seeds", format=".3g"), alt.Tooltip("n:Q", title="seeds (n)")]
    cells = base.mark_rect().encode(color=alt.Color("better:Q", scale=alt.Scale(scheme="viridis", domain=[0, 1]),
                                                    title=["0 worst … 1 best", "of these medians"]), tooltip=tooltip)
    text = base.mark_text(fontSize=12).encode(text=alt.Text("median:Q", format=".3g"),
                                              color=alt.condition("datum.better > 0.55", alt.value("black"), alt.value("white")))
    return ((cells + text).add_params(picker)
            .properties(title=_title(picker, metrics, ": median over seeds"), width=360, height={"step": 34})
            .configure_legend(**LEGEND).to_dict())


def rank_correlation(wide: pd.DataFrame, metrics: list[str]) -> dict:
    """Spearman rank correlation between every pair of metrics over all trained models."""
    varying = [m for m in metrics if wide[m].nunique() > 1]
    matrix = wide[varying].corr(method="spearman").round(3)
    long = matrix.reset_index(names="a").melt(id_vars="a", var_name="b", value_name="rho").dropna()
    long["a"], long["b"] = long["a"].map(label), long["b"].map(label)
    order = [label(m) for m in varying]
    base = alt.Chart(long).encode(x=alt.X("a:N", sort=order, title=None, axis=alt.Axis(labelLimit=0)),
                                  y=alt.Y("b:N", sort=order, title=None, axis=alt.Axis(labelLimit=0)))
    return (base.mark_rect().encode(color=alt.Color("rho:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue"),
                                                    title="Spearman ρ"),
                                    tooltip=[alt.Tooltip("a:N", title="score"), alt.Tooltip("b:N", title="against"),
                                             alt.Tooltip("rho:Q", title="Spearman ρ")])
            + base.mark_text(fontSize=9).encode(text=alt.Text("rho:Q", format=".2f"),
                                                color=alt.condition("abs(datum.rho) > 0.6", alt.value("white"), alt.value("black")))
            ).properties(width=30 * len(varying), height=30 * len(varying)).to_dict()


def regularisation(configs: list[str], metrics: list[str]) -> dict:
    """Each swept model's picked score against its regularisation strength: seeds as points, the median as a line,
    n above each median; one panel per latent size and sweep (after Locatello et al. 2019). The strengths are
    evenly spaced in their order, each sweep on its own axis, so 1, 4, 16 fill the panel."""
    present = tradeoff_metrics(metrics)
    picker = _metric_picker("strength_metric", present, present[0])
    x = alt.X("strength:O", title="regularisation strength", axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
    points = alt.Chart().mark_circle(size=50, opacity=0.8).encode(
        x=x, y=y, color=_colour(configs), href="url:N",
        tooltip=[*_cell_tooltip(), alt.Tooltip("strength:Q", title="strength")])
    medians = alt.Chart().transform_aggregate(value="median(value)", n="count()", groupby=["strength"])
    line = medians.mark_line(color="#444").encode(x=x, y=y)
    counts = medians.mark_text(dy=-10, fontSize=10, color="#444").encode(x=x, y=y, text=alt.Text("n:Q", format="d"))
    # the filters come before the facet, so only swept cells make panels
    return (alt.layer(points, line, counts, data=alt.NamedData(name=DATA))
            .transform_fold(present, as_=["metric", "value"]).transform_filter(alt.datum.metric == picker)
            .transform_filter("isValid(datum.value) && isValid(datum.strength)")
            .add_params(picker).properties(width=220, height=180)
            .facet(column=alt.Column("latent_dim:O", title="latent size"), row=alt.Row("sweep:N", title=None))
            .resolve_scale(x="independent")
            .properties(title=_title(picker, present, " against regularisation strength (numbers: n seeds)"))
            .configure_legend(**LEGEND).to_dict())


def seed_strips(configs: list[str], metrics: list[str]) -> dict:
    """Every seed of every model as a jittered strip, one panel per latent size: the shape of the seed spread."""
    picker = _metric_picker("strip_metric", metrics, tradeoff_metrics(metrics)[0])
    return (_picked(picker, metrics).transform_calculate(jitter="random()").mark_circle(size=40, opacity=0.7)
            .encode(x=alt.X("config:N", title=None, sort=configs, axis=alt.Axis(labels=False, ticks=False)),
                    xOffset=alt.XOffset("jitter:Q"),
                    y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)), color=_colour(configs),
                    href="url:N", tooltip=_cell_tooltip())
            .add_params(picker).properties(width=50 * len(configs), height=240)
            .facet(column=alt.Column("latent_dim:O", title="latent size"))
            .properties(title=_title(picker, metrics, ": every seed"))
            .configure_legend(**LEGEND).to_dict())


def metric_vs_latent(configs: list[str], metrics: list[str]) -> dict:
    """Per model: median over seeds against latent size, with the band from the lowest to the highest seed."""
    picker = _metric_picker("latent_metric", metrics, tradeoff_metrics(metrics)[0])
    base = _picked(picker, metrics).encode(x=alt.X("latent_dim:Q", title="latent size", scale=alt.Scale(zero=False),
                                                 axis=alt.Axis(tickMinStep=1, format="d")),
                                           color=_colour(configs))
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("min(value):Q", title=None), y2="max(value):Q")
    line = base.mark_line(point=True).encode(
        y="median(value):Q", tooltip=[alt.Tooltip("config:N", title="model"), alt.Tooltip("latent_dim:Q", title="latent size"),
                                      alt.Tooltip("median(value):Q", title="median over seeds", format=".3g"),
                                      alt.Tooltip("count(value):Q", title="seeds (n)")])
    return ((band + line).add_params(picker)
            .properties(title=_title(picker, metrics, ": median over seeds, band from lowest to highest seed"),
                        width=520, height=300)
            .configure_legend(**LEGEND).to_dict())


def models_side_by_side(configs: list[str], metrics: list[str]) -> dict:
    """Per metric (picker): every model's seeds side by side, one panel per latent size."""
    picker = _metric_picker("side_metric", metrics, tradeoff_metrics(metrics)[0])
    return (_picked(picker, metrics).mark_circle(size=60, opacity=0.8)
            .encode(x=alt.X("config:N", title=None, sort=configs, axis=alt.Axis(labels=False, ticks=False)),  # the legend names them
                    y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                    color=_colour(configs), href="url:N", tooltip=_cell_tooltip())
            .add_params(picker).properties(width=40 * len(configs), height=260)
            .facet(column=alt.Column("latent_dim:O", title="latent size"))
            .properties(title=_title(picker, metrics, ": every seed"))
            .configure_legend(**LEGEND).to_dict())



def along_training(configs: list[str], metrics: list[str], steps: list[int]) -> dict:
    """Each setting's median score (picker) at every checkpoint of training (``steps``), with the band from its lowest
    to its highest seed; one panel per latent size. Reads the ``checkpoints`` table."""
    picker = _metric_picker("training_metric", metrics, metrics[0], "score")
    return _over_steps(CHECKPOINTS_DATA, picker, configs, metrics, steps, ("median",), ": median over seeds along training")


def budget_ladder(configs: list[str], metrics: list[str], steps: list[int]) -> dict:
    """Each setting's mean over its seeds (picker) at every step scored under the full protocol (``steps``), with the
    band from its lowest to its highest seed; one panel per latent size. Reads the ``budgets`` table."""
    picker = _metric_picker("budget_metric", metrics, metrics[0], "score")
    return _over_steps(BUDGETS_DATA, picker, configs, metrics, steps, ("mean", "median"), ": mean over seeds at each budget")


def _over_steps(data: str, picker: alt.Parameter, configs: list[str], metrics: list[str], steps: list[int],
                statistics: tuple[str, ...], suffix: str) -> dict:
    """The table ``data``'s first of ``statistics`` over seeds (a line per setting, the rest in its tooltip) against the
    step on the cells' step axis (``cell_charts.step_axis``: step 0 at its left end, log spacing beyond), with the
    band from the lowest to the highest seed; one panel per latent size."""
    shown = statistics[0]
    base = (alt.Chart().transform_filter(alt.datum.metric == picker).transform_filter(f"isValid(datum.{shown})")
            .encode(x=step_axis(steps), color=_colour(configs), detail="setting:N"))
    band = base.mark_area(opacity=0.12).encode(y=alt.Y("low:Q", title=None, scale=alt.Scale(zero=False)), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y(f"{shown}:Q", title=None),
        tooltip=[alt.Tooltip("setting:N", title="setting"), alt.Tooltip("step:Q", format=","),
                 *(alt.Tooltip(f"{name}:Q", title=f"{name} over seeds", format=".3g") for name in statistics),
                 alt.Tooltip("n:Q", title="seeds (n)")])
    return (alt.layer(band, line, data=alt.NamedData(name=data)).add_params(picker)
            .properties(width=300, height=220).facet(column=alt.Column("latent_dim:O", title="latent size"))
            .properties(title=_title(picker, metrics, suffix))
            .configure_legend(**LEGEND).to_dict())
