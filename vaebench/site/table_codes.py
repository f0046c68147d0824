"""What the cross-cell explorer reads of a table cell: its strongest latents' codes, coloured by its label and factors.

A table cell's ``latents.csv`` (``vaebench.pictures.tables``) holds the codes of its strongest latents, strongest
first, every observed column's value, then the label and the factors where the dataset has them. The explorer
colours by the label and the factors, as it colours an image cell by its factors; the observed columns colour the
cell page's own scatter matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vaebench.results.layout import LATENTS_FILE
from vaebench.results.records import ImagePictures, TablePictures
from vaebench.site.cell_view import SCATTER_SAMPLES

#: the column of latents.csv holding each record's class label (by name where the dataset names its labels)
LABEL = "label"


@dataclass(frozen=True)
class TableLatent:
    z: str
    label: str


class TableCodes:
    """A table cell's codes in the shape ``vaebench.site.codes.codes_data`` reads (as of a ``CellView``)."""

    def __init__(self, meta: TablePictures, latents_table: Path):
        self.latents_table = latents_table
        header = pd.read_csv(latents_table, nrows=0).columns
        observed = {column["name"] for column in meta.columns}
        latents = [name for name in header if re.fullmatch(r"z\d+", name)]
        self.factor_names = tuple(name for name in header if name not in observed and name not in latents)
        short = "KL" if meta.gaussian else "var"
        self.latents = [TableLatent(z, f"{z} · {short} {meta.strength[int(z[1:])]:.2f}") for z in latents]
        labels = pd.read_csv(latents_table, usecols=[LABEL], nrows=SCATTER_SAMPLES)[LABEL] if LABEL in header else None
        #: the label's names in the order their indices colour them; () where the labels are numbers already
        self.label_names = (tuple(sorted(labels.unique())) if labels is not None and not pd.api.types.is_numeric_dtype(labels)
                            else ())

    @classmethod
    def read(cls, folder: Path, meta: ImagePictures | TablePictures | None) -> TableCodes | None:
        """``meta``: the folder's pictures record (``vaebench.pictures.spec.read_pictures``). None where that is no
        table's (none drawn, or of another kind), the folder holds no latents table, or nothing to colour it by."""
        table = Path(folder) / LATENTS_FILE
        if not isinstance(meta, TablePictures) or not table.is_file():
            return None
        codes = cls(meta, table)
        return codes if codes.factor_names else None

    def factor_scale(self, name: str) -> dict:
        """How a scatter colours ``name``: the label by category, each factor on an ordered scale."""
        return {"categorical": name == LABEL, "values": self.label_names if name == LABEL else (), "cyclic": False}

    def codes(self) -> pd.DataFrame:
        """The first SCATTER_SAMPLES rows: the latents' codes (strongest first), then the label's index and the factors."""
        table = pd.read_csv(self.latents_table, nrows=SCATTER_SAMPLES)
        if self.label_names:
            table[LABEL] = table[LABEL].map({name: k for k, name in enumerate(self.label_names)})
        return table[[latent.z for latent in self.latents] + list(self.factor_names)]
