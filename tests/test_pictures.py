"""The pictures a cell keeps: drawn at scoring time, described by pictures.json, sprites with the stated geometry."""

import json

import numpy as np
import pytest
from PIL import Image

from vaebench.results.layout import LATENTS_FILE, PARAMS_FILE, PICTURES_DIR, PICTURES_FILE
from vaebench.pictures.spec import (INFORMATIVE_KL, PICTURES_VERSION, PRIOR_SAMPLES, TRAVERSAL_STEPS,
                                   pictures_are_current)
from vaebench.pictures.images import RECONSTRUCTIONS
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


def test_a_two_view_cell_shows_both_views_side_by_side_with_the_cross_reconstructions(tmp_path):
    """Its folder holds an image cell's pictures of the first view, plus both views of the same samples and traversals."""
    from vaebench.data import get_dataset
    from vaebench.metrics.sampling import decode, encode
    from vaebench.models import get_model_class
    from vaebench.models.probability import sigmoid
    from vaebench.pictures.spec import ARITHMETIC_FACTOR
    from vaebench.pictures.two_views import VIEW_ROWS, draw_two_view_pictures

    dataset = get_dataset("dsprites_outline", image_size=32)
    model_class = get_model_class("shared_vae")
    model = model_class.create("mlp", dataset.shape, 3, seed=0)
    draw_two_view_pictures(model.encoder, model.decoder, model_class.card("shared_vae", {}), dataset, tmp_path,
                           encoder_b=model.encoder_b, decoder_b=model.decoder_b, arithmetic_factor=ARITHMETIC_FACTOR)
    meta = json.loads((tmp_path / PICTURES_FILE).read_text())
    assert meta["kind"] == "two_views" and meta["view_rows"] == list(VIEW_ROWS)
    tile = meta["tile"]
    for name in (meta["reconstructions"], *meta["traversals"], *meta["traversals_b"]):
        assert (tmp_path / name).is_file(), name
    assert len(meta["traversals_b"]) == len(meta["traversals"])
    for a, b in zip(meta["traversals"], meta["traversals_b"]):  # both views of one traversal have one geometry
        assert Image.open(tmp_path / a).size == Image.open(tmp_path / b).size == _sprite_shape(tile, 3, TRAVERSAL_STEPS)[::-1]
    views = np.asarray(Image.open(tmp_path / meta["views"]), np.float32) / 255
    assert views.shape == _sprite_shape(tile, len(VIEW_ROWS), RECONSTRUCTIONS)

    def row(r):
        step_y, step_x = tile["height"] + tile["gutter"], tile["width"] + tile["gutter"]
        top = tile["gutter"] + r * step_y
        return np.stack([views[top:top + tile["height"], tile["gutter"] + c * step_x:tile["gutter"] + c * step_x + tile["width"]]
                         for c in range(RECONSTRUCTIONS)])[..., None]

    batch = dataset.sample(256, np.random.default_rng(0), split="test")  # the reconstructions' own inputs
    view_a, view_b = batch.images[:RECONSTRUCTIONS], batch.second_view[:RECONSTRUCTIONS]
    code_a, code_b = encode(model.encoder, view_a)[0], encode(model.encoder_b, view_b)[0]
    expected = [view_a, view_b, sigmoid(decode(model.decoder, code_a)), sigmoid(decode(model.decoder_b, code_b)),
                sigmoid(decode(model.decoder, code_b)), sigmoid(decode(model.decoder_b, code_a))]
    for r, (caption, pixels) in enumerate(zip(VIEW_ROWS, expected)):
        np.testing.assert_allclose(row(r), pixels, atol=1 / 255, err_msg=caption)
