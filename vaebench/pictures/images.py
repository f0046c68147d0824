"""Pictures of what a trained image or sequence model does, drawn once from its weights into the cell's ``pictures/`` folder.

Scoring draws them right after the scores (the weights are at hand there), and ``vaebench evaluate
--pictures`` draws those of cells scored without them, so the report is a view of the results: the
committed results keep these pictures, not the weights. Images are tiled into PNG sprites with numpy
and Pillow, at their native size with a 1-pixel gutter, so a page can show any tile or row of a sprite
and label it in HTML. Every random choice uses a fixed seed, so redrawing gives identical files.
What the folder holds, and PICTURES_FILE's keys: ``vaebench.pictures.spec``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vaebench.data.base import Dataset
from vaebench.models.probability import sigmoid
from vaebench.metrics.sampling import decode, encode
from vaebench.pictures.latents import latent_order, strength_name, traversal_values
from vaebench.pictures.spec import PICTURES_VERSION, PRIOR_SAMPLES, TRAVERSAL_STEPS
from vaebench.results.layout import LATENTS_FILE
from vaebench.results.records import ModelCard, ImagePictures, write_pictures_file

INTERPOLATION_STEPS = 10
TRAVERSAL_SAMPLES = 3
RECONSTRUCTIONS = 10
GUTTER = 1
SECOND_VIEW = "second-view.png"
#: the evenly spaced grey levels (0 and 255 among them) a picture's pixels are stored at: at 16 the tiles look the
#: same as at 256 (compared side by side at twice their size), and the published pictures take 43 % less space
#: (22.4 → 12.8 MiB on disk, results/ and site/ together); the scores never read the PNGs
LEVELS = 16


def sequence_plots(sequences: np.ndarray, height: int = 24) -> np.ndarray:
    """(..., T, C) sequences in [0, 1] → (..., height, T, 1) line plots of channel 0, white on black."""
    rows = np.round((1 - np.clip(sequences[..., 0], 0, 1)) * (height - 1)).astype(int)
    previous = np.concatenate([rows[..., :1], rows[..., :-1]], axis=-1)  # join each point to the one before
    low, high = np.minimum(rows, previous), np.maximum(rows, previous)
    pixel_rows = np.arange(height)[:, None]
    return ((pixel_rows >= low[..., None, :]) & (pixel_rows <= high[..., None, :])).astype(np.float32)[..., None]


def save_grid(path: Path, tiles: np.ndarray) -> tuple[int, int]:
    """Write (rows, cols, H, W, C) images in [0, 1] as one PNG with GUTTER-pixel grey gutters; return the tile's (H, W).

    Tile (r, c) starts at pixel (GUTTER + r·(H + GUTTER), GUTTER + c·(W + GUTTER)).
    Sequences, (rows, cols, T, C), are drawn as line plots.
    """
    if tiles.ndim == 4:
        tiles = sequence_plots(tiles)
    rows, cols, height, width, channels = tiles.shape
    step_y, step_x = height + GUTTER, width + GUTTER
    canvas = np.full((rows * step_y + GUTTER, cols * step_x + GUTTER, channels), 0.5, np.float32)
    for r in range(rows):
        for c in range(cols):
            canvas[GUTTER + r * step_y: GUTTER + r * step_y + height, GUTTER + c * step_x: GUTTER + c * step_x + width] = tiles[r, c]
    pixels = (np.clip(canvas, 0, 1) * 255).round().astype(np.uint8)
    write_png(path, pixels[..., 0] if channels == 1 else pixels)
    return height, width


def stored_levels(pixels: np.ndarray) -> np.ndarray:
    """8-bit pixels rounded to the nearest of LEVELS evenly spaced values; applied twice, the same as once."""
    step = 255 / (LEVELS - 1)
    return (np.round(pixels / step) * step).round().astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> None:
    """8-bit (H, W) grey or (H, W, C) pixels as a PNG at LEVELS levels: the one place a picture's bytes are encoded."""
    Image.fromarray(stored_levels(pixels)).save(path, optimize=True)


class CellPictures:
    """Encodes a fixed batch once and draws every picture of one cell's page from it."""

    def __init__(self, encoder, decoder, dataset: Dataset, card: ModelCard):
        self.encoder, self.decoder, self.dataset = encoder, decoder, dataset
        self.gaussian, self.reads_labels = card.gaussian, card.reads_labels
        self.batch = dataset.sample(256, np.random.default_rng(0), split="test")
        self.mean, self.logvar = self._encode(self.batch.images, self.batch.labels)
        self.order, self.strength, self.informative = latent_order(self.mean, self.logvar)
        self.values = traversal_values(self.mean, self.gaussian)  # (steps, L), shared by every traversal

    def _encode(self, images: np.ndarray, labels) -> tuple:
        return encode(self.encoder, images, labels if self.reads_labels else None, self.dataset.num_classes)

    def _decode(self, codes: np.ndarray, labels=None) -> np.ndarray:
        labels = labels if self.reads_labels else None
        return sigmoid(decode(self.decoder, codes.astype(np.float32), labels, self.dataset.num_classes))

    def _labels(self, indices, repeat=1):
        return None if self.batch.labels is None else np.repeat(self.batch.labels[indices], repeat)

    def reconstructions(self, path: Path) -> tuple[int, int]:
        indices = np.arange(RECONSTRUCTIONS)
        outputs = self._decode(self.mean[indices], self._labels(indices))
        return save_grid(path, np.stack([self.batch.images[indices], outputs]))

    def second_views(self, path: Path, decoder_b) -> list[str]:
        """The reconstructed inputs' second view and, with the model's second decoder (``decoder_b``), that view decoded
        from the first view's code; returns the rows' captions."""
        indices = np.arange(RECONSTRUCTIONS)
        rows, captions = [self.batch.second_view[indices]], ["second view"]
        if decoder_b is not None:
            rows.append(sigmoid(decode(decoder_b, self.mean[indices].astype(np.float32), None, 0)))
            captions.append("second view decoded from the first view's code")
        save_grid(path, np.stack(rows))
        return captions

    def traversal(self, path: Path, sample: int) -> None:
        """Row r: the code of input ``sample`` with latent order[r] set to each traversal value in turn."""
        latents = len(self.order)
        codes = np.repeat(self.mean[sample:sample + 1], latents * TRAVERSAL_STEPS, axis=0)
        for row, latent in enumerate(self.order):
            codes[row * TRAVERSAL_STEPS:(row + 1) * TRAVERSAL_STEPS, latent] = self.values[:, latent]
        decoded = self._decode(codes, self._labels([sample], latents * TRAVERSAL_STEPS))
        save_grid(path, decoded.reshape((latents, TRAVERSAL_STEPS) + decoded.shape[1:]))

    def prior_samples(self, path: Path) -> str:
        """Decodings of codes drawn from the prior (VAEs) or from a Gaussian fitted to the codes (autoencoders); returns the caption."""
        rng = np.random.default_rng(3)
        count = int(np.prod(PRIOR_SAMPLES))
        if self.gaussian:
            codes, caption = rng.standard_normal((count, self.mean.shape[1])), "codes drawn from the prior N(0, I)"
        else:
            codes = rng.multivariate_normal(self.mean.mean(axis=0), np.cov(self.mean, rowvar=False), count)
            caption = "codes drawn from a Gaussian fitted to the codes of 256 held-out inputs (an autoencoder has no prior)"
        labels = None if self.batch.labels is None else self.batch.labels[rng.integers(0, len(self.batch.labels), count)]
        decoded = self._decode(codes, labels)
        save_grid(path, decoded.reshape(PRIOR_SAMPLES + decoded.shape[1:]))
        return caption

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


def draw_cell_pictures(encoder, decoder, card: ModelCard, dataset: Dataset, out_dir: Path, arithmetic_factor: str,
                       decoder_b=None) -> None:
    """Every picture of a cell's page into ``out_dir``: the sprites, the latent table, and PICTURES_FILE (``vaebench.pictures.spec``).

    ``card``: the cell's model card (whether it is Gaussian and reads labels); ``decoder_b``: a two-view model's
    decoder of the second view, or None.
    """
    out_dir = Path(out_dir)
    pictures = CellPictures(encoder, decoder, dataset, card)
    height, width = pictures.reconstructions(out_dir / "reconstructions.png")
    second_view = SECOND_VIEW if pictures.batch.second_view is not None else None
    second_view_rows = pictures.second_views(out_dir / second_view, decoder_b) if second_view else []
    traversals = [f"traversal-{sample}.png" for sample in range(TRAVERSAL_SAMPLES)]
    for sample, name in enumerate(traversals):
        pictures.traversal(out_dir / name, sample)
    pictures.interpolation(out_dir / "interpolation.png")
    arithmetic = pictures.arithmetic(out_dir / "arithmetic.png", arithmetic_factor)
    prior_caption = pictures.prior_samples(out_dir / "prior.png")
    table = pictures.latent_table()
    if table is not None:
        table.to_csv(out_dir / LATENTS_FILE, index=False)
    write_pictures_file(out_dir, ImagePictures(
        version=PICTURES_VERSION, kind=card.data_kind, gaussian=pictures.gaussian, order=[int(i) for i in pictures.order],
        strength=[round(float(v), 6) for v in pictures.strength], strength_name=strength_name(pictures.gaussian),
        informative=[bool(v) for v in pictures.informative],
        factors=list(dataset.factor_names), categorical_factors=list(dataset.categorical_factors),
        category_names={name: list(values) for name, values in dataset.category_names.items()},
        cyclic_factors=list(dataset.cyclic_factors), tile={"height": height, "width": width, "gutter": GUTTER},
        reconstructions="reconstructions.png", second_view=second_view,
        second_view_rows=second_view_rows or None, traversals=traversals, values=np.round(pictures.values, 4).tolist(),
        interpolation="interpolation.png", arithmetic="arithmetic.png" if arithmetic else None,
        prior="prior.png", prior_caption=prior_caption))
