"""Scoring a trained cell: the metric registry and ``score_cell``, which writes ``metrics.json``.

Each registry entry is a function of a :class:`ScoringContext` returning flat
scores; a new metric is one module with its pure function plus one entry here.
Defaults are the published standard settings; presets may lower the sample
counts, and ``metrics.json`` records the settings used.
"""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from vaebench import store
from vaebench.data.base import Dataset
from vaebench.errors import VaebenchError
from vaebench.metrics.beta_vae import beta_vae_score, pair_batches, pair_features
from vaebench.metrics.dci import dci
from vaebench.metrics.factor_vae import factor_vae_score, vote_batches
from vaebench.metrics.labels import classification_accuracy, label_predictability
from vaebench.metrics.likelihood import elbo_and_iwae, reconstruction
from vaebench.metrics.mig import mig
from vaebench.metrics.modularity import modularity_explicitness
from vaebench.metrics.sampling import CodeLookup, decode, encode, predict
from vaebench.metrics.sap import sap
from vaebench.metrics.unsupervised import active_units, gaussian_total_correlation

#: the published standard settings (see shared docs/metrics.md)
DEFAULT_SETTINGS = {
    "num_train": 10_000,               # MIG, DCI, SAP, modularity: training samples
    "num_test": 5_000,                 # SAP, explicitness: test samples
    "dci_num_train": 10_000,           # DCI fits 100 boosted trees per factor class: its own counts
    "dci_num_test": 5_000,
    "dci_trees": 100,                  # boosting rounds per factor (scikit-learn's default, the standard)
    "bins": 20,                        # histogram discretiser
    "batch_size": 64,                  # β-VAE pairs per point, FactorVAE batch per vote
    "beta_vae_points_train": 10_000,
    "beta_vae_points_eval": 5_000,
    "factor_vae_variance_samples": 10_000,
    "factor_vae_votes_train": 10_000,
    "factor_vae_votes_eval": 5_000,
    "heldout": 5_000,                  # held-out observations for reconstruction, ELBO, IWAE
    "iwae_samples": 100,               # K of the IWAE bound
    "seed": 0,
}

NO_FACTORS = "n/a: no ground-truth factors"
NO_LABELS = "n/a: no labels"
DETERMINISTIC = "n/a: deterministic encoder"
NO_CLASSIFIER = "n/a: no classifier branch"
NOT_TWO_VIEW = "n/a: not a two-view model"


@dataclass
class ScoringContext:
    """A trained encoder/decoder and a dataset, with the samples metrics share."""

    dataset: Dataset
    encoder: keras.Model
    decoder: keras.Model
    settings: dict
    #: where the cell's other networks (``<name>.keras``) are, if any
    cell_dir: Path | None = None

    def network(self, name: str) -> keras.Model | None:
        """A stored sub-network beside the encoder and decoder (e.g. a classifier), or None."""
        filename = f"{name}.keras"
        present = self.cell_dir is not None and (self.cell_dir / filename).is_file()
        return store.load_network(self.cell_dir, filename) if present else None

    def rng(self, purpose: str) -> np.random.Generator:
        """An independent, reproducible random stream per purpose."""
        return np.random.default_rng([self.settings["seed"], zlib.crc32(purpose.encode())])

    @property
    def gaussian(self) -> bool:
        return len(self.encoder.outputs) > 1

    @cached_property
    def lookup(self) -> CodeLookup:
        return CodeLookup(self.dataset, self.encoder, self.rng("render"))

    @cached_property
    def heldout(self):
        sample = self.dataset.sample(self.settings["heldout"], self.rng("heldout"), split="test")
        mean, logvar = encode(self.encoder, sample.images, sample.labels, self.dataset.num_classes)
        return sample, mean, logvar

    @cached_property
    def train_test(self):
        """(codes, factors) for training and for testing, drawn independently."""
        return self.samples("num_train", "num_test")

    def samples(self, *count_settings: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(codes, factors) pairs, one per named count setting, each from its own random stream."""
        factors = [self.dataset.sample_factors(self.settings[name], self.rng(name)) for name in count_settings]
        return [(self.lookup(f), f) for f in factors]


def _reconstruction(ctx: ScoringContext) -> dict:
    sample, mean, _ = ctx.heldout
    scores = reconstruction(sample.images, decode(ctx.decoder, mean, sample.labels, ctx.dataset.num_classes))
    return {"recon_bce": scores["bce"], "recon_mse": scores["mse"]}


def _elbo(ctx: ScoringContext) -> dict:
    if not ctx.gaussian:
        return dict.fromkeys(("elbo", "elbo_recon", "elbo_kl", "iwae_log_px"), DETERMINISTIC)
    sample, mean, logvar = ctx.heldout
    k = ctx.settings["iwae_samples"]
    labels = None if sample.labels is None else np.repeat(sample.labels, k)
    scores = elbo_and_iwae(sample.images, mean, logvar,
                           lambda z: decode(ctx.decoder, z, labels, ctx.dataset.num_classes), k, ctx.rng("iwae"))
    return {"elbo": scores["elbo"], "elbo_recon": scores["elbo_recon"], "elbo_kl": scores["elbo_kl"],
            "iwae_log_px": scores["iwae"]}


def _unsupervised(ctx: ScoringContext) -> dict:
    _, mean, _ = ctx.heldout
    return {"active_units": active_units(mean), "gaussian_tc": gaussian_total_correlation(mean)}


def _label_probe(ctx: ScoringContext) -> dict:
    sample, mean, _ = ctx.heldout
    return {"label_from_z": label_predictability(mean, sample.labels, ctx.settings["seed"])}


def _classifier(ctx: ScoringContext) -> dict:
    classifier = ctx.network("classifier")
    if classifier is None:
        return {"classifier_accuracy": NO_CLASSIFIER}
    sample, mean, _ = ctx.heldout
    return {"classifier_accuracy": classification_accuracy(predict(classifier, mean, 1024)[0], sample.labels)}


def _cross_reconstruction(ctx: ScoringContext) -> dict:
    encoder_b, decoder_b = ctx.network("encoder_b"), ctx.network("decoder_b")
    sample, mean_a, _ = ctx.heldout
    if encoder_b is None or decoder_b is None or sample.second_view is None:
        return dict.fromkeys(("cross_recon_a_from_b", "cross_recon_b_from_a"), NOT_TWO_VIEW)
    mean_b, _ = encode(encoder_b, sample.second_view)
    return {"cross_recon_a_from_b": reconstruction(sample.images, decode(ctx.decoder, mean_b))["bce"],
            "cross_recon_b_from_a": reconstruction(sample.second_view, decode(decoder_b, mean_a))["bce"]}


def _mig(ctx: ScoringContext) -> dict:
    (codes, factors), _ = ctx.train_test
    return {"mig": mig(codes, factors, ctx.settings["bins"])["mig"]}


def _beta_vae(ctx: ScoringContext) -> dict:
    s, rng = ctx.settings, ctx.rng("beta_vae")
    splits = []
    for points in (s["beta_vae_points_train"], s["beta_vae_points_eval"]):
        first, second, fixed = pair_batches(ctx.dataset.sample_factors, len(ctx.dataset.factor_sizes), points, s["batch_size"], rng)
        splits += [pair_features(ctx.lookup(first), ctx.lookup(second)), fixed]
    scores = beta_vae_score(*splits, seed=s["seed"])
    return {"beta_vae_train": scores["train_accuracy"], "beta_vae_eval": scores["eval_accuracy"]}


def _factor_vae(ctx: ScoringContext) -> dict:
    s, rng = ctx.settings, ctx.rng("factor_vae")
    num_factors = len(ctx.dataset.factor_sizes)
    global_codes = ctx.lookup(ctx.dataset.sample_factors(s["factor_vae_variance_samples"], rng))
    splits = []
    for votes in (s["factor_vae_votes_train"], s["factor_vae_votes_eval"]):
        factors, fixed = vote_batches(ctx.dataset.sample_factors, num_factors, votes, s["batch_size"], rng)
        splits += [ctx.lookup(factors), fixed]
    scores = factor_vae_score(global_codes, *splits, num_factors=num_factors)
    return {"factor_vae_train": scores["train_accuracy"], "factor_vae_eval": scores["eval_accuracy"],
            "factor_vae_active": scores["num_active_dims"]}


def _dci(ctx: ScoringContext) -> dict:
    (train, train_f), (test, test_f) = ctx.samples("dci_num_train", "dci_num_test")
    # one boosted classifier is single-threaded: a thread per factor gives the same numbers sooner
    scores = dci(train, train_f, test, test_f, trees=ctx.settings["dci_trees"], seed=ctx.settings["seed"],
                 n_jobs=_cores())
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


@dataclass(frozen=True)
class Metric:
    compute: Callable[[ScoringContext], dict]
    keys: tuple[str, ...]  # the scores it writes
    settings: tuple[str, ...]  # the settings it reads, recorded beside its scores
    needs: str | None = "factors"  # what the dataset must have: "factors", "labels" or nothing


METRICS: dict[str, Metric] = {
    "reconstruction": Metric(_reconstruction, ("recon_bce", "recon_mse"), ("heldout", "seed"), None),
    "elbo": Metric(_elbo, ("elbo", "elbo_recon", "elbo_kl", "iwae_log_px"), ("heldout", "iwae_samples", "seed"), None),
    "unsupervised": Metric(_unsupervised, ("active_units", "gaussian_tc"), ("heldout", "seed"), None),
    "label_probe": Metric(_label_probe, ("label_from_z",), ("heldout", "seed"), "labels"),
    "classifier": Metric(_classifier, ("classifier_accuracy",), ("heldout", "seed"), "labels"),
    "cross_reconstruction": Metric(_cross_reconstruction, ("cross_recon_a_from_b", "cross_recon_b_from_a"), ("heldout", "seed"), None),
    "mig": Metric(_mig, ("mig",), ("num_train", "bins", "seed")),
    "beta_vae": Metric(_beta_vae, ("beta_vae_train", "beta_vae_eval"),
                       ("beta_vae_points_train", "beta_vae_points_eval", "batch_size", "seed")),
    "factor_vae": Metric(_factor_vae, ("factor_vae_train", "factor_vae_eval", "factor_vae_active"),
                         ("factor_vae_variance_samples", "factor_vae_votes_train", "factor_vae_votes_eval", "batch_size", "seed")),
    "dci": Metric(_dci, ("dci_disentanglement", "dci_completeness", "dci_informativeness_train", "dci_informativeness_test"),
                  ("dci_num_train", "dci_num_test", "dci_trees", "seed")),
    "sap": Metric(_sap, ("sap",), ("num_train", "num_test", "seed")),
    "modularity": Metric(_modularity, ("modularity", "explicitness_train", "explicitness_test"),
                         ("num_train", "num_test", "bins", "seed")),
}


def metric_names() -> list[str]:
    return list(METRICS)


def resolve_settings(overrides: dict | None) -> dict:
    """DEFAULT_SETTINGS with a preset's overrides; unknown keys and non-positive counts are errors."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(DEFAULT_SETTINGS))
    if unknown:
        raise VaebenchError(f"unknown metric setting {unknown[0]!r}; accepted: {', '.join(DEFAULT_SETTINGS)}")
    settings = {**DEFAULT_SETTINGS, **overrides}
    for key, value in settings.items():
        minimum = 0 if key == "seed" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise VaebenchError(f"bad metric setting {key} = {value!r}: expected an integer ≥ {minimum}")
    return settings


def score_cell(cell_dir: Path, dataset: Dataset, settings: dict | None = None, metrics: list[str] | None = None,
               force: bool = False) -> dict:
    """Compute the requested metrics (default: all) missing from ``cell_dir/metrics.json`` and merge them in.

    Each metric is written as soon as it is computed, so an interrupted scoring
    resumes where it stopped. Returns the metrics.json content.
    """
    cell_dir = Path(cell_dir)
    names = metric_names() if metrics is None else list(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise VaebenchError(f"unknown metric {unknown[0]!r}; accepted: {', '.join(METRICS)}")
    settings = resolve_settings(settings)
    path = cell_dir / store.METRICS_FILE
    record = store.read_json(path) if path.exists() else {}
    record = {"scores": record.get("scores", {}), "settings": record.get("settings", {}), "seconds": record.get("seconds", {})}
    todo = [name for name in names if force or name not in record["seconds"]]
    if not todo:
        return record
    context = ScoringContext(dataset, store.load_network(cell_dir, "encoder.keras"),
                             store.load_network(cell_dir, "decoder.keras"), settings, cell_dir)
    for name in todo:
        metric = METRICS[name]
        started = time.perf_counter()
        if metric.needs == "factors" and not dataset.has_factors:
            scores = dict.fromkeys(metric.keys, NO_FACTORS)
        elif metric.needs == "labels" and not dataset.num_classes:
            scores = dict.fromkeys(metric.keys, NO_LABELS)
        else:
            scores = metric.compute(context)
        record["scores"].update(scores)
        record["settings"][name] = {key: settings[key] for key in metric.settings}
        record["seconds"][name] = round(time.perf_counter() - started, 3)
        store.write_json(path, record)
    return record

