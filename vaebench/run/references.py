"""Calibration rows: what the grid's scores are for representations that learned nothing, scored like its cells.

A score means little alone: whether MIG 0.17 is high depends on what a code with no learning gets from the
same estimator at the same sample counts. For every dataset, latent size, family and seed of a grid, the
rows are scored by the cells' own code (``vaebench.metrics.scoring.score_context``: the same estimators,
streams, sample counts and code lookup), each from a representation handed to scoring in place of an
encoder network:

- ``mean_image``: every held-out observation decoded to the training set's mean image (Bernoulli per
  pixel, add-one smoothed so that a pixel never lit in training costs a finite amount): the reconstruction
  NLL any useful model beats by far. One row per dataset whose likelihood is Bernoulli (not tables).
- ``untrained``: the plain VAE's networks at the weights its cell of that family, latent size and seed
  starts training from: every score.
- ``pca``: PCA of the observations to the latent size, fitted on training observations: every factor score.
- ``random``: each observation's code drawn from N(0, I) by a stream seeded by the row and the observation
  itself, so it carries nothing about the factors while the same observation keeps its code (as for any
  encoder): every factor score, i.e. each estimator's bias at these sample counts.
- ``chance``: the chance level of the scores that name the fixed factor (``chance_level`` of the spec).

The mean image and PCA are fitted on ``num_train`` training observations. Rows already stored are not
computed again (a row's missing metrics are, as for a cell).
"""

from __future__ import annotations

import contextlib
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vaebench.data import dataset_kind
from vaebench.data.base import Dataset
from vaebench.grid import Cell
from vaebench.interruption import Interrupted, stop_if_requested
from vaebench.kinds import DataKind
from vaebench.metrics.spec import DEFAULT_SETTINGS, METRICS, SCORES, MetricSettings, chance_level, metric_names
from vaebench.models import get_model_class
from vaebench.models.likelihoods import BERNOULLI, likelihood_for
from vaebench.results.layout import REFERENCES_DIR, reference_name
from vaebench.results.records import Metrics, ModelCard, read_metrics, write_metrics
from vaebench.run.plan import Plan, dataset_for
from vaebench.run.shards import shard_cells

#: the model whose networks the untrained rows use
PLAIN_MODEL = "vae"
#: the metrics each kind of row is scored with
FACTOR_METRICS = tuple(name for name, metric in METRICS.items() if metric.needs == "factors")
ROW_METRICS = {"mean_image": ("reconstruction",), "untrained": tuple(metric_names()), "pca": FACTOR_METRICS,
               "random": FACTOR_METRICS}
#: the card of a representation that is no model: deterministic, reads no labels, stores no networks
NO_MODEL_CARD = ModelCard(model="none", data_kind=DataKind.IMAGES, reads_labels=False, gaussian=False, networks=(),
                          hparams={})


@dataclass(frozen=True)
class Row:
    """One calibration row: its kind and the plain-VAE cell whose dataset, family, latent size and seed it stands for."""

    kind: str
    cell: Cell

    @property
    def name(self) -> str:
        return reference_name(self.cell.name.split("/")[0], self.kind, self.cell.family, self.cell.latent_dim,
                              self.cell.seed)


class Representation:
    """A function from observations (or codes) to codes (or decoder outputs), scored in place of a network.

    Scoring reads a network only through ``predict_on_batch`` (``vaebench.metrics.sampling.predict``).
    """

    def __init__(self, function):
        self._function = function

    def predict_on_batch(self, batch):
        return self._function(np.asarray(batch))


def reference_rows(cells: tuple[Cell, ...], data_path=None) -> list[Row]:
    """The calibration rows of a grid's cells, sorted by name (several cells share a row)."""
    plain = get_model_class(PLAIN_MODEL)
    rows: dict[str, Row] = {}
    for cell in cells:
        dataset = dataset_for(cell, data_path)
        base = replace(cell, model=PLAIN_MODEL, hparams=tuple(sorted(plain.hparams.items())))
        kinds = ["mean_image"] if likelihood_for(dataset.columns) is BERNOULLI else []
        if dataset.has_factors:
            kinds += ["chance", "pca", "random"]
        if cell.family in plain.families_for(dataset_kind(cell.dataset)):
            kinds.append("untrained")
        for kind in kinds:
            rows.setdefault(Row(kind, base).name, Row(kind, base))
    return [rows[name] for name in sorted(rows)]


def _training_observations(row: Row, dataset: Dataset, settings: MetricSettings) -> np.ndarray:
    from vaebench.metrics.scoring import stream

    images = dataset.sample(settings["num_train"], stream(settings["seed"], row.name, "fit"), split="train").images
    return images.reshape(len(images), -1).astype(np.float64)


def _mean_image(row: Row, dataset: Dataset, settings: MetricSettings):
    observations = _training_observations(row, dataset, settings)
    probability = (observations.sum(axis=0) + 1) / (len(observations) + 2)
    logits = np.log(probability / (1 - probability)).astype(np.float32).reshape(dataset.shape)
    encoder = Representation(lambda batch: np.zeros((len(batch), 1), np.float32))
    decoder = Representation(lambda codes: np.broadcast_to(logits, (len(codes), *logits.shape)))
    return encoder, decoder, NO_MODEL_CARD


def _untrained(row: Row, dataset: Dataset, settings: MetricSettings):
    from vaebench.run.train import build_model

    model = build_model(row.cell, dataset)
    return model.encoder, model.decoder, get_model_class(PLAIN_MODEL).card(PLAIN_MODEL, {}, model.likelihood)


def _pca(row: Row, dataset: Dataset, settings: MetricSettings):
    from sklearn.decomposition import PCA

    observations = _training_observations(row, dataset, settings)
    pca = PCA(min(row.cell.latent_dim, *observations.shape), random_state=settings["seed"]).fit(observations)
    encoder = Representation(lambda batch: pca.transform(batch.reshape(len(batch), -1)).astype(np.float32))
    return encoder, None, NO_MODEL_CARD


def _random(row: Row, dataset: Dataset, settings: MetricSettings):
    key = [settings["seed"], zlib.crc32(row.name.encode())]

    def codes(batch: np.ndarray) -> np.ndarray:
        return np.stack([np.random.default_rng([*key, zlib.crc32(observation.tobytes())]).standard_normal(row.cell.latent_dim)
                         for observation in np.ascontiguousarray(batch)]).astype(np.float32)

    return Representation(codes), None, NO_MODEL_CARD


#: kind -> (row, dataset, settings) -> (encoder, decoder, card) to score
REPRESENTATIONS = {"mean_image": _mean_image, "untrained": _untrained, "pca": _pca, "random": _random}


def score_row(row: Row, dataset: Dataset, results_dir: Path, settings: MetricSettings = DEFAULT_SETTINGS) -> bool:
    """Score the row's missing metrics on ``dataset`` (its cell's) into ``results_dir/<row.name>/metrics.json``;
    False when none was missing."""
    from vaebench.metrics.scoring import ScoringContext, pending_metrics, score_context

    row_dir = Path(results_dir) / row.name
    if row.kind == "chance":
        if read_metrics(row_dir) is not None:
            return False
        levels = {key: chance_level(key, len(dataset.factor_sizes)) for key in SCORES}
        write_metrics(row_dir, Metrics(scores={key: level for key, level in levels.items() if level is not None}))
        return True
    todo = pending_metrics(row_dir, list(ROW_METRICS[row.kind]))
    if not todo:
        return False
    encoder, decoder, card = REPRESENTATIONS[row.kind](row, dataset, settings)
    score_context(ScoringContext(dataset, encoder, decoder, settings, card, row.name, row_dir), todo)
    return True


def compute_references(plan: Plan, results_dir: Path, console=None) -> int:
    """Score every calibration row of the plan's grid (of its shard ``(k, n)``: a round robin over the rows sorted by
    name) that is not stored yet; returns how many were scored."""
    rows = reference_rows(plan.grid, plan.data_source)
    if plan.shard is not None:
        rows = shard_cells(rows, *plan.shard)
    started, scored = time.perf_counter(), 0
    with console.status("calibration rows") if console is not None else contextlib.nullcontext() as status:
        for index, row in enumerate(rows, 1):
            try:
                stop_if_requested()  # Ctrl-C: between rows, each stored whole
            except Interrupted:
                raise Interrupted(f"every cell is finished and {scored} calibration rows were scored before Ctrl-C; "
                                  "run the same command again to score the rest") from None
            if status is not None:
                status.update(f"calibration row {index}/{len(rows)} {row.name}")
            scored += score_row(row, dataset_for(row.cell, plan.data_source), results_dir, plan.metric_settings)
    if console is not None:
        console.print(f"calibration rows: {scored} scored, {len(rows) - scored} already stored, "
                      f"in {time.perf_counter() - started:.1f} s → {Path(results_dir) / REFERENCES_DIR}")
    return scored
