"""Which drawer draws a cell's pictures folder: one per data kind, chosen from the cell's model card.

Scoring calls it right after the scores, while the weights are at hand; ``vaebench evaluate --pictures``
calls it for cells scored without pictures. The report never does: it reads the folders
(``vaebench.pictures.spec``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from vaebench.kinds import DataKind
from vaebench.models import model_card
from vaebench.pictures.images import draw_cell_pictures
from vaebench.pictures.spec import ARITHMETIC_FACTOR, pictures_are_current
from vaebench.pictures.tables import draw_table_pictures
from vaebench.pictures.two_views import draw_two_view_pictures
from vaebench.results.experiments import load_network
from vaebench.results.files import replace_cell_dir
from vaebench.results.layout import NETWORKS, PICTURES_DIR, network_file
from vaebench.results.records import read_params


def pictures_to_draw(cell_dir: Path, force: bool = False) -> bool:
    """Whether the cell's pictures can and should be drawn: they are missing or outdated (or ``force``), its weights are there."""
    return (force or not pictures_are_current(cell_dir)) and all((Path(cell_dir) / network_file(network)).is_file() for network in NETWORKS)


def draw_pictures(cell_dir: Path, dataset) -> None:
    """Draw the cell's pictures folder from its weights (``vaebench.pictures.images``; tables: ``vaebench.pictures.tables``;
    two views: ``vaebench.pictures.two_views``), swapped in whole, never half-written."""
    encoder, decoder = (load_network(cell_dir, network) for network in NETWORKS)
    card = model_card(read_params(cell_dir))
    if card["data_kind"] == DataKind.TABLES:
        draw = draw_table_pictures
    elif card["data_kind"] == DataKind.TWO_VIEWS:
        encoder_b, decoder_b = (load_network(cell_dir, network) for network in card["networks"] if network not in NETWORKS)
        draw = partial(draw_two_view_pictures, encoder_b=encoder_b, decoder_b=decoder_b, arithmetic_factor=ARITHMETIC_FACTOR)
    else:
        draw = partial(draw_cell_pictures, arithmetic_factor=ARITHMETIC_FACTOR)
    replace_cell_dir(Path(cell_dir) / PICTURES_DIR, partial(draw, encoder, decoder, card, dataset))
