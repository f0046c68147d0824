"""Charts of a table cell's page, from its pictures.json (vaebench.pictures.tables): how well each column is
reconstructed, and how each column's decoded value moves along each informative latent.

Each function returns a Vega-Lite spec (a dict) with its data inline: one cell's numbers are small.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from vaebench.kinds import ColumnKind
from vaebench.results.records import TablePictures

LATENT_PICKER = "traversed_latent"


def latent_label(latent: int, strength: float) -> str:
    return f"z{latent} · {strength:.2f}"


def column_quality(pictures: TablePictures) -> dict:
    """Bars: R² of each numeric column, accuracy of each categorical or binary one, on held-out records."""
    frame = pd.DataFrame([{"column": c["name"], "kind": c["kind"], "quality": c["quality"], "measure": c["quality_name"]}
                          for c in pictures.columns])
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("quality:Q", title="R² (numeric) or accuracy (categorical, binary), held-out records",
                scale=alt.Scale(domain=[min(0.0, float(frame["quality"].min())), 1.0])),
        y=alt.Y("column:N", sort=None, title=None),
        color=alt.Color("kind:N", title="column kind", legend=alt.Legend(labelLimit=0)),
        tooltip=[alt.Tooltip("column:N"), alt.Tooltip("measure:N"), alt.Tooltip("quality:Q", format=".3f")],
    ).properties(title=alt.Title("Reconstruction quality per column", anchor="start"), width=420).to_dict()


def _movement(values: list, kind: str) -> float:
    """How far a column's decoded value moves along one traversal: the range of a numeric column's decoded
    mean, or the largest total-variation distance between any two steps' category probabilities."""
    if kind == ColumnKind.NUMERIC:
        return float(max(values) - min(values))
    return float(max(0.5 * sum(abs(p - q) for p, q in zip(a, b)) for a in values for b in values))


def movement_heatmap(pictures: TablePictures) -> dict:
    """Latents × columns: how far each column's decoding moves as one latent goes from −3 to +3.

    Numeric columns are measured in their own standard deviations (of the data the model was trained on),
    categorical ones by total variation; 0 = unmoved.
    """
    kinds = {c["name"]: c["kind"] for c in pictures.columns}
    stds = {c["name"]: c.get("std") or 1.0 for c in pictures.columns}
    rows = []
    for traversal in pictures.traversals:
        latent = latent_label(traversal["latent"], traversal["strength"])
        for name, values in traversal["columns"].items():
            move = _movement(values, kinds[name])
            if kinds[name] == ColumnKind.NUMERIC:
                move /= stds[name]
            rows.append({"latent": latent, "column": name, "movement": round(move, 4)})
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(x=alt.X("column:N", sort=None, title=None, axis=alt.Axis(labelAngle=-40)),
                                   y=alt.Y("latent:N", sort=None, title=f"latent · {pictures.strength_name}"))
    heat = base.mark_rect().encode(
        color=alt.Color("movement:Q", title="movement", scale=alt.Scale(scheme="viridis", domainMin=0)),
        tooltip=[alt.Tooltip("latent:N"), alt.Tooltip("column:N"), alt.Tooltip("movement:Q", format=".3f")])
    return heat.properties(
        title=alt.Title("Which latent moves which column", anchor="start",
                        subtitle="numeric: range of the decoded mean in column standard deviations; "
                                 "categorical: largest total-variation distance between steps"),
        width=alt.Step(28), height=alt.Step(22)).to_dict()


def traversal_lines(pictures: TablePictures) -> dict | None:
    """Decoded mean of each numeric column against the picked latent's value (the others at one record's code)."""
    numeric = [c["name"] for c in pictures.columns if c["kind"] == ColumnKind.NUMERIC]
    if not numeric or not pictures.traversals:
        return None
    rows = [{"latent": latent_label(t["latent"], t["strength"]), "value": x, "column": name, "decoded": y}
            for t in pictures.traversals for name in numeric
            for x, y in zip(t["values"], t["columns"][name])]
    picker = _latent_picker(pictures)
    return alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("value:Q", title="latent value"), y=alt.Y("decoded:Q", title="decoded mean", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("column:N"), alt.Tooltip("value:Q"), alt.Tooltip("decoded:Q", format=".3g")],
    ).add_params(picker).transform_filter(alt.datum.latent == picker).properties(width=160, height=110).facet(
        facet=alt.Facet("column:N", title=None, sort=numeric), columns=4,
    ).resolve_scale(y="independent").properties(
        title=alt.Title("Numeric columns along the picked latent", anchor="start")).to_dict()


def traversal_areas(pictures: TablePictures) -> dict | None:
    """Probabilities of each categorical or binary column's categories against the picked latent's value."""
    columns = [c for c in pictures.columns if c["kind"] != ColumnKind.NUMERIC]
    if not columns or not pictures.traversals:
        return None
    rows = [{"latent": latent_label(t["latent"], t["strength"]), "value": x, "column": c["name"], "category": str(category),
             "probability": p}
            for t in pictures.traversals for c in columns
            for x, probabilities in zip(t["values"], t["columns"][c["name"]])
            for category, p in zip(c["categories"] or ["0", "1"], probabilities)]
    picker = _latent_picker(pictures)
    return alt.Chart(pd.DataFrame(rows)).mark_area().encode(
        x=alt.X("value:Q", title="latent value"),
        y=alt.Y("probability:Q", stack="normalize", title="probability"),
        color=alt.Color("category:N", legend=None),
        tooltip=[alt.Tooltip("column:N"), alt.Tooltip("category:N"), alt.Tooltip("value:Q"),
                 alt.Tooltip("probability:Q", format=".2f")],
    ).add_params(picker).transform_filter(alt.datum.latent == picker).properties(width=160, height=110).facet(
        facet=alt.Facet("column:N", title=None, sort=[c["name"] for c in columns]), columns=4,
    ).properties(title=alt.Title("Categorical columns along the picked latent (hover for the category)",
                                 anchor="start")).to_dict()


def _latent_picker(pictures: TablePictures) -> alt.Parameter:
    options = [latent_label(t["latent"], t["strength"]) for t in pictures.traversals]
    return alt.param(name=LATENT_PICKER, value=options[0],
                     bind=alt.binding_select(options=options, name=f"latent ({pictures.strength_name}) "))
