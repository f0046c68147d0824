"""The cross-cell explorer's data: a list of the cells it can show (CODES_SCRIPT), each cell's codes in its own data script.

Scripts, not JSON files, so that explorer.html reads them from file:// (browsers refuse to fetch files
there). The list is small; a cell's codes (its most informative latents' codes, rounded, and its factor
indices: ``columns``) lie in the cell's data script, which the explorer loads when the cell is picked.
"""

from __future__ import annotations


CODES_SCRIPT = "data/codes.js"
#: the scatter fields of the explorer: the k-th most informative latent of whichever cell is shown
LATENT_FIELDS = ("1st most informative latent", "2nd most informative latent", "3rd most informative latent",
                 "4th most informative latent")
#: decimals kept of each code: far below what a scatter plot can show, and it keeps the file small
DECIMALS = 3


def _hparams(hparams: dict) -> str:
    return ", ".join(f"{key} {value:g}" if isinstance(value, (int, float)) else f"{key} {value}"
                     for key, value in sorted(hparams.items())) or "—"


def columns(table, factor_names) -> tuple[dict, list[str], list[list[float]]]:
    """A latents table (``CellView.codes``) as columns: ({"names", "indices"} of its factors, its latents, their codes)."""
    names = [f for f in factor_names if f in table.columns]
    latents = [c for c in table.columns if c not in names][: len(LATENT_FIELDS)]
    return ({"names": names, "indices": [table[name].astype(int).tolist() for name in names]}, latents,
            [table[z].round(DECIMALS).tolist() for z in latents])


def codes_data(cells) -> dict:
    """``cells``: (params.json's record, page url, data script url, CellView with a latents table) per cell.

    Returns {"factors": {name: its scatter_matrix colour keywords}, "cells": [...]}, each cell with its pickers'
    values, its page and its data script.
    """
    factors, cells_out = {}, []
    for record, url, script, view in cells:
        for name in view.factor_names:
            factors[name] = view.factor_scale(name)
        cells_out.append({"name": record.name, "url": url, "data": script, "model": record.model,
                          "hparams": _hparams(record.hparams), "latent_dim": record.latent_dim, "seed": record.seed})
    return {"factors": factors, "cells": cells_out}
