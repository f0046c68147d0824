"""Pictures of a two-view cell (the shared-latent VAE): the first view's, as any image cell's, and both views side by side.

The first view's encoder and decoder are the ones the metrics and the report use, so the folder holds every
picture of an image cell (``vaebench.pictures.images``) drawn from them, and PICTURES_FILE adds:

- "views": a sprite of len(VIEW_ROWS) rows × RECONSTRUCTIONS columns, one column per held-out sample (the
  reconstructions' own inputs), its rows as "view_rows" names them: both views, each view decoded from its own
  code, and each view decoded from the other view's code (the cross-reconstructions the scores measure);
- "traversals_b": beside each of "traversals", the same codes (the first view's, each latent along "values")
  decoded into the second view: the same rows and columns, so a page shows both views of a traversal side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaebench.data.base import Dataset
from vaebench.metrics.sampling import decode, encode
from vaebench.models.probability import sigmoid
from vaebench.pictures.images import (RECONSTRUCTIONS, TRAVERSAL_SAMPLES, CellPictures, draw_sprites, save_grid,
                                      write_pictures_file)

VIEW_ROWS = ("view a", "view b", "view a from view a", "view b from view b", "view a from view b", "view b from view a")


def draw_two_view_pictures(encoder, decoder, card: dict, dataset: Dataset, out_dir: Path, encoder_b, decoder_b,
                           arithmetic_factor: str) -> None:
    """Every picture of a two-view cell's page into ``out_dir`` (see the module docstring); ``encoder_b`` and
    ``decoder_b`` are the second view's networks."""
    out_dir = Path(out_dir)
    meta = draw_sprites(encoder, decoder, card, dataset, out_dir, arithmetic_factor)
    into_b = CellPictures(encoder, decoder_b, dataset, card)  # the first view's codes, decoded into the second view
    traversals_b = [f"traversal-b-{sample}.png" for sample in range(TRAVERSAL_SAMPLES)]
    for sample, name in enumerate(traversals_b):
        into_b.traversal(out_dir / name, sample)

    view_a, view_b = into_b.batch.images[:RECONSTRUCTIONS], into_b.batch.second_view[:RECONSTRUCTIONS]
    code_a, code_b = into_b.mean[:RECONSTRUCTIONS], encode(encoder_b, view_b)[0]

    def decoded(network, codes):
        return sigmoid(decode(network, codes.astype(np.float32)))

    save_grid(out_dir / "views.png", np.stack([view_a, view_b, decoded(decoder, code_a), decoded(decoder_b, code_b),
                                               decoded(decoder, code_b), decoded(decoder_b, code_a)]))
    write_pictures_file(out_dir, {**meta, "views": "views.png", "view_rows": list(VIEW_ROWS), "traversals_b": traversals_b})
