"""Scoring a trained cell: each metric's compute function, attached to its spec by name, and ``score_cell``.

Each compute function takes a :class:`ScoringContext` and returns exactly the
score keys its spec (``vaebench.metrics.spec``) declares; a new metric is one
module with its pure function, one spec entry and one entry in ``COMPUTE``.
"""

from __future__ import annotations

import math
import os
import time
import zlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from vaebench.data.base import Dataset, NoRecord
from vaebench.errors import VaebenchError
from vaebench.metrics.beta_vae import beta_vae_score, pair_batches, pair_features
from vaebench.metrics.dci import dci
from vaebench.metrics.discrete import UnscorableInput
from vaebench.metrics.factor_vae import factor_vae_score, vote_batches
from vaebench.metrics.labels import classification_accuracy, label_predictability
from vaebench.metrics.likelihood import elbo_and_iwae, reconstruction
from vaebench.metrics.mig import mig
from vaebench.metrics.modularity import modularity_explicitness
from vaebench.metrics.sampling import CodeLookup, decode, encode, predict
from vaebench.metrics.sap import sap
from vaebench.metrics.spec import DEFAULT_SETTINGS, METRICS, MetricSettings, MetricSpec, metric_names
from vaebench.metrics.unsupervised import active_units, gaussian_total_correlation
from vaebench.models import model_card
from vaebench.models.likelihoods import Likelihood, likelihood_from_config
from vaebench.results.experiments import load_network
from vaebench.results.layout import DECODER, ENCODER, PARAMS_FILE, snapshot_dirs
from vaebench.results.records import Metrics, ModelCard, read_metrics, read_params, write_metrics

NO_FACTORS = "n/a: no ground-truth factors"
NO_LABELS = "n/a: no labels"
DETERMINISTIC = "n/a: deterministic encoder"
NO_CLASSIFIER = "n/a: no classifier branch"
NOT_TWO_VIEW = "n/a: not a two-view model"


def stream(seed: int, *names: str) -> np.random.Generator:
    """The random stream named by ``names`` (a cell, a metric, a purpose) under the scoring ``seed``."""
    return np.random.default_rng([seed, *(zlib.crc32(name.encode()) for name in names)])


@dataclass
class ScoringContext:
    """A trained cell's networks, its model card and a dataset, with the samples metrics share.

    The networks are Keras models, or any object with their ``predict_on_batch`` (a calibration row's
    representation, see ``vaebench.run.references``): scoring reads codes through that method alone.

    Every random draw comes from a stream named by the cell, and by the metric being
    computed (``rng``) or by the shared sample it makes (the held-out set, the train/test
    codes): no draw depends on which metrics ran before, so rescoring one metric, or
    resuming after a kill, gives the numbers of an uninterrupted run.
    """

    dataset: Dataset
    encoder: keras.Model
    decoder: keras.Model
    all_settings: MetricSettings
    card: ModelCard
    cell_name: str
    cell_dir: Path
    #: the metric being computed; ``score_cell`` sets it before each one
    metric: str = ""
    #: metric name -> the latents × factors matrix it kept (see ``keep_matrix``)
    matrices: dict = field(default_factory=dict)
    _samples: dict = field(default_factory=dict, repr=False)

    @property
    def settings(self) -> MetricSettings:
        """The settings the current metric may read: those its spec declares."""
        return self.all_settings.for_metric(self.metric)

    def network(self, name: str) -> keras.Model | None:
        """One of the cell's other stored networks (e.g. a classifier), or None if its model has no such network."""
        return load_network(self.cell_dir, name) if name in self.card.networks else None

    def _stream(self, *names: str) -> np.random.Generator:
        return stream(self.settings["seed"], self.cell_name, *names)

    def keep_matrix(self, values) -> None:
        """Keep the current metric's (latents, factors) matrix for metrics.json, labelled as its spec declares."""
        spec, values = METRICS[self.metric], np.asarray(values, dtype=float)
        self.matrices[self.metric] = {
            "label": spec.matrix, "rows": [f"z{i}" for i in range(values.shape[0])],
            "columns": list(self.dataset.factor_names), "values": np.round(values, 5).tolist()}

    def rng(self, purpose: str) -> np.random.Generator:
        """The current metric's own stream for ``purpose``."""
        return self._stream(self.metric, purpose)

    @property
    def gaussian(self) -> bool:
        return self.card.gaussian

    @cached_property
    def likelihood(self) -> Likelihood:
        """The decoder's likelihood, as the cell's card records it."""
        return likelihood_from_config(self.card.likelihood)

    def labels(self, labels: np.ndarray | None) -> np.ndarray | None:
        """The labels a network needs as input: ``labels`` for a model that reads them, else None."""
        return labels if self.card.reads_labels else None

    def encode(self, images: np.ndarray, labels: np.ndarray | None):
        return encode(self.encoder, images, self.labels(labels), self.dataset.num_classes)

    def decode(self, codes: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        return decode(self.decoder, codes, self.labels(labels), self.dataset.num_classes)

    @cached_property
    def lookup(self) -> CodeLookup:
        return CodeLookup(self.dataset, self.encoder, self.card.reads_labels)

    @cached_property
    def heldout(self):
        sample = self.dataset.sample(self.settings["heldout"], self._stream("heldout"), split="test")
        mean, logvar = self.encode(sample.images, sample.labels)
        return sample, mean, logvar

    @property
    def train_test(self):
        """(codes, factors) for training and for testing, drawn independently."""
        return self.samples("num_train", "num_test")

    def samples(self, *count_settings: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(codes, factors) pairs, one per named count setting, each drawn and rendered from its own stream."""
        for name in count_settings:
            if name not in self._samples:
                factors = self.dataset.sample_factors(self.settings[name], self._stream(name))
                self._samples[name] = (self.lookup(factors, self._stream(name, "render")), factors)
        return [self._samples[name] for name in count_settings]


def _reconstruction(ctx: ScoringContext) -> dict:
    sample, mean, _ = ctx.heldout
    scores = reconstruction(ctx.likelihood, sample.images, ctx.decode(mean, sample.labels))
    return {"recon_bce": scores["bce"], "recon_mse": scores["mse"]}


def _elbo(ctx: ScoringContext) -> dict:
    if not ctx.gaussian:
        return not_applicable("elbo", DETERMINISTIC)
    sample, mean, logvar = ctx.heldout
    k = ctx.settings["iwae_samples"]
    labels = None if sample.labels is None else np.repeat(sample.labels, k)
    scores = elbo_and_iwae(ctx.likelihood, sample.images, mean, logvar, lambda z: ctx.decode(z, labels), k, ctx.rng("iwae"))
    return {"elbo": scores["elbo"], "elbo_recon": scores["elbo_recon"], "elbo_kl": scores["elbo_kl"],
            "iwae_log_px": scores["iwae"]}


def _unsupervised(ctx: ScoringContext) -> dict:
    _, mean, _ = ctx.heldout
    return {"active_units": active_units(mean), "gaussian_tc": _or_not_applicable(gaussian_total_correlation, mean)}


def _label_probe(ctx: ScoringContext) -> dict:
    sample, mean, _ = ctx.heldout
    return {"label_from_z": label_predictability(mean, sample.labels, ctx.settings["seed"])}


def _classifier(ctx: ScoringContext) -> dict:
    classifier = ctx.network("classifier")
    if classifier is None:
        return not_applicable("classifier", NO_CLASSIFIER)
    sample, mean, _ = ctx.heldout
    return {"classifier_accuracy": classification_accuracy(predict(classifier, mean, 1024)[0], sample.labels)}


def _cross_reconstruction(ctx: ScoringContext) -> dict:
    encoder_b, decoder_b = ctx.network("encoder_b"), ctx.network("decoder_b")
    sample, mean_a, _ = ctx.heldout
    if encoder_b is None or decoder_b is None or sample.second_view is None:
        return not_applicable("cross_reconstruction", NOT_TWO_VIEW)
    mean_b, _ = encode(encoder_b, sample.second_view)
    return {"cross_recon_a_from_b": reconstruction(ctx.likelihood, sample.images, decode(ctx.decoder, mean_b))["bce"],
            "cross_recon_b_from_a": reconstruction(ctx.likelihood, sample.second_view, decode(decoder_b, mean_a))["bce"]}


def _mig(ctx: ScoringContext) -> dict:
    (codes, factors), = ctx.samples("num_train")
    scores = mig(codes, factors, ctx.settings["bins"])
    ctx.keep_matrix(scores["normalised_information"])
    return {"mig": scores["mig"]}


def _beta_vae(ctx: ScoringContext) -> dict:
    s, rng, render = ctx.settings, ctx.rng("factors"), ctx.rng("render")
    splits = []
    for points in (s["beta_vae_points_train"], s["beta_vae_points_eval"]):
        first, second, fixed = pair_batches(ctx.dataset.sample_factors, len(ctx.dataset.factor_sizes), points, s["batch_size"], rng)
        splits += [pair_features(ctx.lookup(first, render), ctx.lookup(second, render)), fixed]
    scores = beta_vae_score(*splits, seed=s["seed"])
    return {"beta_vae_train": scores["train_accuracy"], "beta_vae_eval": scores["eval_accuracy"]}


def _factor_vae(ctx: ScoringContext) -> dict:
    s, rng, render = ctx.settings, ctx.rng("factors"), ctx.rng("render")
    num_factors = len(ctx.dataset.factor_sizes)
    global_codes = ctx.lookup(ctx.dataset.sample_factors(s["factor_vae_variance_samples"], rng), render)
    splits = []
    for votes in (s["factor_vae_votes_train"], s["factor_vae_votes_eval"]):
        factors, fixed = vote_batches(ctx.dataset.sample_factors, num_factors, votes, s["batch_size"], rng)
        splits += [ctx.lookup(factors, render), fixed]
    scores = factor_vae_score(global_codes, *splits, num_factors=num_factors)
    return {"factor_vae_train": scores["train_accuracy"], "factor_vae_eval": scores["eval_accuracy"],
            "factor_vae_active": scores["num_active_dims"]}


def _dci(ctx: ScoringContext) -> dict:
    (train, train_f), (test, test_f) = ctx.samples("dci_num_train", "dci_num_test")
    # one boosted classifier is single-threaded: a thread per factor gives the same numbers sooner
    scores = dci(train, train_f, test, test_f, trees=ctx.settings["dci_trees"], seed=ctx.settings["seed"],
                 n_jobs=_cores())
    ctx.keep_matrix(scores.pop("importance"))
    return {f"dci_{key}": value for key, value in scores.items()}


def _cores() -> int:
    """The cores this process may use: its CPU affinity (Slurm), capped by OMP_NUM_THREADS (Ray sets it per task)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(threads)) if threads.isdigit() and int(threads) > 0 else cores


def _sap(ctx: ScoringContext) -> dict:
    (train, train_f), (test, test_f) = ctx.train_test
    return {"sap": sap(train, train_f, test, test_f)["sap_score"]}


def _modularity(ctx: ScoringContext) -> dict:
    (train, train_f), (test, test_f) = ctx.train_test
    scores = modularity_explicitness(train, train_f, test, test_f, ctx.settings["bins"], ctx.settings["seed"])
    return {"modularity": scores["modularity_score"], "explicitness_train": scores["explicitness_score_train"],
            "explicitness_test": scores["explicitness_score_test"]}


#: metric name (as in the spec) -> its compute function
COMPUTE: dict[str, Callable[[ScoringContext], dict]] = {
    "reconstruction": _reconstruction,
    "elbo": _elbo,
    "unsupervised": _unsupervised,
    "mig": _mig,
    "beta_vae": _beta_vae,
    "factor_vae": _factor_vae,
    "dci": _dci,
    "sap": _sap,
    "modularity": _modularity,
    "label_probe": _label_probe,
    "classifier": _classifier,
    "cross_reconstruction": _cross_reconstruction,
}


def not_applicable(metric: str, reason: str) -> dict:
    """Every score of ``metric`` as the explicit ``reason`` ("n/a: ...") it has no number."""
    return dict.fromkeys(METRICS[metric].keys, reason)


def _or_not_applicable(function, *args):
    """``function(*args)``, or "n/a: <why>" where its input cannot be scored."""
    try:
        return function(*args)
    except UnscorableInput as error:
        return f"n/a: {error}"


def _storable(value):
    """A score as metrics.json holds it: a finite number, or "n/a: ..." saying why there is none."""
    if isinstance(value, str) or math.isfinite(value):
        return value
    return f"n/a: not finite ({value})"


def _scores(metric: MetricSpec, context: ScoringContext) -> dict:
    """The metric's scores, each a finite number or an explicit "n/a: ...": one score never stops a grid."""
    if metric.needs == "factors" and not context.dataset.has_factors:
        return not_applicable(metric.name, NO_FACTORS)
    if metric.needs == "labels" and not context.dataset.num_classes:
        return not_applicable(metric.name, NO_LABELS)
    context.metric = metric.name
    try:
        scores = COMPUTE[metric.name](context)
    except (UnscorableInput, NoRecord) as error:
        return not_applicable(metric.name, f"n/a: {error}")
    if set(scores) != set(metric.keys):
        raise RuntimeError(f"metric {metric.name} computed {sorted(scores)}, but its spec declares {sorted(metric.keys)}")
    return {key: _storable(value) for key, value in scores.items()}


def _stored(cell_dir: Path) -> Metrics:
    """The folder's metrics.json to add scores to (an empty one when it has none), with a place for matrices."""
    record = read_metrics(cell_dir) or Metrics()
    return replace(record, matrices=record.matrices or {})


def score_networks(networks: dict, card: ModelCard, dataset: Dataset, settings: MetricSettings, metrics: list[str],
                   cell_name: str, cell_dir: Path) -> dict:
    """The scores of ``metrics`` for networks in memory (a cell while it trains, ``settings`` resolved), each a number
    or "n/a: why" exactly as :func:`score_cell` computes them: same functions, same named streams."""
    context = ScoringContext(dataset, networks[ENCODER], networks[DECODER], settings, card, cell_name, cell_dir)
    scores = {}
    for name in metrics:
        scores.update(_scores(METRICS[name], context))
    return scores


def pending_metrics(cell_dir: Path, metrics: list[str] | None = None, force: bool = False) -> list[str]:
    """The requested metrics (default: all) that ``cell_dir/metrics.json`` lacks; all of them with ``force``."""
    names = metric_names() if metrics is None else list(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise VaebenchError(f"unknown metric {unknown[0]!r}; accepted: {', '.join(METRICS)}")
    seconds = _stored(Path(cell_dir)).seconds
    return [name for name in names if force or name not in seconds]


def score_context(context: ScoringContext, metrics: list[str], rescored_on: dict | None = None) -> Metrics:
    """Compute ``metrics`` on the context's representation and merge them into its ``metrics.json``.

    Each metric is written as soon as it is computed, so an interrupted scoring resumes where it stopped: every
    score in the record is of one data. A rescoring on other data (``rescored_on``: its fingerprint) is the one
    exception: its metrics go into a fresh record naming that data, written once when all are computed, so a kill
    leaves the old record whole, never a mix of two data's scores.
    Metrics whose spec declares a ``matrix`` also keep their latents × factors matrix in the record's matrices
    (rows "z<i>", columns the factor names). Returns the metrics.json record.
    """
    fresh = rescored_on is not None
    record = Metrics(matrices={}, data=rescored_on) if fresh else _stored(context.cell_dir)
    for name in metrics:
        metric = METRICS[name]
        started = time.perf_counter()
        record.scores.update(_scores(metric, context))
        record.matrices.pop(name, None)
        if name in context.matrices:
            record.matrices[name] = context.matrices[name]
        record.settings[name] = context.all_settings.recorded(name)
        record.seconds[name] = round(time.perf_counter() - started, 3)
        if not fresh:
            write_metrics(context.cell_dir, record)
    if fresh:
        write_metrics(context.cell_dir, record)
    return record


def score_cell(cell_dir: Path, dataset: Dataset, settings: MetricSettings = DEFAULT_SETTINGS,
               metrics: list[str] | None = None, force: bool = False, rescored_on: dict | None = None) -> Metrics:
    """Compute the requested metrics (default: all) missing from ``cell_dir/metrics.json`` and merge them in; with
    ``rescored_on`` (the fingerprint of data other than the record's), every metric into a fresh record.

    What the cell's model is (Gaussian, reads labels, its networks) comes from the card in its
    params.json; see :func:`score_context`. Returns the metrics.json record.
    """
    cell_dir = Path(cell_dir)
    todo = pending_metrics(cell_dir, metrics, force or rescored_on is not None)
    if not todo:
        return _stored(cell_dir)
    return _score_weights(cell_dir, _trained(cell_dir), dataset, settings, todo, rescored_on)


def score_snapshots(cell_dir: Path, dataset: Dataset, settings: MetricSettings = DEFAULT_SETTINGS,
                    metrics: list[str] | None = None, force: bool = False,
                    rescored_on: dict | None = None) -> dict[int, Metrics]:
    """Score each snapshot of the cell (``snapshots/step<N>/``, see ``vaebench.checkpoint_plan``) as :func:`score_cell`
    scores the cell: the same metrics, settings and named streams (the cell's name), so a snapshot and the final model
    differ only in their weights. Returns step -> the snapshot's metrics.json record; resumable like score_cell.
    """
    cell_dir = Path(cell_dir)
    records = {}
    for step, folder in snapshot_dirs(cell_dir).items():
        todo = pending_metrics(folder, metrics, force or rescored_on is not None)
        records[step] = (_score_weights(folder, _trained(cell_dir), dataset, settings, todo, rescored_on) if todo
                         else _stored(folder))
    return records


def _trained(cell_dir: Path):
    params = read_params(cell_dir)
    if params is None:
        raise VaebenchError(f"{cell_dir} is not trained yet (no {PARAMS_FILE}); run `vaebench run grid` first")
    return params


def _score_weights(folder: Path, params, dataset: Dataset, settings: MetricSettings, todo: list[str],
                   rescored_on: dict | None = None) -> Metrics:
    """Score the networks stored in ``folder`` (a cell or one of its snapshots) as the cell ``params`` describes."""
    context = ScoringContext(dataset, load_network(folder, ENCODER), load_network(folder, DECODER), settings,
                             model_card(params), params.name, folder)
    return score_context(context, todo, rescored_on)
