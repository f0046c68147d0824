"""One declaration per metric: the scores it writes, what they mean, the settings it reads.

Scoring, settings validation, the command line's tables and the report all read this
module. It imports neither keras nor TensorFlow, so anything may load it cheaply.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from vaebench.errors import VaebenchError
from vaebench.kinds import DataKind


class ScoreRole(str, enum.Enum):
    """A score's part in the report's verdict."""

    #: the cost axis of every trade-off
    RECONSTRUCTION = "reconstruction"
    #: a disentanglement score the verdict judges and the leaderboard shows
    HEADLINE = "headline"
    #: a further factor score the trade-off charts offer
    FACTOR = "factor"


@dataclass(frozen=True)
class Citation:
    authors: str
    year: int
    title: str

    def __str__(self) -> str:
        return f"{self.authors} ({self.year}), {self.title}"


@dataclass(frozen=True)
class Aim:
    """Which end of a score that is no quality in itself a verdict still ranks best, and why."""

    higher: bool
    #: the reason, as the verdict's sentence gives it
    why: str


@dataclass(frozen=True)
class Score:
    """One number a metric writes into ``metrics.json``."""

    key: str
    label: str
    #: True or False: which end is better; None: not ordered (a count or property, not a quality)
    higher_is_better: bool | None
    unit: str | None = None
    #: its short header in the terminal table of ``vaebench list`` (only the headline scores have one)
    column: str | None = None
    #: its part in the report's verdict; None: the report shows it on cell pages only
    role: ScoreRole | None = None
    #: what this score alone means, where its metric's definition describes several scores at once
    definition: str | None = None
    #: True for an accuracy at telling which of the dataset's K factors a batch holds fixed: chance is 1/K
    names_factor: bool = False
    #: for a score whose ends are neither better (higher_is_better None): which end a verdict ranks best
    aim: Aim | None = None
    #: True for a score of how well the observations are modelled: for a model that reads the label (the conditional
    #: VAE) it is of x given its label, which a verdict does not compare with other models' score of x alone
    of_x: bool = False
    #: for an accuracy: the setting counting the points it is measured on, m, whose binomial noise √(p(1 − p)/m)
    #: bounds what a difference of the score can show
    points: str | None = None

    @property
    def ranked_higher(self) -> bool:
        """Whether a verdict ranks a higher value better: the score's direction, else its aim's (higher without either)."""
        if self.higher_is_better is not None:
            return self.higher_is_better
        return self.aim.higher if self.aim is not None else True

    @property
    def title(self) -> str:
        """The label with its unit, as charts and tables show it."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class Setting:
    name: str
    default: int  # the published standard setting
    meaning: str
    #: the smallest value that still runs every estimator reading it in seconds: the smoke grid's and the tests'
    #: (its scores check that scoring runs, not their value); None: the standard setting
    fast: int | None = None
    minimum: int = 1


@dataclass(frozen=True)
class MetricSpec:
    name: str
    scores: tuple[Score, ...]
    definition: str
    #: names of the settings it reads (see SETTINGS), recorded beside its scores
    settings: tuple[str, ...]
    citations: tuple[Citation, ...] = ()
    representation: str = "posterior mean"
    #: what the dataset must have: "factors", "labels" or nothing
    needs: str | None = "factors"
    #: what its latents × factors matrix holds, for metrics that keep one in metrics.json ("matrices")
    matrix: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(score.key for score in self.scores)

    @property
    def defaults(self) -> dict[str, int]:
        return {name: SETTINGS[name].default for name in self.settings}


SETTINGS: dict[str, Setting] = {setting.name: setting for setting in (
    Setting("num_train", 10_000, "training samples of MIG, SAP, modularity and explicitness, and the training "
                                 "observations the calibration rows' mean image and PCA are fitted on", fast=200),
    Setting("num_test", 5_000, "test samples of SAP and explicitness", fast=100),
    Setting("dci_num_train", 10_000, "DCI's training samples (it fits boosted trees per factor class: its own counts)", fast=100),
    Setting("dci_num_test", 5_000, "DCI's test samples", fast=50),
    Setting("dci_trees", 100, "boosting rounds per factor (scikit-learn's default)", fast=3),
    Setting("bins", 20, "equal-width bins of the histogram discretiser"),
    Setting("batch_size", 64, "pairs per β-VAE training point, observations per FactorVAE vote"),
    Setting("beta_vae_points_train", 10_000, "β-VAE training points", fast=40),
    Setting("beta_vae_points_eval", 5_000, "β-VAE evaluation points", fast=20),
    Setting("factor_vae_variance_samples", 10_000, "observations giving FactorVAE's global variance per latent", fast=200),
    Setting("factor_vae_votes_train", 10_000, "FactorVAE training votes", fast=40),
    Setting("factor_vae_votes_eval", 5_000, "FactorVAE evaluation votes", fast=20),
    Setting("heldout", 5_000, "held-out observations for reconstruction, ELBO, IWAE and the label scores", fast=64),
    Setting("iwae_samples", 100, "posterior samples K of the IWAE bound", fast=3),
    Setting("seed", 0, "seed of every random draw and estimator", minimum=0),
)}

CHEN_2018 = Citation("Chen, Li, Grosse & Duvenaud", 2018, "Isolating Sources of Disentanglement in Variational Autoencoders")

METRICS: dict[str, MetricSpec] = {metric.name: metric for metric in (
    MetricSpec(
        "reconstruction",
        (Score("recon_bce", "reconstruction NLL", False, "nats", column="recon", role=ScoreRole.RECONSTRUCTION, of_x=True),
         Score("recon_mse", "reconstruction MSE", False, of_x=True,
               definition="Mean squared error per pixel between held-out observations and the decoded probabilities "
                          "of their posterior means (0 is a perfect reconstruction).")),
        "How well held-out observations come back when their posterior mean is decoded: Bernoulli negative "
        "log-likelihood per observation, and mean squared error of the decoded probabilities per pixel.",
        ("heldout", "seed"), needs=None),
    MetricSpec(
        "elbo",
        (Score("elbo", "ELBO", True, "nats", column="ELBO", of_x=True),
         Score("elbo_recon", "ELBO reconstruction term", True, "nats", of_x=True),
         Score("elbo_kl", "KL(q(z|x) || p(z))", None, "nats"),
         Score("iwae_log_px", "IWAE bound on log p(x)", True, "nats", of_x=True)),
        "The evidence lower bound on log p(x) of held-out observations with its expected log-likelihood and KL "
        "terms, and the tighter importance-weighted bound from K posterior samples; only for Gaussian encoders.",
        ("heldout", "iwae_samples", "seed"),
        (Citation("Kingma & Welling", 2014, "Auto-Encoding Variational Bayes"),
         Citation("Burda, Grosse & Salakhutdinov", 2016, "Importance Weighted Autoencoders")),
        representation="posterior mean and variance", needs=None),
    MetricSpec(
        "unsupervised",
        (Score("active_units", "active latent units", None),
         Score("gaussian_tc", "Gaussian total correlation", False, "nats")),
        "The number of latents whose posterior mean varies over held-out data (variance above 0.01), and the "
        "total correlation of a Gaussian fitted to the codes (0 when they are uncorrelated).",
        ("heldout", "seed"),
        (Citation("Burda, Grosse & Salakhutdinov", 2016, "Importance Weighted Autoencoders"),
         Citation("Locatello, Bauer, Lucic, Rätsch, Gelly, Schölkopf & Bachem", 2019,
                  "Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations")),
        needs=None),
    MetricSpec(
        "mig",
        (Score("mig", "MIG", True, column="MIG", role=ScoreRole.HEADLINE),),
        "Per factor, the gap between the mutual information of the two latents most informative about it, "
        "divided by the factor's entropy, averaged over factors; latents are discretised into equal-width bins.",
        ("num_train", "bins", "seed"), (CHEN_2018,),
        matrix="mutual information between each latent and each factor, divided by the factor's entropy (0 to 1)"),
    MetricSpec(
        "beta_vae",
        (Score("beta_vae_train", "β-VAE score (train)", True, names_factor=True),
         Score("beta_vae_eval", "β-VAE score", True, column="βVAE", role=ScoreRole.HEADLINE, names_factor=True,
               points="beta_vae_points_eval")),
        "Accuracy of a logistic regression telling which factor a batch of pairs shares from the pairs' mean "
        "absolute code difference.",
        ("beta_vae_points_train", "beta_vae_points_eval", "batch_size", "seed"),
        (Citation("Higgins, Matthey, Pal, Burgess, Glorot, Botvinick, Mohamed & Lerchner", 2017,
                  "β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework"),)),
    MetricSpec(
        "factor_vae",
        (Score("factor_vae_train", "FactorVAE score (train)", True, names_factor=True),
         Score("factor_vae_eval", "FactorVAE score", True, column="FVAE", role=ScoreRole.HEADLINE, names_factor=True,
               points="factor_vae_votes_eval"),
         Score("factor_vae_active", "FactorVAE dimensions kept after pruning", None,
               definition="How many latents the FactorVAE score reads: those whose standard deviation over the data "
                          "is at least 0.05 (the others are pruned before voting). A count, not a quality.")),
        "Accuracy of a majority vote telling which factor a batch shares from its latent of least variance, "
        "normalised by the latent's variance over the data; latents with standard deviation below 0.05 are "
        "pruned first, and factor_vae_active counts the dimensions kept after pruning.",
        ("factor_vae_variance_samples", "factor_vae_votes_train", "factor_vae_votes_eval", "batch_size", "seed"),
        (Citation("Kim & Mnih", 2018, "Disentangling by Factorising"),)),
    MetricSpec(
        "dci",
        (Score("dci_disentanglement", "DCI disentanglement", True, column="DCI-D", role=ScoreRole.HEADLINE),
         Score("dci_completeness", "DCI completeness", True),
         Score("dci_informativeness_train", "DCI informativeness (train)", True),
         Score("dci_informativeness_test", "DCI informativeness", True)),
        "Gradient-boosted trees predict each factor from the codes; their feature importances give "
        "disentanglement (each latent matters for one factor) and completeness (each factor rests on one "
        "latent), their accuracy the informativeness.",
        ("dci_num_train", "dci_num_test", "dci_trees", "seed"),
        (Citation("Eastwood & Williams", 2018,
                  "A Framework for the Quantitative Evaluation of Disentangled Representations"),),
        matrix="importance of each latent for predicting each factor (boosted trees' feature importances; "
               "each factor's column sums to 1)"),
    MetricSpec(
        "sap",
        (Score("sap", "SAP", True, role=ScoreRole.FACTOR),),
        "Per factor, the gap in test accuracy between the two best linear classifiers of it that each read a "
        "single latent, averaged over factors.",
        ("num_train", "num_test", "seed"),
        (Citation("Kumar, Sattigeri & Balakrishnan", 2018,
                  "Variational Inference of Disentangled Latent Concepts from Unlabeled Observations"),)),
    MetricSpec(
        "modularity",
        (Score("modularity", "modularity", True, role=ScoreRole.FACTOR),
         Score("explicitness_train", "explicitness (train)", True),
         Score("explicitness_test", "explicitness", True)),
        "Modularity: how much each latent's mutual information with the factors concentrates on one factor, "
        "averaged over latents; explicitness: ROC AUC of a logistic regression predicting each factor from the codes.",
        ("num_train", "num_test", "bins", "seed"),
        (Citation("Ridgeway & Mozer", 2018, "Learning Deep Disentangled Embeddings with the F-Statistic Loss"),)),
    MetricSpec(
        "label_probe",
        (Score("label_from_z", "label predictability from z", None,
               aim=Aim(False, "low: a code free of the label, the conditional VAE's aim")),),
        "Accuracy of a logistic regression predicting the class label from the code, fitted on half the "
        "held-out observations and tested on the other half; a conditional model aims for it to be low.",
        ("heldout", "seed"), needs="labels"),
    MetricSpec(
        "classifier",
        (Score("classifier_accuracy", "classifier-branch accuracy", True),),
        "Held-out accuracy of the classifier branch of a model that has one, reading the posterior mean.",
        ("heldout", "seed"), needs="labels"),
    MetricSpec(
        "cross_reconstruction",
        (Score("cross_recon_a_from_b", "cross-reconstruction NLL, view a from b", False, "nats"),
         Score("cross_recon_b_from_a", "cross-reconstruction NLL, view b from a", False, "nats")),
        "For two-view models: Bernoulli negative log-likelihood of each view decoded from the posterior mean "
        "of the other view.",
        ("heldout", "seed"), needs=None),
)}

#: every score key any metric writes, in report order
SCORES: dict[str, Score] = {score.key: score for metric in METRICS.values() for score in metric.scores}

#: the metric that writes each score key (its settings in metrics.json are that score's protocol)
METRIC_OF: dict[str, str] = {score.key: metric.name for metric in METRICS.values() for score in metric.scores}
#: the code every factor score reads (``vaebench.metrics.sampling`` encodes the posterior mean, as the literature's
#: headline results do), and what scoring it leaves untested (Locatello et al. 2019, §5.1: the mean's dimensions can be
#: correlated where the sampled code's total correlation, which the regularisers act on, is low)
SCORED_CODE = ("Factor scores read the posterior mean; they do not test the sampled code's total correlation, which "
               "is what the regularisers act on.")
#: the reconstruction score, the cost axis of every trade-off
RECONSTRUCTION: str = next(key for key, score in SCORES.items() if score.role is ScoreRole.RECONSTRUCTION)
#: the disentanglement scores the verdict judges, in report order
HEADLINE: tuple[str, ...] = tuple(key for key, score in SCORES.items() if score.role is ScoreRole.HEADLINE)
#: every factor score the trade-off charts offer: the headline ones first
FACTOR_SCORES: tuple[str, ...] = HEADLINE + tuple(key for key, score in SCORES.items() if score.role is ScoreRole.FACTOR)
#: what the models of a data kind are for, where that is more than reconstruction and disentanglement: the scores a
#: study holding cells of that kind is judged on first (a labelled table's likelihood bound, how much of the label the
#: code holds and the classifier branch's accuracy; a two-view model's cross-reconstruction of each view)
KIND_SCORES: dict[DataKind, tuple[str, ...]] = {
    DataKind.TABLES: ("iwae_log_px", "label_from_z", "classifier_accuracy"),
    DataKind.TWO_VIEWS: ("cross_recon_a_from_b", "cross_recon_b_from_a"),
}


def verdict_scores(kinds) -> tuple[str, ...]:
    """The scores a verdict on cells of these data kinds judges beside reconstruction, each once: what the kinds'
    models are for (KIND_SCORES), then the disentanglement scores, which cells write where the data has factors (a
    sequence model's decoder mode is part of its setting, so the modes are compared like any other setting)."""
    kinds = set(kinds)
    return tuple(dict.fromkeys([key for kind in DataKind if kind in kinds for key in KIND_SCORES.get(kind, ())]
                               + list(HEADLINE)))


def chance_level(key: str, num_factors: int) -> float | None:
    """What guessing scores on ``key`` for a dataset of ``num_factors`` factors: 1/K for the scores that name the
    fixed factor (both classifiers draw it uniformly among the dataset's factors), None for every other score."""
    return 1 / num_factors if SCORES[key].names_factor else None


def metric_names() -> list[str]:
    return list(METRICS)


@dataclass(frozen=True, eq=False)
class MetricSettings(Mapping):
    """Every metric setting, resolved once (:func:`resolve_settings`) and immutable: a mapping of name to value.

    A metric computes with :meth:`for_metric`'s view, which refuses to read a setting the metric's spec does
    not declare: ``metrics.json`` records a metric's declared settings as its protocol, so a metric reading
    another one would depend on a count that no record shows.
    """

    values: tuple[tuple[str, int], ...]
    #: the metric this view is read for (None: every setting is readable)
    metric: str | None = None

    def __getitem__(self, name: str) -> int:
        if self.metric is not None and name not in METRICS[self.metric].settings:
            raise KeyError(f"metric {self.metric} read the setting {name!r}, which its spec does not declare; "
                           f"it declares {', '.join(METRICS[self.metric].settings)}")
        return dict(self.values)[name]

    def __iter__(self):
        """Every setting's name; a metric's view: its declared ones, in its spec's order (as metrics.json lists them)."""
        return iter(METRICS[self.metric].settings if self.metric is not None else (name for name, _ in self.values))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __hash__(self) -> int:
        return hash((self.values, self.metric))

    def for_metric(self, metric: str) -> "MetricSettings":
        """The settings as ``metric`` may read them: only those its spec declares."""
        return replace(self, metric=metric)

    def recorded(self, metric: str) -> dict[str, int]:
        """What metrics.json records as ``metric``'s settings: its declared ones, in its spec's order."""
        return dict(self.for_metric(metric))


#: the published standard settings, the defaults of ``resolve_settings``
DEFAULT_SETTINGS = MetricSettings(tuple((name, setting.default) for name, setting in SETTINGS.items()))
#: every setting at its fast value: what a ``[metrics]`` table with ``counts = "fast"`` starts from
FAST_SETTINGS = MetricSettings(tuple((name, setting.default if setting.fast is None else setting.fast)
                                     for name, setting in SETTINGS.items()))
#: the settings a ``[metrics]`` table's ``counts`` key names as its start (the standard ones where it has none)
COUNTS: dict[str, MetricSettings] = {"standard": DEFAULT_SETTINGS, "fast": FAST_SETTINGS}


def resolve_settings(overrides: Mapping | None = None) -> MetricSettings:
    """A preset's ``[metrics]`` table resolved: the settings its ``counts`` names (standard where it has none) with
    its other keys on top; unknown keys and non-integer or too small values are errors."""
    overrides = dict(overrides or {})
    counts = overrides.pop("counts", "standard")
    if counts not in COUNTS:
        raise VaebenchError(f"bad metric counts = {counts!r}: expected one of {', '.join(map(repr, COUNTS))}")
    unknown = sorted(set(overrides) - set(SETTINGS))
    if unknown:
        raise VaebenchError(f"unknown metric setting {unknown[0]!r}; accepted: {', '.join(SETTINGS)}, counts")
    settings = {**COUNTS[counts], **overrides}
    for name, value in settings.items():
        minimum = SETTINGS[name].minimum
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise VaebenchError(f"bad metric setting {name} = {value!r}: expected an integer ≥ {minimum}")
    return MetricSettings(tuple(settings.items()))
