"""The charts of one trained cell (its page, and the cross-cell explorer): each returns a Vega-Lite spec (a dict).

Parameters are named explicitly so that rebuilding gives byte-identical specs.
"""

from __future__ import annotations

import json
import textwrap

import altair as alt
import pandas as pd

from vaebench.metrics.spec import SCORES
from vaebench.site.labels import heading

#: the named dataset a scatter-matrix spec reads; the page supplies its rows (``spec["datasets"]``)
CODES_DATA = "codes"
#: the latents × factors matrices of metrics.json that the page draws, with their titles; the first there is names
#: each latent's factors (vaebench.site.cell_view)
MATRICES = {"dci": "DCI importance", "mig": "MIG: normalised mutual information"}
#: a matrix value above this draws its text white, on the dark end of the colour scale
_DARK = 0.55


def training_curves(history: pd.DataFrame) -> dict:
    """The objective and each of its terms against the step, one panel per term."""
    long = history.melt(id_vars="step", var_name="term", value_name="value")
    return (alt.Chart(long).mark_line(point=True)
            .encode(x=alt.X("step:Q", title="training step"),
                    y=alt.Y("value:Q", scale=alt.Scale(zero=False), title="value (nats per image for loss, recon, kl)"),
                    tooltip=["step", "term", alt.Tooltip("value:Q", format=".4g")])
            .properties(width=220, height=160)
            .facet(facet=alt.Facet("term:N", title=None), columns=3).resolve_scale(y="independent")
            .properties(title="Training objective and its terms against the step (each point: the mean of one logging interval)")
            .to_dict())


def checkpoint_curves(checkpoints: pd.DataFrame) -> dict | None:
    """Each headline score (those with a column in the metric spec) against the step it was scored at, one small
    panel each; None when the cell has no such checkpoint scores. The step axis is symlog, ticked at the
    checkpoints: step 0 (the untrained network) at its left end, the geometrically spaced steps spread evenly."""
    shown = checkpoints[checkpoints["metric"].map(lambda key: key in SCORES and SCORES[key].column is not None)]
    if shown.empty:
        return None
    shown = shown.assign(score=shown["metric"].map(heading))
    order = [heading(key) for key in SCORES if key in set(shown["metric"])]
    steps = sorted(int(step) for step in set(shown["step"]))
    # symlog whose linear stretch is the first checkpoint: step 0 one even step left of it, log spacing beyond
    scale = alt.Scale(type="symlog", constant=min([step for step in steps if step > 0], default=1))
    return (alt.Chart(shown).mark_line(point=True)
            .encode(x=alt.X("step:Q", scale=scale, axis=alt.Axis(values=steps, labelAngle=-45), title="training step"),
                    y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
                    tooltip=["step", "score", alt.Tooltip("value:Q", format=".4g")])
            .properties(width=180, height=120)
            .facet(facet=alt.Facet("score:N", sort=order, title=None), columns=5).resolve_scale(y="independent")
            .properties(title="Scores along training, at small sample counts (step 0: the untrained network)")
            .to_dict())


def factor_matrices(matrices: dict, rows: list[str], row_labels: dict[str, str]) -> dict:
    """Each stored latents × factors matrix (DCI importance, MIG's normalised MI) as a labelled heatmap, side by side.

    ``rows``: the latents (``z3``) in display order; ``row_labels``: what each row says. Both matrices run
    from 0 to 1, so they share one colour scale, dark where a latent carries much of a factor.
    """
    order = [row_labels[z] for z in rows]
    panels = []
    for key, name in MATRICES.items():
        if key not in matrices:
            continue
        matrix = matrices[key]
        long = pd.DataFrame([{"latent": row_labels[z], "factor": factor, "value": round(value, 3)}
                             for z, values in zip(matrix["rows"], matrix["values"])
                             for factor, value in zip(matrix["columns"], values)])
        title = alt.Title(name, subtitle=textwrap.wrap(matrix["label"], 48), anchor="start")
        base = alt.Chart(long, title=title).encode(
            x=alt.X("factor:N", sort=list(matrix["columns"]), title="ground-truth factor", axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("latent:N", sort=order, title=None, axis=alt.Axis(labels=not panels, ticks=not panels)))
        cells = base.mark_rect().encode(
            color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="0 to 1"),
            tooltip=["latent", "factor", alt.Tooltip("value:Q", format=".3f")])
        text = base.mark_text(fontSize=10).encode(
            text=alt.Text("value:Q", format=".2f"),
            color=alt.condition(alt.datum.value > _DARK, alt.value("white"), alt.value("#1f2430")))
        panels.append((cells + text).properties(width=38 * len(matrix["columns"]), height=22 * len(rows)))
    return alt.hconcat(*panels, spacing=12).to_dict()


def scatter_matrix(fields: list[str], factor: str, categorical: bool, samples: int, indexed: bool = True,
                   values: tuple[str, ...] = (), cyclic: bool = False) -> dict:
    """Pairs of latent means (``fields`` of the CODES_DATA rows), coloured by one ground-truth factor.

    ``indexed``: a numeric factor's values are its grid indices (image factors), not measured values (table columns);
    ``values``: a categorical factor's value names in index order (the legend names them); ``cyclic``: the factor
    wraps around (an angle), so it is coloured on a cyclic scale whose ends meet.
    """
    if categorical:
        legend = alt.Legend(labelExpr=f"{json.dumps(list(values), ensure_ascii=False)}[datum.value]") if values else alt.Legend()
        colour = alt.Color(f"{factor}:N", scale=alt.Scale(scheme="category10"), title=factor, legend=legend)
    else:
        colour = alt.Color(f"{factor}:Q", scale=alt.Scale(scheme="sinebow" if cyclic else "viridis"),
                           title=f"{factor} (index)" if indexed else factor)
    return (alt.Chart(alt.NamedData(CODES_DATA)).mark_circle(size=9, opacity=0.7)
            .encode(x=alt.X(alt.repeat("column"), type="quantitative", scale=alt.Scale(zero=False)),
                    y=alt.Y(alt.repeat("row"), type="quantitative", scale=alt.Scale(zero=False)), color=colour)
            .properties(width=130, height=130).repeat(row=fields, column=fields)
            .properties(title=f"Posterior means of {samples} held-out samples, pair by pair, coloured by {factor}")
            .to_dict())
