"""The pictures a cell keeps: drawn at scoring time, described by pictures.json, sprites with the stated geometry."""

import json

import numpy as np
import pytest
from PIL import Image

from vaebench.results.layout import LATENTS_FILE, PARAMS_FILE, PICTURES_DIR, PICTURES_FILE
from vaebench.pictures.spec import (INFORMATIVE_KL, PICTURES_VERSION, PRIOR_SAMPLES, TRAVERSAL_STEPS,
                                   pictures_are_current)
from vaebench.pictures.images import LEVELS, RECONSTRUCTIONS, save_grid, stored_levels
from vaebench.pictures.latents import latent_order


def _sprite_shape(tile: dict, rows: int, cols: int) -> tuple[int, int]:
    """(height, width) in pixels of a sprite of rows × cols tiles with gutters."""
    gutter = tile["gutter"]
    return rows * (tile["height"] + gutter) + gutter, cols * (tile["width"] + gutter) + gutter


@pytest.mark.slow
def test_run_grid_leaves_every_cell_with_current_pictures_whose_sprites_match_their_description(smoke_results):
    cells = [p.parent for p in smoke_results.rglob(PARAMS_FILE)]
    assert cells
    for cell in cells:
        assert pictures_are_current(cell), cell  # drawn by `run grid` itself, before any build-site
        folder = cell / PICTURES_DIR
        meta = json.loads((folder / PICTURES_FILE).read_text())
        assert meta["version"] == PICTURES_VERSION
        latents = json.loads((cell / PARAMS_FILE).read_text())["latent_dim"]
        assert sorted(meta["order"]) == list(range(latents)) and len(meta["strength"]) == latents
        assert [meta["strength"][i] for i in meta["order"]] == sorted(meta["strength"], reverse=True)
        if meta["gaussian"]:
            assert meta["informative"] == [s >= INFORMATIVE_KL for s in meta["strength"]]
        tile = meta["tile"]
        expected = {meta["reconstructions"]: (2, RECONSTRUCTIONS), meta["prior"]: PRIOR_SAMPLES,
                    **{name: (latents, TRAVERSAL_STEPS) for name in meta["traversals"]}}
        for name, (rows, cols) in expected.items():
            width, height = Image.open(folder / name).size
            assert (height, width) == _sprite_shape(tile, rows, cols), name
        assert np.array(meta["values"]).shape == (TRAVERSAL_STEPS, latents)
        # the report reads the dataset's factors from here, not from the dataset
        header = (folder / LATENTS_FILE).read_text().splitlines()[0].split(",")
        assert meta["factors"] == ["shape", "scale", "orientation", "pos_x", "pos_y"] == header[-5:]
        assert meta["categorical_factors"] == ["shape"]


def test_latents_are_ordered_by_mean_kl_and_flagged_informative_above_the_threshold():
    mean = np.zeros((100, 3))
    mean[:, 1] = np.random.default_rng(0).normal(size=100) * 2  # only latent 1 moves with the input
    logvar = np.zeros((100, 3))
    logvar[:, 2] = -0.4  # latent 2: a slightly narrower posterior, KL ≈ 0.035 nats
    order, strength, informative = latent_order(mean, logvar)
    assert order[0] == 1 and list(informative) == [False, True, False]
    assert 0 < strength[2] < INFORMATIVE_KL and strength[0] == 0


def test_a_sprite_is_stored_at_levels_grey_levels_that_a_redraw_reproduces(tmp_path):
    """Pictures are stored at LEVELS evenly spaced grey levels, black and white kept; rounding stored pixels again
    changes nothing, so re-encoding a picture drawn at 256 levels gives the bytes a redraw would."""
    tiles = np.random.default_rng(0).random((2, 3, 8, 8, 1), dtype=np.float32)
    tiles[0, 0] = 0.0
    tiles[0, 1] = 1.0
    save_grid(tmp_path / "grid.png", tiles)
    pixels = np.asarray(Image.open(tmp_path / "grid.png"))
    levels = np.unique(pixels)
    assert len(levels) <= LEVELS and {0, 255} <= set(levels.tolist())
    assert np.array_equal(stored_levels(pixels), pixels)
    full = (tiles[1, 2, ..., 0] * 255).round().astype(np.uint8)
    assert np.abs(stored_levels(full).astype(int) - full).max() <= 255 / (LEVELS - 1) / 2 + 0.5
