"""Procedural dSprites: the dSprites factor grid rendered on the fly, never materialised.

Factors (row-major, last fastest, as in the official file): shape (square,
ellipse, heart), scale (6 values 0.5..1), orientation (40 values over
[0, 2π)), pos_x and pos_y (32 values each over [0, 1]); 737,280 images.

Each image is a pure function of its factor indices. One position step moves
the shape by exactly one pixel at 64×64, so an image is one of the 720
(shape, scale, orientation) sprites placed at an integer offset: the sprites
are rasterised once (pixel centres mapped into the shape's frame and tested
against its implicit inequality) and a batch is rendered by placing them.
"""

from __future__ import annotations

import numpy as np

from vaebench.data.base import FactorDataset

BASE_SIZE = 64
POSITIONS = 32
#: sprite side in pixels: positions span POSITIONS - 1 pixels, the sprite fills the rest
SPRITE = BASE_SIZE - (POSITIONS - 1)
#: half-size of a shape at scale 1, in pixels; the rotated square's half-diagonal (√2·h) stays inside the sprite
HALF_SIZE = 10.0


def rasterise_sprites(scales: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(3, len(scales), len(angles), SPRITE, SPRITE) bool masks, each shape centred in its sprite."""
    centres = np.arange(SPRITE) + 0.5 - SPRITE / 2
    dx, dy = np.meshgrid(centres, centres)  # x along columns, y down the rows
    size = HALF_SIZE * scales[:, None, None, None]
    cos, sin = np.cos(angles)[None, :, None, None], np.sin(angles)[None, :, None, None]
    u = (cos * dx + sin * dy) / size  # rotate by -θ, unit half-size
    v = (cos * dy - sin * dx) / size
    square = np.maximum(np.abs(u), np.abs(v)) <= 1.0
    ellipse = u**2 + (v / 0.5) ** 2 <= 1.0
    # The classic implicit heart (x²+y²-1)³ - x²y³ ≤ 0, y pointing up, centred and scaled to unit half-size.
    hx, hy = 1.15 * u, -1.15 * v + 0.12
    heart = (hx**2 + hy**2 - 1.0) ** 3 - hx**2 * hy**3 <= 0.0
    return np.stack([square, ellipse, heart])


class DSprites(FactorDataset):
    """Binary 64×64 shapes (or their 2×2 block average at 32×32), values in [0, 1]."""

    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "pos_x", "pos_y")
    categorical_factors = ("shape",)
    category_names = {"shape": ("square", "ellipse", "heart")}  # the order _shapes stacks them in
    cyclic_factors = ("orientation",)
    factor_sizes = (3, 6, 40, POSITIONS, POSITIONS)
    num_classes = 3
    channels = 1

    def __init__(self, image_size: int = BASE_SIZE):
        if image_size not in (BASE_SIZE, BASE_SIZE // 2):
            raise ValueError(f"dSprites image size {image_size} is not supported; accepted: 64, 32")
        self.image_size = image_size
        self.shape = (image_size, image_size, self.channels)
        self.factor_values = (
            np.arange(3, dtype=np.float64),
            np.linspace(0.5, 1.0, 6),
            np.linspace(0.0, 2 * np.pi, 40, endpoint=False),
            np.linspace(0.0, 1.0, POSITIONS),
            np.linspace(0.0, 1.0, POSITIONS),
        )
        self._sprites = rasterise_sprites(self.factor_values[1], self.factor_values[2])

    def labels_for(self, factors: np.ndarray) -> np.ndarray:
        return np.asarray(factors)[:, 0].astype(np.int64)

    def masks(self, factors: np.ndarray) -> np.ndarray:
        """(n, 64, 64) bool: which pixels each shape covers."""
        factors = np.asarray(factors)
        sprites = self._sprites[factors[:, 0], factors[:, 1], factors[:, 2]]
        offsets = np.arange(SPRITE)
        rows = (factors[:, 4, None] + offsets)[:, :, None]
        cols = (factors[:, 3, None] + offsets)[:, None, :]
        masks = np.zeros((len(factors), BASE_SIZE, BASE_SIZE), bool)
        masks[np.arange(len(factors))[:, None, None], rows, cols] = sprites
        return masks

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        masks = self.masks(factors).view(np.uint8)
        if self.image_size == BASE_SIZE:
            images = masks.astype(np.float32)
        else:  # the 2×2 block average, as byte sums (4× cheaper than a float mean)
            blocks = masks[:, ::2, ::2] + masks[:, 1::2, ::2] + masks[:, ::2, 1::2] + masks[:, 1::2, 1::2]
            images = blocks.astype(np.float32) * 0.25
        return self._style(images[..., None], rng)

    def _style(self, images: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return images


class ColorDSprites(DSprites):
    """Each shape gets a random RGB colour, every channel uniform in [0.5, 1]."""

    name = "color_dsprites"
    channels = 3
    deterministic = False

    def _style(self, images, rng):
        rng = rng if rng is not None else np.random.default_rng()
        colours = rng.uniform(0.5, 1.0, (len(images), 1, 1, 3)).astype(np.float32)
        return images * colours


class NoisyDSprites(DSprites):
    """A white shape over uniform [0, 1] noise per pixel and channel (sum clipped at 1)."""

    name = "noisy_dsprites"
    channels = 3
    deterministic = False

    def _style(self, images, rng):
        rng = rng if rng is not None else np.random.default_rng()
        noise = rng.uniform(0.0, 1.0, images.shape[:3] + (3,)).astype(np.float32)
        return np.minimum(images + noise, 1.0)
