"""Altair charts for the report, one function per chart; each returns a Vega-Lite spec (a dict).

Every parameter and selection is named explicitly so that rebuilding gives
byte-identical specs. The data is the tidy frame of ``vaebench.store.metrics_frame``
plus a ``url`` column (the cell's page) and a ``config`` column (model with its
hyperparameters, e.g. ``beta_vae-beta4``).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from vaebench.metrics.spec import SCORES

#: every score key a metric writes, in report order, with its label and direction (the metrics' spec)
KNOWN_METRICS = SCORES
DISENTANGLEMENT = ("mig", "beta_vae_eval", "factor_vae_eval", "dci_disentanglement", "sap", "modularity")
MODEL_SELECTION = "model_highlight"


def label(metric: str) -> str:
    """The metric's label with its unit; an unknown key (from a newer or foreign results dir) is its own label."""
    return KNOWN_METRICS[metric].title if metric in KNOWN_METRICS else metric


def to_png(spec: dict, scale: float = 1.5) -> bytes:
    """The chart rendered as a PNG with its parameters at their defaults (vl-convert, no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(vl_spec=spec, scale=scale)


def _metric_picker(name: str, metrics: list[str], default: str) -> alt.Parameter:
    return alt.param(name=name, value=default, bind=alt.binding_select(options=metrics, labels=[label(m) for m in metrics],
                                                                         name="metric "))


def _model_highlight() -> alt.Parameter:
    return alt.selection_point(name=MODEL_SELECTION, fields=["config"], bind="legend")


def _colour(configs: list[str]) -> alt.Color:
    return alt.Color("config:N", title="model", scale=alt.Scale(domain=configs))


def heatmap(frame: pd.DataFrame, metrics: list[str]) -> dict:
    """Median over seeds per (model, latent size), one metric at a time (picker)."""
    medians = frame.groupby(["config", "latent_dim", "metric"], as_index=False)["value"].median()
    picker = _metric_picker("heatmap_metric", metrics, metrics[0])
    base = alt.Chart(medians).transform_filter(alt.datum.metric == picker).encode(
        x=alt.X("latent_dim:O", title="latent size"), y=alt.Y("config:N", title="model"))
    cells = base.mark_rect().encode(color=alt.Color("value:Q", title="median", scale=alt.Scale(scheme="viridis")),
                                    tooltip=["config", "latent_dim", alt.Tooltip("value:Q", format=".4g", title="median")])
    text = base.mark_text(fontSize=11).encode(text=alt.Text("value:Q", format=".3g"),
                                              color=alt.value("white"))
    return (cells + text).add_params(picker).properties(width=360, height=34 * medians["config"].nunique()).to_dict()


def tradeoff_metrics(metrics: list[str]) -> list[str]:
    """The metrics the trade-off chart offers, its default first."""
    return [m for m in DISENTANGLEMENT if m in metrics] or metrics


def tradeoff(wide: pd.DataFrame, configs: list[str], metrics: list[str]) -> dict:
    """A disentanglement metric (picker) against reconstruction: one point per trained model; click opens it."""
    present = tradeoff_metrics(metrics)
    picker = _metric_picker("tradeoff_metric", present, present[0])
    highlight = _model_highlight()
    tooltip = [alt.Tooltip(c, format=".4g" if pd.api.types.is_float_dtype(wide[c]) else "")
               for c in wide.columns if c not in ("url",)]
    return (alt.Chart(wide).transform_fold(present, as_=["metric", "score"]).transform_filter(alt.datum.metric == picker)
            .mark_point(filled=True, size=90)
            .encode(x=alt.X("recon_bce:Q", title=label("recon_bce"), scale=alt.Scale(zero=False)),
                    y=alt.Y("score:Q", title="disentanglement (picked metric)"),
                    color=_colour(configs), shape=alt.Shape("latent_dim:N", title="latent size"),
                    opacity=alt.condition(highlight, alt.value(0.95), alt.value(0.12)),
                    href="url:N", tooltip=tooltip)
            .add_params(picker, highlight).properties(width=520, height=340).to_dict())


def seed_spread(frame: pd.DataFrame, configs: list[str], metrics: list[str]) -> dict:
    """Every seed's value per (model, latent size): how much a number moves with the seed."""
    picker = _metric_picker("spread_metric", metrics, metrics[0])
    highlight = _model_highlight()
    return (alt.Chart(frame).transform_filter(alt.datum.metric == picker).mark_circle(size=70)
            .encode(x=alt.X("latent_dim:O", title="latent size"), xOffset=alt.XOffset("config:N"),
                    y=alt.Y("value:Q", title="value (picked metric)", scale=alt.Scale(zero=False)),
                    color=_colour(configs), opacity=alt.condition(highlight, alt.value(0.9), alt.value(0.12)),
                    href="url:N", tooltip=["name", "config", "latent_dim", "seed", alt.Tooltip("value:Q", format=".4g")])
            .add_params(picker, highlight).properties(width=520, height=300).to_dict())


def rank_correlation(wide: pd.DataFrame, metrics: list[str]) -> dict:
    """Spearman rank correlation between every pair of metrics over all trained models."""
    varying = [m for m in metrics if wide[m].nunique() > 1]
    matrix = wide[varying].corr(method="spearman").round(3)
    long = matrix.reset_index(names="a").melt(id_vars="a", var_name="b", value_name="rho").dropna()
    long["a"], long["b"] = long["a"].map(label), long["b"].map(label)
    order = [label(m) for m in varying]
    base = alt.Chart(long).encode(x=alt.X("a:N", sort=order, title=None), y=alt.Y("b:N", sort=order, title=None))
    return (base.mark_rect().encode(color=alt.Color("rho:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue"),
                                                    title="Spearman ρ"), tooltip=["a", "b", "rho"])
            + base.mark_text(fontSize=9).encode(text=alt.Text("rho:Q", format=".2f"))
            ).properties(width=30 * len(varying), height=30 * len(varying)).to_dict()


def metric_vs_latent(frame: pd.DataFrame, configs: list[str], metrics: list[str]) -> dict:
    """Per model: median over seeds against latent size, with the seeds' min–max band."""
    picker = _metric_picker("latent_metric", metrics, metrics[0])
    base = alt.Chart(frame).transform_filter(alt.datum.metric == picker).encode(
        x=alt.X("latent_dim:Q", title="latent size", scale=alt.Scale(zero=False)), color=_colour(configs))
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("min(value):Q", title="value (picked metric)"), y2="max(value):Q")
    line = base.mark_line(point=True).encode(y="median(value):Q", tooltip=["config", "latent_dim", alt.Tooltip("median(value):Q", format=".4g")])
    return (band + line).add_params(picker).properties(width=230, height=180).facet(
        facet=alt.Facet("config:N", title=None), columns=3).to_dict()


def models_side_by_side(frame: pd.DataFrame, configs: list[str], metrics: list[str]) -> dict:
    """Per metric (picker): every model's seeds side by side, one panel per latent size."""
    picker = _metric_picker("side_metric", metrics, metrics[0])
    return (alt.Chart(frame).transform_filter(alt.datum.metric == picker).mark_circle(size=60, opacity=0.8)
            .encode(x=alt.X("config:N", title=None), y=alt.Y("value:Q", title="value (picked metric)", scale=alt.Scale(zero=False)),
                    color=_colour(configs), column=alt.Column("latent_dim:O", title="latent size"),
                    tooltip=["name", "seed", alt.Tooltip("value:Q", format=".4g")])
            .add_params(picker).properties(width=40 * len(configs), height=260).to_dict())

