"""What a cell's ``pictures/`` folder holds: its file names, version, traversal grid and thresholds, and its reader.

The drawing (``vaebench.pictures.images``, ``vaebench.pictures.tables``) needs the weights and Keras; this
vocabulary does not, so the report reads the folders through it without loading either.

PICTURES_FILE (read and written as ``vaebench.results.records.ImagePictures``) describes the folder:

- "version": PICTURES_VERSION (older folders are redrawn where the weights exist); "kind": the data kind
  ("images", "sequences"; table cells describe other pictures: vaebench.pictures.tables);
- "gaussian": whether codes are posterior means of a Gaussian encoder (else autoencoder codes);
- "order": latents, most informative first; "strength": per latent, what orders them
  ("strength_name" says what: mean KL in nats, or variance of the codes); "informative": per
  latent, whether it carries information (mean KL ≥ INFORMATIVE_KL nats; for an autoencoder,
  variance ≥ INFORMATIVE_VARIANCE_SHARE of the largest latent's);
- "factors", "categorical_factors": the dataset's ground-truth factors (the columns of LATENTS_FILE after the
  latents) and those of them that are categories rather than ordered values (absent from older folders);
  "category_names": a categorical factor's value names in index order; "cyclic_factors": factors whose values
  wrap around (both absent from older folders);
- "tile": {"height", "width", "gutter"} of every sprite's tiles, in pixels;
- "reconstructions": sprite of 2 rows × RECONSTRUCTIONS columns: held-out inputs, their reconstructions;
- "second_view" (absent where the data has one view, and from older folders): sprite of the same inputs' second
  view and, for a two-view model, that view decoded from the first view's code; "second_view_rows" captions its rows;
- "traversals": one sprite per input i (the i-th column of the reconstructions): a row per latent in
  "order", a column per value of "values" ((steps, L): the value each latent takes in each column);
- "interpolation", "arithmetic" (or null), "prior" (or null): single sprites;
  "prior_caption" says what the prior samples are drawn from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaebench.errors import VaebenchError
from vaebench.results.layout import PICTURES_DIR
from vaebench.results.records import ImagePictures, TablePictures, read_pictures_file

#: raised whenever what a pictures folder holds changes, so older folders are redrawn where the weights exist
PICTURES_VERSION = 2
#: traversal values: −3 … +3 in steps of 0.5 (prior units for a VAE; standard deviations for an autoencoder)
TRAVERSAL_STEPS = 13
TRAVERSAL_RANGE = 3.0
#: the traversal's steps, −3 … +3 (prior units for a VAE; an autoencoder's are scaled by each latent's spread)
TRAVERSAL_VALUES = np.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, TRAVERSAL_STEPS)
PRIOR_SAMPLES = (2, 8)
#: a latent whose mean KL to the prior is below this (nats) carries next to no information about the input
INFORMATIVE_KL = 0.05
#: an autoencoder's latent is informative when its code variance is at least this share of the largest latent's
INFORMATIVE_VARIANCE_SHARE = 0.01
#: the factor whose mean code difference the latent-arithmetic picture adds
ARITHMETIC_FACTOR = "scale"

#: what a corrupt PICTURES_FILE's one-line error adds: the command that draws it again (without ``--force`` the
#: pictures are checked for being current, which reads the corrupt file)
REDRAW_HINT = "draw it again with `vaebench evaluate --pictures --force`"


def read_pictures(folder: Path) -> ImagePictures | TablePictures | None:
    """A pictures folder's PICTURES_FILE, checked, when this PICTURES_VERSION drew it, else None (none drawn, or older).

    A corrupt one is a one-line VaebenchError that says how to draw it again.
    """
    try:
        return read_pictures_file(folder, PICTURES_VERSION)
    except VaebenchError as error:
        raise VaebenchError(f"{error}; {REDRAW_HINT}") from None


def pictures_are_current(cell_dir: Path) -> bool:
    """Whether the cell's pictures folder exists and was drawn by this PICTURES_VERSION."""
    return read_pictures(Path(cell_dir) / PICTURES_DIR) is not None
