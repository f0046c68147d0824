"""Pictures of what a trained model does: reconstructions, traversals, interpolations, latent arithmetic.

Images are tiled into PNG grids with numpy and Pillow; every random choice uses
a fixed seed, so rebuilding gives identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vaebench.data.base import Dataset
from vaebench.metrics.likelihood import sigmoid
from vaebench.metrics.sampling import decode, encode

TRAVERSAL_STEPS = 9
INTERPOLATION_STEPS = 10
TRAVERSAL_SAMPLES = 3
#: a pictures dir: these PNGs, LATENTS_FILE (when the dataset has factors) and PICTURES_FILE describing them
PICTURES_FILE = "pictures.json"
LATENTS_FILE = "latents.csv"


def sequence_plots(sequences: np.ndarray, height: int = 24) -> np.ndarray:
    """(..., T, C) sequences in [0, 1] → (..., height, T, 1) line plots of channel 0, white on black."""
    rows = np.round((1 - np.clip(sequences[..., 0], 0, 1)) * (height - 1)).astype(int)
    previous = np.concatenate([rows[..., :1], rows[..., :-1]], axis=-1)  # join each point to the one before
    low, high = np.minimum(rows, previous), np.maximum(rows, previous)
    pixel_rows = np.arange(height)[:, None]
    return ((pixel_rows >= low[..., None, :]) & (pixel_rows <= high[..., None, :])).astype(np.float32)[..., None]


def save_grid(path: Path, tiles: np.ndarray, upscale: int = 2) -> None:
    """Write (rows, cols, H, W, C) images in [0, 1] as one PNG with 1-pixel grey gutters.

    Sequences, (rows, cols, T, C), are drawn as line plots.
    """
    if tiles.ndim == 4:
        tiles = sequence_plots(tiles)
    rows, cols, height, width, channels = tiles.shape
    tiles = np.repeat(np.repeat(tiles, upscale, axis=2), upscale, axis=3)
    height, width = height * upscale, width * upscale
    canvas = np.full((rows * (height + 1) + 1, cols * (width + 1) + 1, channels), 0.5, np.float32)
    for r in range(rows):
        for c in range(cols):
            canvas[1 + r * (height + 1): 1 + r * (height + 1) + height, 1 + c * (width + 1): 1 + c * (width + 1) + width] = tiles[r, c]
    pixels = (np.clip(canvas, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(path, optimize=True)


def latent_order(mean: np.ndarray, logvar: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Latents sorted by informativeness: mean KL per dimension (VAEs) or variance of the codes (autoencoders)."""
    if logvar is None:
        strength = mean.var(axis=0)
    else:
        strength = (0.5 * (np.exp(logvar) + mean**2 - 1 - logvar)).mean(axis=0)
    return np.argsort(-strength, kind="stable"), strength


class CellPictures:
    """Encodes a fixed batch once and draws every picture of one cell's page from it."""

    def __init__(self, encoder, decoder, dataset: Dataset, card: dict):
        self.encoder, self.decoder, self.dataset = encoder, decoder, dataset
        self.gaussian, self.reads_labels = card["gaussian"], card["reads_labels"]
        self.batch = dataset.sample(256, np.random.default_rng(0), split="test")
        self.mean, self.logvar = self._encode(self.batch.images, self.batch.labels)
        self.order, self.strength = latent_order(self.mean, self.logvar)

    def _encode(self, images: np.ndarray, labels) -> tuple:
        return encode(self.encoder, images, labels if self.reads_labels else None, self.dataset.num_classes)

    def _decode(self, codes: np.ndarray, labels=None) -> np.ndarray:
        labels = labels if self.reads_labels else None
        return sigmoid(decode(self.decoder, codes.astype(np.float32), labels, self.dataset.num_classes))

    def _labels(self, indices, repeat=1):
        return None if self.batch.labels is None else np.repeat(self.batch.labels[indices], repeat)

    def reconstructions(self, path: Path, count: int = 10) -> None:
        indices = np.arange(count)
        outputs = self._decode(self.mean[indices], self._labels(indices))
        save_grid(path, np.stack([self.batch.images[indices], outputs]))

    def traversal_values(self) -> np.ndarray:
        """(steps, L) latent values: −2..2 in prior units for VAEs, ±2 standard deviations around the mean for autoencoders."""
        steps = np.linspace(-2.0, 2.0, TRAVERSAL_STEPS)[:, None]
        if self.gaussian:
            return np.repeat(steps, self.mean.shape[1], axis=1)
        return self.mean.mean(axis=0) + steps * self.mean.std(axis=0)

    def traversal(self, path: Path, sample: int) -> None:
        values = self.traversal_values()
        rows = []
        for latent in self.order:
            codes = np.repeat(self.mean[sample:sample + 1], TRAVERSAL_STEPS, axis=0)
            codes[:, latent] = values[:, latent]
            rows.append(self._decode(codes, self._labels([sample], TRAVERSAL_STEPS)))
        save_grid(path, np.stack(rows))

    def interpolation(self, path: Path, start: int = 0, end: int = 1) -> None:
        weights = np.linspace(0.0, 1.0, INTERPOLATION_STEPS)[:, None]
        codes = (1 - weights) * self.mean[start] + weights * self.mean[end]
        labels = None if self.batch.labels is None else np.where(weights[:, 0] < 0.5, self.batch.labels[start], self.batch.labels[end])
        row = self._decode(codes, labels)
        ends = np.zeros_like(row)
        ends[0], ends[-1] = self.batch.images[start], self.batch.images[end]
        save_grid(path, np.stack([ends, row]))

    def arithmetic(self, path: Path, factor: str, count: int = 6) -> bool:
        """Mean code at the factor's largest value minus at its smallest, added to small examples.

        Rows: small inputs, their reconstructions, reconstructions after adding the
        vector, and the same inputs rendered with the factor at its largest value.
        Returns False where the dataset has no such factor.
        """
        if factor not in self.dataset.factor_names:
            return False
        j = self.dataset.factor_names.index(factor)
        rng = np.random.default_rng(1)
        factors = self.dataset.sample_factors(512, rng)
        small, large = factors.copy(), factors.copy()
        small[:, j], large[:, j] = 0, self.dataset.factor_sizes[j] - 1

        def codes(f):
            return self._encode(self.dataset.render(f, rng), self.dataset.labels_for(f))[0]

        vector = codes(large).mean(axis=0) - codes(small).mean(axis=0)
        examples = small[:count]
        labels = self.dataset.labels_for(examples)
        inputs, targets = self.dataset.render(examples, rng), self.dataset.render(large[:count], rng)
        base = codes(examples)
        save_grid(path, np.stack([inputs, self._decode(base, labels), self._decode(base + vector, labels), targets]))
        return True

    def latent_table(self, count: int = 1000, latents: int = 4):
        """Means of the most informative latents for ``count`` samples with their factor values (for the scatter matrix)."""
        import pandas as pd

        if not self.dataset.has_factors:
            return None
        rng = np.random.default_rng(2)
        factors = self.dataset.sample_factors(count, rng)
        images = self.dataset.render(factors, rng)
        mean, _ = self._encode(images, self.dataset.labels_for(factors))
        chosen = self.order[: min(latents, mean.shape[1])]
        frame = pd.DataFrame({f"z{i}": mean[:, i].round(4) for i in chosen})
        for j, name in enumerate(self.dataset.factor_names):
            frame[name] = factors[:, j]
        return frame


def draw_cell_pictures(encoder, decoder, card: dict, dataset: Dataset, arithmetic_factor: str, out_dir: Path) -> None:
    """Every picture of a cell's page into ``out_dir``: PNGs, the latent table, and PICTURES_FILE.

    ``card``: the cell's model card (whether it is Gaussian and reads labels).

    PICTURES_FILE: {"gaussian", "order" (latents, most informative first),
    "strength" (per latent), "traversals" (PNG names), "arithmetic" (PNG name or null)}.
    """
    out_dir = Path(out_dir)
    pictures = CellPictures(encoder, decoder, dataset, card)
    pictures.reconstructions(out_dir / "reconstructions.png")
    traversals = [f"traversal-{sample}.png" for sample in range(TRAVERSAL_SAMPLES)]
    for sample, name in enumerate(traversals):
        pictures.traversal(out_dir / name, sample)
    pictures.interpolation(out_dir / "interpolation.png")
    arithmetic = pictures.arithmetic(out_dir / "arithmetic.png", arithmetic_factor)
    table = pictures.latent_table()
    if table is not None:
        table.to_csv(out_dir / LATENTS_FILE, index=False)
    meta = {"gaussian": pictures.gaussian, "order": [int(i) for i in pictures.order],
            "strength": [round(float(v), 6) for v in pictures.strength], "traversals": traversals,
            "arithmetic": "arithmetic.png" if arithmetic else None}
    (out_dir / PICTURES_FILE).write_text(json.dumps(meta, indent=1) + "\n")
