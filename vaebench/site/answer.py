"""The rows of the index's headline chart, one panel per latent size: per setting (a model at one latent size) and
score, the median over seeds of the score and of reconstruction with their seed ranges, whether the setting is on its
latent size's Pareto front and where its label goes; the calibration rows' levels with their labels; and each score's
axis domains, fixed so that the labels' places (``vaebench.site.label_layout``) are where Vega draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from vaebench.display import REFERENCE_LINE_TITLES, REFERENCE_TITLES
from vaebench.metrics.spec import RECONSTRUCTION, SCORES
from vaebench.site.label_layout import PLACES, place_labels, point_box
from vaebench.stats import pareto_front


@dataclass(frozen=True)
class Headline:
    """The headline chart's tables and axes: its ``settings`` rows and the calibration rows' ``levels``, each labelled,
    the ``scores`` its picker offers (those with rows), its panels' ``latent_dims`` and each score's axis ``domains``."""

    settings: list[dict]
    levels: list[dict]
    scores: list[str]
    latent_dims: list[int]
    domains: dict

#: a panel's plot in pixels
WIDTH, HEIGHT = 300, 280
#: the labels' font size and the points' area in square pixels (a disc of radius ``POINT_RADIUS``)
FONT_SIZE, POINT_SIZE = 10, 110
POINT_RADIUS = math.sqrt(POINT_SIZE / math.pi)
#: the calibration rows drawn as levels of the score (at the panel's latent size) and of reconstruction
SCORE_LEVELS, RECONSTRUCTION_LEVELS = ("pca", "random"), ("mean_image",)
#: the share of an axis's span left free beyond the values it shows
PADDING = 0.05


def settings_rows(compared: pd.DataFrame, metrics: list[str]) -> list[dict]:
    """One row per setting and score of ``metrics`` that it has (the on-protocol frame: columns setting, config,
    latent_dim, seed, metric, value, url): median, lowest and highest seed and n of the score and of reconstruction,
    whether no setting of its latent size beats it on both (``pareto``), its lowest seed's page; in ``metrics``'
    order, then by latent size and setting."""
    if compared.empty or RECONSTRUCTION not in set(compared["metric"]):
        return []

    def summary(metric):
        scored = compared[compared["metric"] == metric].groupby("setting")["value"]
        return pd.DataFrame({"median": scored.median(), "low": scored.min(), "high": scored.max(), "n": scored.count()})

    recon = summary(RECONSTRUCTION)
    first = compared.sort_values("seed").drop_duplicates("setting").set_index("setting")
    rows = []
    for metric in metrics:
        score = summary(metric).join(recon.add_suffix("_recon"), how="inner")
        score = score[score["median"].map(math.isfinite) & score["median_recon"].map(math.isfinite)]
        score = score.assign(latent_dim=first.loc[score.index, "latent_dim"].astype(int)).sort_values(["latent_dim"], kind="stable")
        for _, part in score.groupby("latent_dim", sort=True):
            front = pareto_front(part["median_recon"], part["median"] if _higher(metric) else -part["median"])
            for (setting, row), on_front in zip(part.iterrows(), front):
                cell = first.loc[setting]
                rows.append({"setting": setting, "metric": metric, "config": cell["config"], "label": cell["config"],
                             "latent_dim": int(row["latent_dim"]), "url": cell["url"], "n": int(row["n"]),
                             "median": round(float(row["median"]), 5), "low": round(float(row["low"]), 5),
                             "high": round(float(row["high"]), 5), "recon": round(float(row["median_recon"]), 4),
                             "recon_low": round(float(row["low_recon"]), 4),
                             "recon_high": round(float(row["high_recon"]), 4), "pareto": bool(on_front)})
    return rows


def _higher(metric: str) -> bool:
    """Whether a higher value of the score is ranked better (an unknown key's: higher)."""
    return SCORES[metric].ranked_higher if metric in SCORES else True


def level_rows(references: pd.DataFrame, rows: list[dict]) -> list[dict]:
    """The calibration rows' levels each panel of ``rows`` draws: per score and latent size the median over seeds of
    each ``SCORE_LEVELS`` row at that latent size (``axis`` "score"), and of each ``RECONSTRUCTION_LEVELS`` row's
    reconstruction (``axis`` "reconstruction"); ``references``: columns reference, latent_dim (NA where a row has
    none: it counts at every size), metric, value."""
    if references.empty or not rows:
        return []
    levels = []
    for metric, latent_dim in dict.fromkeys((row["metric"], row["latent_dim"]) for row in rows):
        for axis, kinds, key in (("score", SCORE_LEVELS, metric), ("reconstruction", RECONSTRUCTION_LEVELS, RECONSTRUCTION)):
            for kind in kinds:
                found = references[(references["reference"] == kind) & (references["metric"] == key)
                                   & (references["latent_dim"].isna() | (references["latent_dim"] == latent_dim))]
                value = found["value"].median()
                if pd.notna(value):
                    levels.append({"metric": metric, "latent_dim": latent_dim, "axis": axis, "reference": kind,
                                   "title": REFERENCE_TITLES.get(kind, kind),
                                   "short": REFERENCE_LINE_TITLES.get(kind, REFERENCE_TITLES.get(kind, kind)),
                                   "value": round(float(value), 5)})
    return levels


def domains(rows: list[dict], levels: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Per score: the reconstruction axis's domain ("x": every seed range of every setting of the score; a level beyond
    it is named at its edge, not drawn) and the score axis's ("y": its seed ranges and its levels), each padded."""
    out = {}
    for metric in dict.fromkeys(row["metric"] for row in rows):
        mine = [row for row in rows if row["metric"] == metric]
        ys = [value for row in mine for value in (row["low"], row["high"])]
        ys += [level["value"] for level in levels if level["metric"] == metric and level["axis"] == "score"]
        out[metric] = {"x": _padded([value for row in mine for value in (row["recon_low"], row["recon_high"])]),
                       "y": _padded(ys)}
    return out


def _padded(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    pad = (high - low) * PADDING or abs(high) * PADDING or 1.0
    return [round(low - pad, 5), round(high + pad, 5)]


def placed(rows: list[dict], levels: list[dict], domain: dict[str, dict[str, list[float]]]) -> tuple[list[dict], list[dict]]:
    """``rows`` and ``levels`` with where each label goes (``place``: a ``label_layout.PLACES`` name, or None where a
    setting's label has no free place: its point's tooltip names it). Per panel: the Pareto front's labels first, by
    reconstruction; then the levels' (each is drawn: where no place is free of the points, it avoids the other labels
    only), anchored at an end or the middle of its line (``anchor_x``, ``anchor_y``); then the other settings', by
    median from the best. A reconstruction level beyond the axis is named at its edge with its value, not drawn
    (``drawn``)."""
    rows, levels = [dict(row) for row in rows], [dict(level) for level in levels]
    for metric, latent_dim in dict.fromkeys((row["metric"], row["latent_dim"]) for row in rows):
        (x_low, x_high), (y_low, y_high) = domain[metric]["x"], domain[metric]["y"]

        def pixel(x, y):
            return (x - x_low) / (x_high - x_low) * WIDTH, (y_high - y) / (y_high - y_low) * HEIGHT

        mine = [row for row in rows if row["metric"] == metric and row["latent_dim"] == latent_dim]
        dots = [point_box(*pixel(row["recon"], row["median"]), POINT_RADIUS) for row in mine]
        higher = _higher(metric)
        front = sorted((row for row in mine if row["pareto"]), key=lambda row: row["recon"])
        others = sorted((row for row in mine if not row["pareto"]), key=lambda row: -row["median"] if higher else row["median"])
        taken = _place_settings(front, pixel, dots, [])
        for level in (level for level in levels if level["metric"] == metric and level["latent_dim"] == latent_dim):
            if level["axis"] == "score":
                level["text"], level["drawn"] = level["short"], True
                ends = [(x, level["value"]) for x in (x_low, x_high, (x_low + x_high) / 2)]
            else:
                level["drawn"] = x_low <= level["value"] <= x_high
                beyond = "" if level["drawn"] else f" ({level['value']:.0f} {SCORES[RECONSTRUCTION].unit}) →"
                level["text"] = level["short"] + beyond
                ends = [(min(max(level["value"], x_low), x_high), y_high)]
            level["anchor_x"], level["anchor_y"], level["place"] = *ends[0], PLACES[0].name
            for obstacles in (taken + dots, taken):
                found = next(((end, place) for end in ends
                              for place in place_labels([pixel(*end)], [level["text"]], WIDTH, HEIGHT, FONT_SIZE, 0,
                                                        obstacles) if place is not None), None)
                if found is not None:
                    (level["anchor_x"], level["anchor_y"]), level["place"] = found[0], found[1].name
                    break
            place = next(p for p in PLACES if p.name == level["place"])
            taken.append(place.box(*pixel(level["anchor_x"], level["anchor_y"]), level["text"], FONT_SIZE))
        _place_settings(others, pixel, dots, taken)
    return rows, levels


def _place_settings(rows: list[dict], pixel, dots: list, taken: list) -> list:
    """Each row's label ``place`` (in the rows' order, clear of the ``dots`` and of the ``taken`` boxes), and the boxes
    taken then: ``taken`` with the new labels'."""
    points = [pixel(row["recon"], row["median"]) for row in rows]
    places = place_labels(points, [row["label"] for row in rows], WIDTH, HEIGHT, FONT_SIZE, 0, taken + dots)
    boxes = list(taken)
    for row, point, place in zip(rows, points, places):
        row["place"] = place.name if place is not None else None
        if place is not None:
            boxes.append(place.box(*point, row["label"], FONT_SIZE))
    return boxes
