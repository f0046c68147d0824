"""The pure metric functions on constructed cases whose answers are known."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from vaebench.metrics.beta_vae import beta_vae_score, pair_batches, pair_features
from vaebench.metrics.dci import dci
from vaebench.metrics.discrete import entropy, histogram_discretize, mutual_information
from vaebench.metrics.factor_vae import factor_vae_score, vote_batches
from vaebench.metrics.likelihood import elbo_and_iwae, log_mean_exp, reconstruction
from vaebench.metrics.mig import mig
from vaebench.metrics.modularity import modularity_explicitness
from vaebench.metrics.sap import sap
from vaebench.metrics.unsupervised import active_units, gaussian_total_correlation
from vaebench.models.likelihoods import BERNOULLI

SIZES = (3, 6, 10, 8)


def _factors(n, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in sizes], axis=1)


def _sample_factors(n, rng):
    return np.stack([rng.integers(0, s, n) for s in SIZES], axis=1)


# --- helpers ---------------------------------------------------------------------

def test_discretiser_by_hand_and_against_numpy():
    codes = np.array([[0.0], [0.5], [1.0], [0.25]])
    np.testing.assert_array_equal(histogram_discretize(codes, bins=4)[:, 0], [1, 3, 4, 2])
    rng = np.random.default_rng(0)
    codes = np.c_[rng.normal(size=500), rng.exponential(size=500), np.full(500, 2.0)]
    reference = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in codes.T], axis=1)
    np.testing.assert_array_equal(histogram_discretize(codes, 20), reference)


def test_entropy_and_mutual_information_by_hand():
    a = np.array([0, 0, 1, 1])
    assert entropy(a)[0] == pytest.approx(math.log(2))
    assert entropy(np.array([0, 1, 2, 3]))[0] == pytest.approx(math.log(4))
    b = np.array([0, 1, 0, 1])  # independent of a
    assert mutual_information(a, b)[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert mutual_information(a, a)[0, 0] == pytest.approx(math.log(2))
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, (300, 3)), rng.integers(0, 7, (300, 2))
    y[:, 0] = x[:, 0]
    expected = [[mutual_info_score(x[:, i], y[:, j]) for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(mutual_information(x, y), expected, atol=1e-12)


def test_a_single_valued_column_has_exactly_zero_mutual_information():
    rng = np.random.default_rng(2)
    factors = rng.integers(0, 7, (1000, 3))
    latents = np.c_[rng.integers(0, 20, (1000, 2)), np.zeros(1000, int)]  # the last one is dead
    assert (mutual_information(latents, factors)[2] == 0.0).all()
    assert (mutual_information(factors, latents)[:, 2] == 0.0).all()
    assert entropy(latents)[2] == 0.0
    expected = [[mutual_info_score(latents[:, i], factors[:, j]) for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(mutual_information(latents, factors), expected, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: mig(np.zeros((10, 2)), np.zeros((9, 2), int)), "different lengths"),
    (lambda: mig(np.full((30, 2), np.nan), _factors(30)[:, :2]), "NaN or inf"),
    (lambda: mig(np.ones((30, 2)) * np.inf, _factors(30)[:, :2]), "NaN or inf"),
    (lambda: mig(np.random.rand(30, 2), np.c_[_factors(30)[:, 0], np.zeros(30, int)]), "factor 1 has a single value"),
    (lambda: mig(np.random.rand(10, 2), _factors(10)[:, :2], bins=20), "fewer than the 20"),
    (lambda: mig(np.random.rand(10), _factors(10)), "shape"),
    (lambda: histogram_discretize(np.random.rand(5, 2), bins=20), "fewer than the 20 bins"),
])
def test_bad_input_is_a_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- MIG --------------------------------------------------------------------------

def test_mig_known_cases():
    factors = _factors(5000)
    assert mig(factors.astype(float), factors)["mig"] > 0.95
    assert mig(np.random.default_rng(1).normal(size=(5000, 4)), factors)["mig"] < 0.05
    permuted = factors[:, ::-1] * np.array([3.0, -0.5, 2.0, 10.0]) + 7
    assert mig(permuted, factors)["mig"] == pytest.approx(mig(factors.astype(float), factors)["mig"])
    duplicated = np.c_[factors, factors[:, 1]].astype(float)
    per_factor = mig(duplicated, factors)["mig_per_factor"]
    assert per_factor[1] == pytest.approx(0.0) and min(per_factor[0], per_factor[2]) > 0.95


# --- β-VAE and FactorVAE scores -----------------------------------------------------

def _lookup_identity(factors):
    return factors.astype(float)


def _beta_vae(lookup, points=(2000, 1000)):
    rng = np.random.default_rng(0)
    splits = []
    for n in points:
        first, second, fixed = pair_batches(_sample_factors, len(SIZES), n, 64, rng)
        assert (first[np.arange(n), :, fixed] == second[np.arange(n), :, fixed]).all()
        splits += [pair_features(lookup(first), lookup(second)), fixed]
    return beta_vae_score(*splits)


def test_beta_vae_score_known_cases():
    assert _beta_vae(_lookup_identity)["eval_accuracy"] > 0.98
    noise = np.random.default_rng(3)
    random = _beta_vae(lambda f: noise.normal(size=f.shape))
    assert abs(random["eval_accuracy"] - 1 / len(SIZES)) < 0.07


def _factor_vae(lookup, votes=(2000, 1000)):
    rng = np.random.default_rng(0)
    global_codes = lookup(_sample_factors(5000, rng))
    splits = []
    for n in votes:
        factors, fixed = vote_batches(_sample_factors, len(SIZES), n, 64, rng)
        assert (factors[np.arange(n), :, fixed] == factors[np.arange(n), :1, fixed]).all()
        splits += [lookup(factors), fixed]
    return factor_vae_score(global_codes, *splits, num_factors=len(SIZES))


def test_factor_vae_score_known_cases():
    perfect = _factor_vae(_lookup_identity)
    assert perfect["eval_accuracy"] == 1.0 and perfect["num_active_dims"] == 4
    rescaled = _factor_vae(lambda f: f[..., ::-1] * np.array([5.0, 0.2, 3.0, 1.0]))
    assert rescaled["eval_accuracy"] == 1.0
    noise = np.random.default_rng(3)
    assert _factor_vae(lambda f: noise.normal(size=f.shape))["eval_accuracy"] < 0.45
    collapsed = _factor_vae(lambda f: np.zeros(f.shape))
    assert collapsed == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def test_vote_batches_keep_the_other_factors_free():
    factors, fixed = vote_batches(_sample_factors, len(SIZES), 50, 64, np.random.default_rng(0))
    for vote in range(50):
        free = [j for j in range(len(SIZES)) if j != fixed[vote]]
        assert all(len(np.unique(factors[vote, :, j])) > 1 for j in free)


# --- DCI, SAP, modularity ------------------------------------------------------------

def _split(codes_fn, n=(1500, 500)):
    train, test = _factors(n[0], 0), _factors(n[1], 1)
    return codes_fn(train), train, codes_fn(test), test


def test_dci_known_cases():
    perfect = dci(*_split(lambda f: f.astype(float)), trees=20)
    assert perfect["disentanglement"] > 0.9 and perfect["completeness"] > 0.9
    assert perfect["informativeness_test"] > 0.95
    noise = np.random.default_rng(2)
    random = dci(*_split(lambda f: noise.normal(size=f.shape)), trees=20)
    assert random["disentanglement"] < 0.2 and random["completeness"] < 0.2
    permuted = dci(*_split(lambda f: f[:, ::-1] * 2.0 + 1), trees=20)
    assert permuted["disentanglement"] == pytest.approx(perfect["disentanglement"], abs=0.02)


def test_dci_does_not_depend_on_the_number_of_threads():
    split = _split(lambda f: f + np.random.default_rng(5).normal(scale=2.0, size=f.shape), n=(400, 200))
    assert dci(*split, trees=5, n_jobs=2) == dci(*split, trees=5, n_jobs=1)


def test_sap_known_cases():
    perfect = sap(*_split(lambda f: f.astype(float)))["sap_score"]
    noise = np.random.default_rng(2)
    assert perfect > 0.3
    assert sap(*_split(lambda f: noise.normal(size=f.shape)))["sap_score"] < 0.05
    assert sap(*_split(lambda f: f[:, ::-1].astype(float)))["sap_score"] == pytest.approx(perfect)


def test_modularity_and_explicitness_known_cases():
    perfect = modularity_explicitness(*_split(lambda f: f.astype(float)))
    assert perfect["modularity_score"] > 0.95 and perfect["explicitness_score_test"] > 0.9
    # equal-width bins make the discretised codes invariant to permutation and affine rescaling
    rescaled = modularity_explicitness(*_split(lambda f: f[:, ::-1] * np.array([3.0, -2.0, 0.5, 9.0]) + 4))
    assert rescaled["modularity_score"] == pytest.approx(perfect["modularity_score"], abs=1e-12)
    noise = np.random.default_rng(2)
    random = modularity_explicitness(*_split(lambda f: noise.normal(size=f.shape)))
    assert random["explicitness_score_test"] < 0.6


def _reference_modularity(codes, factors, bins=20):
    """The formula of docs/metrics.md on scikit-learn's mutual information and numpy's histogram bins."""
    binned = [np.digitize(c, np.histogram(c, bins)[1][:-1]) for c in codes.T]
    squared = np.array([[mutual_info_score(b, f) for f in factors.T] for b in binned]) ** 2
    theta = squared.max(axis=1)
    per_latent = [1 - (row.sum() - t) / (t * (len(row) - 1)) if t > 0 else 0.0 for row, t in zip(squared, theta)]
    return float(np.mean(per_latent))


def test_modularity_scores_a_dead_latent_zero_like_the_reference():
    factors = _factors(3000, sizes=(3, 6, 10, 8, 5, 4))
    noise = np.random.default_rng(4).normal(scale=0.3, size=factors.shape)
    codes = np.c_[factors + noise, np.full(len(factors), 0.25)]  # 6 informative latents and one dead one
    score = modularity_explicitness(codes, factors, codes, factors)["modularity_score"]
    assert score == pytest.approx(_reference_modularity(codes, factors), abs=1e-12)
    assert score < 6 / 7


def test_dci_of_constant_codes_is_zero():
    constant = dci(*_split(lambda f: np.ones((len(f), 3))), trees=5)
    assert constant["disentanglement"] < 1e-9 and constant["completeness"] < 1e-9


def test_dci_weighting_matches_the_reference_formula_with_a_dead_latent():
    from scipy.stats import entropy as scipy_entropy

    from vaebench.metrics.dci import _weighted_specificity

    importances = np.random.default_rng(0).random((5, 4))
    importances[2] = 0.0  # a latent no tree split on
    per_latent = 1 - scipy_entropy(importances.T + 1e-11, base=importances.shape[1])
    expected = (per_latent * importances.sum(axis=1) / importances.sum()).sum()
    assert _weighted_specificity(importances) == pytest.approx(expected, abs=1e-12)


def test_metrics_are_reproducible_for_a_seed():
    split = _split(lambda f: f + np.random.default_rng(5).normal(scale=2.0, size=f.shape))
    assert dci(*split, trees=5, seed=3) == dci(*split, trees=5, seed=3)
    assert _beta_vae(_lookup_identity, (300, 100)) == _beta_vae(_lookup_identity, (300, 100))


# --- unsupervised and likelihood ---------------------------------------------------

def test_active_units_and_gaussian_tc():
    rng = np.random.default_rng(0)
    codes = np.c_[rng.normal(size=1000), rng.normal(scale=0.01, size=1000), rng.normal(size=1000)]
    assert active_units(codes) == 2
    independent = rng.normal(size=(20000, 3))
    assert gaussian_total_correlation(independent) == pytest.approx(0.0, abs=0.01)
    correlation = np.array([[1.0, 0.8], [0.8, 1.0]])
    correlated = rng.multivariate_normal([0, 0], correlation, size=20000)
    assert gaussian_total_correlation(correlated) == pytest.approx(-0.5 * np.log(np.linalg.det(correlation)), abs=0.02)


def test_reconstruction_by_hand():
    images = np.array([[1.0, 0.0]])
    logits = np.array([[0.0, 0.0]])
    scores = reconstruction(BERNOULLI, images, logits)
    assert scores["bce"] == pytest.approx(2 * math.log(2), rel=1e-6)
    assert scores["mse"] == pytest.approx(0.25)


def test_log_mean_exp_is_stable():
    assert log_mean_exp(np.array([[-1000.0, -1000.0]]))[0] == pytest.approx(-1000.0)
    assert log_mean_exp(np.array([[0.0, math.log(3)]]))[0] == pytest.approx(math.log(2))


def _linear_decoder(weights):
    def decode(z):
        return (z @ weights).astype(np.float32)
    return decode


def test_iwae_is_at_least_the_elbo_and_grows_with_k():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(2, 6))
    images = (rng.random((40, 6)) < 0.5).astype(np.float32)
    mean, logvar = rng.normal(scale=0.5, size=(40, 2)), np.full((40, 2), -1.0)
    bounds = [elbo_and_iwae(BERNOULLI, images, mean, logvar, _linear_decoder(weights), k, np.random.default_rng(1)) for k in (1, 10, 200)]
    assert bounds[0]["iwae"] == pytest.approx(bounds[0]["elbo"], abs=0.3)  # K=1 is an unbiased ELBO estimate
    assert bounds[0]["iwae"] <= bounds[1]["iwae"] <= bounds[2]["iwae"]
    assert bounds[2]["iwae"] >= bounds[2]["elbo"]
    expected_kl = np.mean(0.5 * np.sum(np.exp(logvar) + mean**2 - 1 - logvar, axis=1))
    assert bounds[0]["elbo_kl"] == pytest.approx(expected_kl, rel=1e-5)


def test_iwae_approaches_the_exact_log_likelihood():
    """With one binary pixel and a 1-D latent, log p(x) is a 1-D integral we can do by quadrature."""
    weight = np.array([[2.0]])
    x = np.array([[1.0]], np.float32)
    grid = np.linspace(-8, 8, 20001)
    density = np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi) / (1 + np.exp(-2.0 * grid))
    exact = np.log(np.trapezoid(density, grid))
    bound = elbo_and_iwae(BERNOULLI, x, np.array([[0.5]]), np.array([[0.0]]), _linear_decoder(weight), 5000, np.random.default_rng(0))
    assert bound["iwae"] == pytest.approx(exact, abs=0.01)
