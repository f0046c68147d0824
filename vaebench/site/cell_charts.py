"""The charts of one trained cell (its page, and the cross-cell explorer): each returns a Vega-Lite spec (a dict).

A spec reads its rows from named datasets, which the page supplies from the cell's data script: the specs
depend only on a chart's shape (its factors, its number of latents, its checkpoint steps), so every cell of
a study shares a handful of them (one copy in the site's assets), and each is built once per build.
Parameters are named explicitly so that rebuilding gives byte-identical specs.
"""

from __future__ import annotations

import json
import textwrap
from functools import lru_cache

import altair as alt
import pandas as pd

from vaebench.metrics.spec import SCORES
from vaebench.site.labels import heading

#: the named dataset a scatter-matrix spec reads; the page supplies its rows (``spec["datasets"]``)
CODES_DATA = "codes"
#: the named datasets of a cell's training curves and scores along training
HISTORY_DATA, CHECKPOINTS_DATA = "history", "checkpoints"
#: the latents × factors matrices of metrics.json that the page draws, with their titles; the first there is names
#: each latent's factors (vaebench.site.cell_view)
MATRICES = {"dci": "DCI importance", "mig": "MIG: normalised mutual information"}
#: a matrix value above this draws its text white, on the dark end of the colour scale
_DARK = 0.55


def _long_history(history: pd.DataFrame) -> pd.DataFrame:
    return history.melt(id_vars="step", var_name="term", value_name="value")


@lru_cache(maxsize=None)
def training_curves() -> dict:
    """The objective and each of its terms against the step, one panel per term (rows: ``history_rows``)."""
    return (alt.Chart(alt.NamedData(HISTORY_DATA)).mark_line(point=True)
            .encode(x=alt.X("step:Q", title="training step"),
                    y=alt.Y("value:Q", scale=alt.Scale(zero=False), title="value (nats per image for loss, recon, kl)"),
                    tooltip=["step:Q", "term:N", alt.Tooltip("value:Q", format=".4g")])
            .properties(width=220, height=160)
            .facet(facet=alt.Facet("term:N", title=None), columns=3).resolve_scale(y="independent")
            .properties(title="Training objective and its terms against the step (each point: the mean of one logging interval)")
            .to_dict())


def history_rows(history: pd.DataFrame) -> list[dict]:
    return _records(_long_history(history))


def _headline_checkpoints(checkpoints: pd.DataFrame) -> pd.DataFrame:
    """The checkpoint scores of the headline scores (those with a column in the metric spec), each with its heading."""
    shown = checkpoints[[key in SCORES and SCORES[key].column is not None for key in checkpoints["metric"]]]
    return shown.assign(score=[heading(key) for key in shown["metric"]])


def checkpoint_shape(checkpoints: pd.DataFrame) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """What the along-training chart of a cell depends on besides its rows: its steps and its panels' order; None
    when the cell has no headline checkpoint scores."""
    shown = _headline_checkpoints(checkpoints) if not checkpoints.empty else checkpoints
    if shown.empty:
        return None
    return (tuple(sorted(int(step) for step in set(shown["step"]))),
            tuple(heading(key) for key in SCORES if key in set(shown["metric"])))


def step_axis(steps) -> alt.X:
    """The training-step axis of every chart along training: symlog, ticked at the checkpoint ``steps``, so that step 0
    (the untrained network) lies at its left end and the geometrically spaced steps spread evenly."""
    # symlog whose linear stretch is the first checkpoint: step 0 one even step left of it, log spacing beyond
    scale = alt.Scale(type="symlog", constant=min([step for step in steps if step > 0], default=1))
    return alt.X("step:Q", scale=scale, axis=alt.Axis(values=sorted(steps), labelAngle=-45), title="training step")


@lru_cache(maxsize=None)
def checkpoint_curves(steps: tuple[int, ...], order: tuple[str, ...]) -> dict:
    """Each headline score against the step it was scored at, one small panel each (rows: ``checkpoint_rows``;
    ``steps``, ``order``: ``checkpoint_shape``). The step axis is symlog, ticked at the checkpoints: step 0 (the
    untrained network) at its left end, the geometrically spaced steps spread evenly."""
    return (alt.Chart(alt.NamedData(CHECKPOINTS_DATA)).mark_line(point=True)
            .encode(x=step_axis(steps),
                    y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
                    tooltip=["step:Q", "score:N", alt.Tooltip("value:Q", format=".4g")])
            .properties(width=180, height=120)
            .facet(facet=alt.Facet("score:N", sort=list(order), title=None), columns=5).resolve_scale(y="independent")
            .properties(title="Scores along training, at small sample counts (step 0: the untrained network)")
            .to_dict())


def checkpoint_rows(checkpoints: pd.DataFrame) -> list[dict]:
    return _records(_headline_checkpoints(checkpoints)[["step", "metric", "score", "value"]])


def matrix_shape(matrices: dict, rows: int) -> tuple:
    """What the latents × factors chart of a cell depends on besides its values: per drawn matrix its key, factors and
    label, and the number of latents."""
    return tuple((key, tuple(matrices[key]["columns"]), matrices[key]["label"]) for key in MATRICES if key in matrices), rows


@lru_cache(maxsize=None)
def factor_matrices(shown: tuple, rows: int) -> dict:
    """Each stored latents × factors matrix (DCI importance, MIG's normalised MI) as a labelled heatmap, side by side.

    ``shown``, ``rows``: ``matrix_shape``; each matrix's values are the named dataset of its key (``matrix_rows``),
    its latents ordered by their "rank". Both matrices run from 0 to 1, so they share one colour scale, dark where a
    latent carries much of a factor.
    """
    panels = []
    for key, columns, label in shown:
        title = alt.Title(MATRICES[key], subtitle=textwrap.wrap(label, 48), anchor="start")
        base = alt.Chart(alt.NamedData(key), title=title).encode(
            x=alt.X("factor:N", sort=list(columns), title="ground-truth factor", axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("latent:N", sort=alt.EncodingSortField("rank", op="min"), title=None,
                    axis=alt.Axis(labels=not panels, ticks=not panels)))
        cells = base.mark_rect().encode(
            color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="0 to 1"),
            tooltip=["latent:N", "factor:N", alt.Tooltip("value:Q", format=".3f")])
        text = base.mark_text(fontSize=10).encode(
            text=alt.Text("value:Q", format=".2f"),
            color=alt.condition(alt.datum.value > _DARK, alt.value("white"), alt.value("#1f2430")))
        panels.append((cells + text).properties(width=38 * len(columns), height=22 * rows))
    return alt.hconcat(*panels, spacing=12).to_dict()


def matrix_rows(matrices: dict, rows: list[str], row_labels: dict[str, str]) -> dict[str, list[dict]]:
    """Per drawn matrix (its key): one row per latent and factor, the latent by its label and its rank in ``rows``."""
    rank = {z: k for k, z in enumerate(rows)}
    return {key: [{"latent": row_labels[z], "rank": rank[z], "factor": factor, "value": round(value, 3)}
                  for z, values in zip(matrices[key]["rows"], matrices[key]["values"])
                  for factor, value in zip(matrices[key]["columns"], values)]
            for key in MATRICES if key in matrices}


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


@lru_cache(maxsize=None)
def scatter_matrix(fields: tuple[str, ...], factor: str, categorical: bool, samples: int, indexed: bool = True,
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
            .properties(width=130, height=130).repeat(row=list(fields), column=list(fields))
            .properties(title=f"Posterior means of {samples} held-out samples, pair by pair, coloured by {factor}")
            .to_dict())
