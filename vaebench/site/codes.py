"""The cross-cell explorer's data: every cell's most informative latent codes, in one script (CODES_SCRIPT).

A script, not a JSON file, so that explorer.html reads it from file:// (browsers refuse to fetch
files there). Factor indices are stored once per distinct draw (every cell of one dataset shares
the same held-out samples), codes per cell, rounded.
"""

from __future__ import annotations

import json

CODES_SCRIPT = "data/codes.js"
#: the scatter fields of the explorer: the k-th most informative latent of whichever cell is shown
LATENT_FIELDS = ("1st most informative latent", "2nd most informative latent", "3rd most informative latent",
                 "4th most informative latent")
#: decimals kept of each code: far below what a scatter plot can show, and it keeps the file small
DECIMALS = 3


def _hparams(params: dict) -> str:
    hparams = params.get("hparams") or {}
    return ", ".join(f"{key} {value:g}" if isinstance(value, (int, float)) else f"{key} {value}"
                     for key, value in sorted(hparams.items())) or "—"


def columns(table, factor_names) -> tuple[dict, list[str], list[list[float]]]:
    """A latents table (``CellView.codes``) as columns: ({"names", "indices"} of its factors, its latents, their codes)."""
    names = [f for f in factor_names if f in table.columns]
    latents = [c for c in table.columns if c not in names][: len(LATENT_FIELDS)]
    return ({"names": names, "indices": [table[name].astype(int).tolist() for name in names]}, latents,
            [table[z].round(DECIMALS).tolist() for z in latents])


def codes_data(cells) -> dict:
    """``cells``: (params, page url, CellView with a latents table) per cell.

    Returns {"factors": {name: its scatter_matrix colour keywords}, "factor_sets": [{"names": [...], "indices": [per factor]}], "cells": [...]},
    each cell with its pickers' values, its "factor_set", its "latents" (labels, most informative first) and its
    "codes" (per latent).
    """
    factors, factor_sets, cells_out = {}, [], []
    for params, url, view in cells:
        draw, latents, codes = columns(view.codes(), view.factor_names)
        for name in draw["names"]:
            factors[name] = view.factor_scale(name)
        if draw not in factor_sets:
            factor_sets.append(draw)
        labels = {latent.z: latent.label for latent in view.latents}
        cells_out.append({"name": params["name"], "url": url, "model": params["model"], "hparams": _hparams(params),
                          "latent_dim": params["latent_dim"], "seed": params["seed"], "factor_set": factor_sets.index(draw),
                          "latents": [labels[z] for z in latents], "codes": codes})
    return {"factors": factors, "factor_sets": factor_sets, "cells": cells_out}


def codes_script(data: dict) -> str:
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return f"window.VAEBENCH_DATA = window.VAEBENCH_DATA || {{}};\nwindow.VAEBENCH_DATA.codes = {payload};\n"
