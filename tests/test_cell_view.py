"""What a cell page makes of its stored pictures and matrices: tile positions, which factor a latent carries."""

import json

from vaebench.pictures.spec import PICTURES_VERSION, read_pictures
from vaebench.site.cell_view import CellView, Sprite, matching_factors

FACTORS = ["shape", "scale", "pos_x"]


def _matrix(rows):
    return {"label": "importance", "rows": [f"z{i}" for i in range(len(rows))], "columns": FACTORS, "values": rows}


def test_a_tile_is_cut_from_its_sprite_at_the_documented_offset():
    sprite = Sprite("cell/traversal-0.png", "s-traversal-0", height=64, width=32, gutter=1)
    assert sprite.tile(0, 0) == "background-position:-1px -1px"
    assert sprite.tile(2, 3) == "background-position:-100px -131px"
    assert sprite.rule == '.s-traversal-0{background-image:url("cell/traversal-0.png");width:32px;height:64px}'
    odd = Sprite('cell"</style>/x.png', "s-x", height=8, width=8, gutter=1)
    assert "</style>" not in odd.rule and '"' not in odd.rule.split('url("')[1].split('")')[0]


def test_a_latent_is_named_after_the_factor_it_dominates_and_factors_it_ties_are_named_together():
    # every column averages 0.25 over the four latents, so a latent matches a factor from 0.375 on
    dci = _matrix([[0.05, 0.05, 0.85],   # pos_x alone
                   [0.6, 0.55, 0.05],    # shape and scale, within 80 % of each other
                   [0.3, 0.35, 0.05],    # below 1.5 × the average everywhere: its effect is spread
                   [0.05, 0.05, 0.05]])
    matrices = {"dci": dci}
    assert matching_factors(matrices, "z0") == ("pos_x",)
    assert matching_factors(matrices, "z1") == ("shape", "scale")
    assert matching_factors(matrices, "z2") == ()
    assert matching_factors({}, "z0") is None


def test_dci_names_the_factor_before_mig_and_mig_stands_in_without_dci():
    dci = _matrix([[0.9, 0.1, 0.1], [0.1, 0.9, 0.9]])
    mig = _matrix([[0.01, 0.5, 0.01], [0.5, 0.01, 0.01]])
    assert matching_factors({"dci": dci, "mig": mig}, "z0") == ("shape",)
    assert matching_factors({"mig": mig}, "z0") == ("scale",)


def _folder(tmp_path, **changes):
    meta = {"version": PICTURES_VERSION, "gaussian": True, "order": [1, 0, 2], "strength": [0.4, 2.61, 0.01],
            "strength_name": "mean KL to the prior (nats)", "informative": [True, True, False],
            "tile": {"height": 64, "width": 64, "gutter": 1}, "reconstructions": "reconstructions.png",
            "traversals": ["traversal-0.png"], "values": [[-3.0] * 3, [3.0] * 3], "interpolation": "interpolation.png",
            "arithmetic": None, "prior": "prior.png", "prior_caption": "codes drawn from the prior N(0, I)", **changes}
    (tmp_path / "pictures.json").write_text(json.dumps(meta))
    return tmp_path


def test_rows_are_labelled_most_informative_first_and_dead_latents_are_set_apart(tmp_path):
    matrices = {"dci": _matrix([[0.1, 0.1, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.8]])}
    view = CellView.read(_folder(tmp_path), read_pictures(tmp_path), matrices, "cell/")
    assert [latent.label for latent in view.informative] == ["z1 · KL 2.61 · ≈ shape", "z0 · KL 0.40 · ≈ no single factor"]
    assert [latent.label for latent in view.dead] == ["z2 · KL 0.01"]
    unjudged = CellView.read(tmp_path, read_pictures(tmp_path), {}, "cell/")  # no matrix: no claim about factors
    assert [latent.label for latent in unjudged.informative] == ["z1 · KL 2.61", "z0 · KL 0.40"]
    assert view.steps == ["−3", "−2.5", "−2", "−1.5", "−1", "−0.5", "0", "+0.5", "+1", "+1.5", "+2", "+2.5", "+3"]
    assert view.inputs[0]["reconstructions"].tile(1, 0) == "background-position:-1px -66px"
    assert [sprite.url for sprite in view.sprites] == ["cell/reconstructions.png", "cell/traversal-0.png", "cell/prior.png"]


def test_pictures_of_an_older_layout_are_not_read(tmp_path):
    folder = _folder(tmp_path)
    meta = json.loads((folder / "pictures.json").read_text())
    del meta["version"]
    (folder / "pictures.json").write_text(json.dumps(meta))
    assert read_pictures(folder) is None
    assert read_pictures(tmp_path / "missing") is None
