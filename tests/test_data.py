"""Embedded and file datasets: the factor grid, the renderer, and the loaders' errors."""

import gzip

import numpy as np
import pytest

from vaebench.data import dataset_names, get_dataset
from vaebench.data.dsprites import DSprites
from vaebench.errors import VaebenchError


@pytest.fixture(scope="module")
def dsprites():
    return DSprites(64)


def _one(dataset, shape, scale=5, orientation=0, x=15, y=15):
    return dataset.render(np.array([[shape, scale, orientation, x, y]]))[0, ..., 0]


def test_factor_grid(dsprites):
    assert dsprites.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert dsprites.factor_sizes == (3, 6, 40, 32, 32) and dsprites.grid_size == 737_280
    np.testing.assert_allclose(dsprites.factor_values[1], np.linspace(0.5, 1, 6))
    assert dsprites.factor_values[2][-1] < 2 * np.pi
    factors = dsprites.sample_factors(1000, np.random.default_rng(0))
    assert factors.min(axis=0).tolist() == [0] * 5
    assert (factors.max(axis=0) < np.array(dsprites.factor_sizes)).all()
    index = dsprites.grid_index(factors)
    np.testing.assert_array_equal(np.stack(np.unravel_index(index, dsprites.factor_sizes), 1), factors)
    assert dsprites.grid_index(np.array([[0, 0, 0, 0, 1]]))[0] == 1  # pos_y varies fastest


def test_render_is_deterministic_and_binary(dsprites):
    factors = dsprites.sample_factors(64, np.random.default_rng(1))
    first = dsprites.render(factors, np.random.default_rng(2))
    np.testing.assert_array_equal(first, dsprites.render(factors))
    assert first.shape == (64, 64, 64, 1) and first.dtype == np.float32
    assert set(np.unique(first)) <= {0.0, 1.0}
    sample = dsprites.sample(8, np.random.default_rng(3))
    np.testing.assert_array_equal(sample.images, dsprites.render(sample.factors))
    np.testing.assert_array_equal(sample.labels, sample.factors[:, 0])


def test_each_shape_looks_like_itself(dsprites):
    def fill_of_bounding_box(image):
        rows, cols = np.nonzero(image)
        return image.sum() / ((np.ptp(rows) + 1) * (np.ptp(cols) + 1))

    def crop(image):
        rows, cols = np.nonzero(image)
        return image[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]

    square, ellipse, heart = (crop(_one(dsprites, s)) for s in range(3))
    assert fill_of_bounding_box(square) == 1.0
    assert 0.65 < fill_of_bounding_box(ellipse) < 0.85  # π/4 for a continuous ellipse, less after rasterising
    np.testing.assert_array_equal(ellipse, ellipse[::-1])
    rows, cols = np.nonzero(ellipse)
    assert np.ptp(cols) > 1.7 * np.ptp(rows)  # elongated along x at orientation 0
    np.testing.assert_array_equal(heart, heart[:, ::-1])  # left-right symmetric
    assert (heart != heart[::-1]).sum() > 0.1 * heart.sum()  # but not up-down: lobes on top, point below
    assert 0.55 < fill_of_bounding_box(heart) < 0.85
    # the heart's notch: its top row has a gap in the middle, the square's does not
    top = heart[np.nonzero(heart)[0].min()]
    assert top[np.nonzero(top)[0].min(): np.nonzero(top)[0].max() + 1].min() == 0


def test_scale_orientation_and_position_act_as_named(dsprites):
    areas = [_one(dsprites, 0, scale=s).sum() for s in range(6)]
    assert areas == sorted(areas) and areas[-1] > 3 * areas[0]
    ellipse_flat, ellipse_turned = _one(dsprites, 1, orientation=0), _one(dsprites, 1, orientation=10)  # 10/40 turn = 90°
    # a quarter turn about the centre, which lies on the diagonal: the transpose, up to rounding at the rim
    assert (ellipse_flat.T != ellipse_turned).sum() <= 0.02 * ellipse_flat.sum()
    for axis, factor in ((1, 3), (0, 4)):
        centres = []
        for value in (0, 15, 31):
            kwargs = {"x": 15, "y": 15, ("x" if factor == 3 else "y"): value}
            image = _one(dsprites, 2, **kwargs)
            centres.append(np.nonzero(image)[axis].mean())
        assert centres[0] < centres[1] < centres[2]
        assert centres[2] - centres[0] == pytest.approx(31, abs=0.01)  # one pixel per position step


def test_every_shape_stays_inside_the_frame(dsprites):
    corners = np.stack(np.meshgrid(range(3), [5], range(40), [0, 31], [0, 31], indexing="ij"), -1).reshape(-1, 5)
    masks = dsprites.masks(corners)
    assert not (masks[:, 0].any() or masks[:, -1].any() or masks[:, :, 0].any() or masks[:, :, -1].any())
    assert masks.sum(axis=(1, 2)).min() > 0


def test_32_pixels_is_the_block_average_of_64(dsprites):
    factors = dsprites.sample_factors(16, np.random.default_rng(4))
    big, small = dsprites.render(factors), DSprites(32).render(factors)
    np.testing.assert_allclose(small, big.reshape(16, 32, 2, 32, 2, 1).mean(axis=(2, 4)))


def test_color_and_noisy_variants():
    rng = np.random.default_rng(5)
    color = get_dataset("color_dsprites", 32).sample(32, rng).images
    assert color.shape == (32, 32, 32, 3) and color.min() == 0.0 and color.max() <= 1.0
    lit = color[color.sum(-1) > 0]
    assert lit.min() >= 0.5 * 0.25  # a quarter-covered edge pixel of the darkest allowed colour
    noisy_ds = get_dataset("noisy_dsprites", 64)
    sample = noisy_ds.sample(8, rng)
    masks = noisy_ds.masks(sample.factors)
    assert (sample.images[masks] == 1.0).all()
    background = sample.images[~masks]
    assert 0.4 < background.mean() < 0.6 and not noisy_ds.deterministic


def test_digits():
    digits = get_dataset("digits")
    assert digits.shape == (16, 16, 1) and digits.num_classes == 10 and not digits.has_factors
    train, test = digits.split_size("train"), digits.split_size("test")
    assert train + test == 1797 and test == pytest.approx(0.2 * 1797, abs=1)
    batch = digits.sample(50, np.random.default_rng(0), split="test")
    assert batch.images.min() >= 0 and batch.images.max() <= 1 and batch.factors is None
    assert set(batch.labels) <= set(range(10))
    with pytest.raises(ValueError, match="unknown split"):
        digits.sample(1, np.random.default_rng(0), split="valid")


def test_registry_errors():
    assert {"dsprites", "digits", "mnist", "fashion_mnist", "dsprites_npz"} <= set(dataset_names())
    with pytest.raises(VaebenchError, match="unknown dataset 'cifar'; accepted: dsprites"):
        get_dataset("cifar")
    with pytest.raises(VaebenchError, match="pass --data-path"):
        get_dataset("mnist")
    with pytest.raises(VaebenchError, match="accepted: 64, 32"):
        get_dataset("dsprites", image_size=48)


# --- local files --------------------------------------------------------------

def _tiny_dsprites_npz(path, sizes=(3, 2, 2, 4, 4)):
    grid = np.stack(np.unravel_index(np.arange(np.prod(sizes)), sizes), axis=1)
    classes = np.concatenate([np.zeros((len(grid), 1), np.int64), grid], axis=1)
    images = (np.arange(len(grid))[:, None, None] % 2 == np.zeros((1, 8, 8))).astype(np.uint8)
    np.savez(path, imgs=images, latents_classes=classes, latents_values=classes.astype(float))
    return images


def test_official_dsprites_npz(tmp_path):
    images = _tiny_dsprites_npz(tmp_path / "d.npz")
    data = get_dataset("dsprites_npz", data_path=str(tmp_path / "d.npz"))
    assert data.factor_sizes == (3, 2, 2, 4, 4) and data.shape == (8, 8, 1)
    factors = data.sample_factors(10, np.random.default_rng(0))
    np.testing.assert_array_equal(data.render(factors)[..., 0], images[data.grid_index(factors)])


def test_dsprites_npz_errors(tmp_path):
    with pytest.raises(VaebenchError, match="not found"):
        get_dataset("dsprites_npz", data_path=str(tmp_path / "absent.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(VaebenchError, match="not a readable .npz"):
        get_dataset("dsprites_npz", data_path=str(tmp_path / "junk.npz"))
    np.savez(tmp_path / "keys.npz", imgs=np.zeros((2, 8, 8)))
    with pytest.raises(VaebenchError, match="lacks keys latents_classes"):
        get_dataset("dsprites_npz", data_path=str(tmp_path / "keys.npz"))
    _tiny_dsprites_npz(tmp_path / "d.npz")
    arrays = dict(np.load(tmp_path / "d.npz"))
    arrays["latents_classes"] = arrays["latents_classes"][::-1]
    np.savez(tmp_path / "shuffled.npz", **arrays)
    with pytest.raises(VaebenchError, match="not the row-major factor grid"):
        get_dataset("dsprites_npz", data_path=str(tmp_path / "shuffled.npz"))


def _mnist_arrays(n=6):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), "y_train": np.arange(n, dtype=np.uint8) % 10,
            "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.array([3, 4], np.uint8)}


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_from_keras_npz_and_idx(tmp_path, name):
    arrays = _mnist_arrays()
    np.savez(tmp_path / "m.npz", **arrays)
    idx = tmp_path / "idx"
    idx.mkdir()
    for key, filename in (("x_train", "train-images-idx3-ubyte.gz"), ("y_train", "train-labels-idx1-ubyte.gz"),
                          ("x_test", "t10k-images-idx3-ubyte.gz"), ("y_test", "t10k-labels-idx1-ubyte.gz")):
        _write_idx(idx / filename, arrays[key])
    for source in (tmp_path / "m.npz", idx):
        data = get_dataset(name, data_path=str(source))
        assert data.shape == (32, 32, 1) and data.num_classes == 10
        batch = data.sample(4, np.random.default_rng(0), split="test")
        assert set(batch.labels) <= {3, 4}
        assert batch.images[:, :2].max() == 0 and batch.images.max() <= 1.0  # zero padding around 28×28


def test_mnist_errors(tmp_path):
    idx = tmp_path / "idx"
    idx.mkdir()
    with pytest.raises(VaebenchError, match="train-images-idx3-ubyte.gz"):
        get_dataset("mnist", data_path=str(idx))
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x09\x03" + b"\x00" * 12))
    with pytest.raises(VaebenchError, match="bad IDX magic number"):
        get_dataset("mnist", data_path=str(idx))
    _write_idx(idx / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    raw = gzip.decompress((idx / "train-images-idx3-ubyte.gz").read_bytes())
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(VaebenchError, match="truncated"):
        get_dataset("mnist", data_path=str(idx))
    arrays = _mnist_arrays()
    arrays["x_train"] = arrays["x_train"][:, :20]
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(VaebenchError, match=r"expected train images \(N, 28, 28\)"):
        get_dataset("mnist", data_path=str(tmp_path / "m.npz"))
