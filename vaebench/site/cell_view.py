"""What the report shows of one cell's stored pictures (``vaebench.pictures.spec``) and latents × factors matrices.

Pictures are shown from their sprites, tile by tile, through CSS background positions: the PNGs
are copied, never re-encoded, and every tile keeps its native size.
"""

from __future__ import annotations

import copy
import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from vaebench.pictures.spec import (
    INFORMATIVE_KL,
    INFORMATIVE_VARIANCE_SHARE,
    PRIOR_SAMPLES,
    TRAVERSAL_VALUES,
)
from vaebench.results.layout import LATENTS_FILE
from vaebench.results.records import ImagePictures, TablePictures
from vaebench.site.cell_charts import MATRICES

#: a latent matches a factor when it holds at least this many times the average latent's value in that factor's
#: column (for DCI, whose columns sum to 1: this many times an even share, 1/L)
FACTOR_SHARE = 1.5
#: factors a latent matches within this fraction of its largest match are named together ("shape + scale")
FACTOR_TIE = 0.8
#: the matrices that can name a latent's factors, in order of preference (metrics.json "matrices")
MATCHING_MATRICES = tuple(MATRICES)
#: samples per cell in the scatter matrices (of the LATENTS_FILE's rows): enough to see structure, few enough to draw fast
SCATTER_SAMPLES = 500


@dataclass(frozen=True)
class Sprite:
    """One PNG of native-size tiles with a gutter (``pictures.save_grid``), at ``url`` relative to the page.

    A page states each sprite once, as the CSS ``rule`` of its class; a tile is an element of that class
    with the tile's background position.
    """

    url: str
    css_class: str
    height: int
    width: int
    gutter: int

    def tile(self, row: int, col: int) -> str:
        """The inline style that shows tile (row, col) in an element of the sprite's class."""
        x, y = self.gutter + col * (self.width + self.gutter), self.gutter + row * (self.height + self.gutter)
        return f"background-position:-{x}px -{y}px"

    def strip(self, row: int, count: int) -> str:
        """The inline style that shows the first ``count`` tiles of ``row`` (with the gutters between them) in one element."""
        return f"{self.tile(row, 0)};width:{count * (self.width + self.gutter) - self.gutter}px"

    @property
    def rule(self) -> Markup:
        quoted = "".join(c if c.isalnum() or c in "-_./" else f"\\{ord(c):x} " for c in self.url)
        return Markup(f'.{self.css_class}{{background-image:url("{quoted}");width:{self.width}px;height:{self.height}px}}')


@dataclass(frozen=True)
class Latent:
    index: int
    row: int  # its row in the traversal sprites
    strength: str  # "KL 2.61"
    factors: tuple[str, ...] | None  # the factors it matches (matching_factors)
    informative: bool

    @property
    def z(self) -> str:
        return f"z{self.index}"

    @property
    def label(self) -> str:
        if not self.informative or self.factors is None:
            return f"{self.z} · {self.strength}"
        return f"{self.z} · {self.strength} · ≈ {' + '.join(self.factors) or 'no single factor'}"


def matching_factors(matrices: dict, z: str) -> tuple[str, ...] | None:
    """The factors latent ``z`` carries, by the first matrix of MATCHING_MATRICES there is (see FACTOR_SHARE, FACTOR_TIE).

    None where no matrix holds the latent (an older cell, or a dataset without factors): nothing to judge by.
    """
    key = next((k for k in MATCHING_MATRICES if k in matrices and z in matrices[k]["rows"]), None)
    if key is None:
        return None
    matrix = matrices[key]
    values = np.asarray(matrix["values"], dtype=float)
    row = values[matrix["rows"].index(z)]
    matched = row * (row > 0) * (row >= FACTOR_SHARE * values.mean(axis=0))
    return tuple(factor for factor, value in zip(matrix["columns"], matched) if value and value >= FACTOR_TIE * matched.max())


def matching_rule(matrices: dict) -> str | None:
    """One line saying how a latent's factors were chosen, or None where no matrix can choose them."""
    key = next((k for k in MATCHING_MATRICES if k in matrices), None)
    if key is None:
        return None
    return (f"“≈ factor”: the factor for which the latent's {key.upper()} value is largest among those where it is at least "
            f"{FACTOR_SHARE:g}× the average latent's, with any other within {FACTOR_TIE:.0%} of it; "
            "“no single factor”: no factor passes, the latent's effect is spread over several")


def traversal_unit(gaussian: bool) -> str:
    """What the traversal values −3 … +3 are in (vaebench.pictures.latents.traversal_values)."""
    return "in prior units, the prior being N(0, 1)" if gaussian else "in standard deviations of the codes around their mean"


class CellView:
    """A cell's current pictures folder, read for its page; ``read`` returns None where there is none."""

    def __init__(self, meta: ImagePictures, matrices: dict, prefix: str, latents_table: Path | None):
        self.meta, self.prefix, self.tag = meta, prefix, "s"
        tile = meta.tile
        self._geometry = (tile["height"], tile["width"], tile["gutter"])
        self.tile_width = tile["width"]
        self.gaussian = meta.gaussian
        self.strength_name = meta.strength_name
        self.strength_short = "mean KL to the prior" if self.gaussian else "code variance"
        self.dead_rule = (f"mean KL below {INFORMATIVE_KL:g} nats: they carry next to no information" if self.gaussian
                          else f"code variance below {INFORMATIVE_VARIANCE_SHARE:.0%} of the largest latent's")
        short = "KL" if self.gaussian else "var"
        self.latents = [Latent(z, row, f"{short} {meta.strength[z]:.2f}", matching_factors(matrices, f"z{z}"),
                               meta.informative[z]) for row, z in enumerate(meta.order)]
        self.latents_table = latents_table
        self.factor_names = tuple(meta.factors) if meta.factors is not None else _stored_factors(latents_table, matrices)
        #: a folder drawn before pictures.json said which factors are categories reads every factor as ordered
        self.categorical_factors = tuple(meta.categorical_factors or ())
        self.category_names = {name: tuple(values) for name, values in (meta.category_names or {}).items()}
        self.cyclic_factors = tuple(meta.cyclic_factors or ())

    def factor_scale(self, factor: str) -> dict:
        """How a scatter colours ``factor``: cell_charts.scatter_matrix's keywords."""
        return {"categorical": factor in self.categorical_factors, "values": self.category_names.get(factor, ()),
                "cyclic": factor in self.cyclic_factors}

    @classmethod
    def read(cls, folder: Path, meta: ImagePictures | TablePictures | None, matrices: dict, prefix: str) -> CellView | None:
        """``folder``: the cell's stored pictures; ``meta``: their record (``vaebench.pictures.spec.read_pictures``);
        ``prefix``: the URL of the site's copy of them, relative to the page.

        None where ``meta`` is no record of images or sequences (none drawn, older ones, or a table's).
        """
        if not isinstance(meta, ImagePictures):
            return None
        table = Path(folder) / LATENTS_FILE
        return cls(meta, matrices, prefix, table if table.is_file() else None)

    def at(self, prefix: str, tag: str) -> CellView:
        """The same view for a page elsewhere in the site: its pictures at the URL ``prefix``, its CSS classes tagged ``tag``.

        Tags tell apart the sprites of the several cells one page shows.
        """
        moved = copy.copy(self)
        moved.prefix, moved.tag = prefix, tag
        return moved

    def sprite(self, name: str) -> Sprite:
        return Sprite(self.prefix + name, f"{self.tag}-{Path(name).stem}", *self._geometry)

    @property
    def sprites(self) -> list[Sprite]:
        """The sprites shown tile by tile: reconstructions, traversals, prior samples."""
        names = [self.meta.reconstructions, self.meta.second_view, *self.meta.traversals, self.meta.prior]
        return [self.sprite(name) for name in names if name]

    @property
    def informative(self) -> list[Latent]:
        return [latent for latent in self.latents if latent.informative]

    @property
    def dead(self) -> list[Latent]:
        return [latent for latent in self.latents if not latent.informative]

    @property
    def inputs(self) -> list[dict]:
        """Per traversed input: its index (its column in the reconstructions sprite), that sprite, its traversal sprite,
        and the sprite of its second view with that sprite's row captions (None and () with one view)."""
        reconstructions = self.sprite(self.meta.reconstructions)
        second_view = self.sprite(self.meta.second_view) if self.meta.second_view else None
        return [{"index": i, "reconstructions": reconstructions, "traversal": self.sprite(name), "second_view": second_view,
                 "second_view_rows": self.meta.second_view_rows or ()}
                for i, name in enumerate(self.meta.traversals)]

    @property
    def steps(self) -> list[str]:
        """Each traversal column's label: the value in prior units (VAEs) or in standard deviations of the codes (autoencoders)."""
        return [f"{step:+g}".replace("-", "−") if step else "0" for step in TRAVERSAL_VALUES]

    def value(self, latent: Latent, step: int) -> str:
        """The value latent takes in traversal column ``step``."""
        return f"{self.meta.values[step][latent.index]:.3g}"

    def values(self, latent: Latent) -> list[str]:
        """The value latent takes in each traversal column."""
        return [self.value(latent, step) for step in range(len(self.meta.values))]

    @property
    def geometry(self) -> dict:
        """Every sprite's tile size and gutter (``Sprite.tile``), for the page's script to find a tile by its row and column."""
        height, width, gutter = self._geometry
        return {"height": height, "width": width, "gutter": gutter}

    @property
    def step_unit(self) -> str:
        return traversal_unit(self.gaussian)

    @property
    def prior(self) -> Sprite | None:
        return self.sprite(self.meta.prior) if self.meta.prior else None

    prior_shape = PRIOR_SAMPLES

    def codes_shape(self) -> tuple[list[str], int] | None:
        """The latents table's columns and how many of its rows ``codes`` reads, without parsing it; None without one."""
        if self.latents_table is None:
            return None
        with open(self.latents_table, newline="") as handle:
            header = next(csv.reader(handle), [])
            rows = sum(1 for _ in itertools.islice(handle, SCATTER_SAMPLES))
        return header, rows

    def codes(self) -> pd.DataFrame | None:
        """The first SCATTER_SAMPLES rows of the latents table: latent means (most informative first), then factor indices."""
        return None if self.latents_table is None else pd.read_csv(self.latents_table, nrows=SCATTER_SAMPLES)


def _stored_factors(latents_table: Path | None, matrices: dict) -> tuple[str, ...]:
    """The factor names of a folder drawn before pictures.json named them: the latents table's columns after the latents,
    else the columns of a latents × factors matrix."""
    if latents_table is not None:
        return tuple(c for c in pd.read_csv(latents_table, nrows=0).columns if not re.fullmatch(r"z\d+", c))
    key = next((k for k in MATCHING_MATRICES if k in matrices), None)
    return tuple(matrices[key]["columns"]) if key else ()
