"""The index's verdict on synthetic studies whose answers are known: a dominant setting, a tie, a score with no
setting effect, a cell scored under another protocol, a score still improving along training, a collapsed setting,
settings above and below a linear code, a one-seed grid, settings compared within their latent size, one latent for
two factors; every sentence's words and numbers checked."""

import html
import re

import numpy as np
import pandas as pd
import pytest

from study_results import write_study
from vaebench.site import build_site
from vaebench import stats
from vaebench.site.capture import CAPTURED_SHARE, capture
from vaebench.site.numbers import p_value
from vaebench.site.verdict import LINEAR_CODE, verdict


def _text(page) -> str:
    """The page's visible text, one space between words (scripts and styles removed)."""
    markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = write_study(tmp_path_factory.mktemp("study") / "study")
    return _text(build_site(root, tmp_path_factory.mktemp("site") / "site"))


def test_a_dominant_setting_is_named_with_its_p_best_its_top_two_and_its_cost_at_the_same_latent_size(index):
    assert "reconstruction NLL at z = 4: VAE, z = 4 is best (mean 50.0 nats, median 50.0 nats, P(best) = 1.00)." in index
    assert ("MIG at z = 4: β-VAE (β = 16), z = 4 is best (mean 0.300, median 0.300, P(best) = 1.00), at 20.0 nats more "
            "reconstruction error than the best at z = 4 (VAE, z = 4).") in index
    assert ("Top two at z = 4 by their mean: a random seed of β-VAE (β = 16), z = 4 beats one of β-TCVAE (β = 6), z = 4 "
            "with P = 1.00") in index
    assert f"P(best) is the share of {stats.BEST_RESAMPLES:,} bootstrap resamples" in index
    assert "A setting is named best only when its P(best) is at least 0.90" in index


def test_a_tie_is_a_tie_never_a_winner(index):
    assert "β-VAE score at z = 4: β-VAE (β = 16), z = 4 and β-TCVAE (β = 6), z = 4 tie at a mean of 0.840" in index
    assert "β-TCVAE (β = 6), z = 4 is best" not in index and "β-VAE score at z = 4: β-VAE (β = 16), z = 4 is best" \
        not in index


def test_the_index_states_each_scores_permutation_test_and_its_noncentral_f_interval_and_no_percentile_interval(index):
    # FactorVAE score: every setting has the same five values (the off-protocol cell adds a sixth to one): no effect
    assert re.search(r"No detectable setting effect \(p = [01]\.\d\d; permutation test of its 21 cells across 4 settings, "
                     r"10,000 permutations\): ω² = −0\.\d\d \(90 % noncentral-F interval 0\.00–0\.\d\d\); η² = 0\.\d\d, "
                     r"0\.15 expected by chance\.", index)
    assert "FactorVAE score: settings decide" not in index and "no detectable setting effect on FactorVAE score (p = " in index
    # MIG and reconstruction: only the settings move them
    assert re.search(r"The setting moves it \(p < 0\.0001; permutation test of its 21 cells across 4 settings, "
                     r"10,000 permutations\): ω² = 0\.9\d \(90 % noncentral-F interval 0\.\d\d–0\.9\d\); η² = 0\.9\d, "
                     r"0\.15 expected by chance; settings decide most of it", index)
    assert ("Settings decide most of the variance across cells of reconstruction NLL, MIG and β-VAE score (ω²'s 90 % "
            "interval starts at 0.5 or above); no detectable setting effect on FactorVAE score (p = 1.00).") in index
    assert "lean towards" not in index and "resamples of the seeds (which" not in index
    assert "null 0.05, df 1" in index  # the decomposition's null shares: objective df 1 of 20
    assert "FactorVAE score 4 0.00 0.00 1.00 21" in index  # its variance components: all of it is seeds


def _verdict_frame(values: np.ndarray, metric: str = "mig") -> pd.DataFrame:
    """A (settings, seeds) array of one score as the frame the verdict reads: three objectives of six strengths."""
    settings, seeds = values.shape
    return pd.DataFrame([{"setting": f"s{g:02d}", "objective": f"o{g % 3}", "dataset": "d", "latent_dim": 10,
                          "seed": seed, "metric": metric, "value": values[g, seed]}
                         for g in range(settings) for seed in range(seeds)])


def test_a_null_score_says_no_detectable_setting_effect_and_nothing_about_who_decides():
    """18 settings × 5 seeds of pure noise."""
    found = verdict(_verdict_frame(np.random.default_rng(1).normal(size=(18, 5))))
    mig = found.finding("mig")
    assert mig.effect.low == 0.0 and mig.decides is None
    assert mig.effect_phrase.startswith(f"no detectable setting effect ({p_value(mig.effect.p)}; permutation test of its 90 "
                                        f"cells across 18 settings, 10,000 permutations)")
    assert "decide" not in mig.effect_phrase and "decide" not in found.answer[-1]
    assert found.answer[-1] == f"No detectable setting effect on MIG ({p_value(mig.effect.p)})."


def test_who_decides_a_score_follows_which_side_of_one_half_its_interval_lies_on():
    def mig(settings_spread: float, seed: int):
        rng = np.random.default_rng(seed)
        return verdict(_verdict_frame(settings_spread * rng.normal(size=(18, 1)) + rng.normal(size=(18, 5)))).finding("mig")

    strong = mig(3.0, 2)
    assert strong.effect.p < 0.05 and strong.effect.low >= 0.5 and strong.decides == "settings"
    assert "settings decide most of it (the interval starts at 0.5 or above)" in strong.effect_phrase
    weak = mig(0.6, 6)
    assert weak.effect.detected and weak.effect.high < 0.5 and weak.decides == "seeds"
    assert "seeds decide more of it than settings (the interval ends below 0.5)" in weak.effect_phrase
    moderate = mig(1.0, 5)
    assert moderate.effect.detected and moderate.effect.low < 0.5 <= moderate.effect.high
    assert moderate.decides == "neither" and "cannot be told (the interval spans 0.5)" in moderate.effect_phrase
    assert "Objective against strength within objective (F = MS_objective / MS_strength): z = 10: F(2, 15) = " in \
        " ".join(moderate.lines)



def test_a_cell_scored_under_another_protocol_is_left_out_and_said_so(index):
    # its β-VAE score of 0.99 would otherwise win that column
    assert ("Left out: β-VAE (β = 4), z = 4 (1 cell) was scored with other settings than the study's for β-VAE score; "
            "those scores are left out of its comparisons.") in index
    board = index[index.index("Leaderboard"):index.index("Budget, and what it cannot show")]
    assert "other protocol: β-VAE score" in board
    assert "0.990" not in board and "0.840" in board


def test_display_names_replace_config_keys_everywhere_on_the_index(index):
    assert not re.search(r"\b(beta_vae|beta_tcvae|dip_vae_ii)-[a-z_]+[0-9]", index)
    assert "β-VAE (β = 16)" in index


def test_the_winners_traversals_say_best_only_where_the_setting_won_alone():
    """The heading over a setting's traversals: "best on" a score it clears P(best) on alone, never on a score where
    it only heads a group that cannot be separated."""
    scores = {"mig": {"a": [0.9, 0.91, 0.92], "b": [0.1, 0.11, 0.12]},  # a dominates
              "beta_vae_eval": {"a": [0.5, 0.62, 0.7], "b": [0.6, 0.61, 0.5]}}  # a's mean is higher, its seeds are not
    frame = pd.DataFrame([{"setting": s, "seed": seed, "metric": m, "value": v, "dataset": "d", "latent_dim": 4,
                           "objective": s} for m, by_setting in scores.items() for s, values in by_setting.items()
                          for seed, v in enumerate(values)])
    found = verdict(frame)
    assert found.finding("mig").sizes[0].winner.settings == ("a",)
    close = found.finding("beta_vae_eval").sizes[0].winner
    assert close.settings[0] == "a" and not close.separated
    assert found.named_first("a") == "best on MIG; named first, not separable from others, on β-VAE score"
    assert found.named_first("b") == ""


def _cells(scores: dict, latent_dim: int = 4) -> pd.DataFrame:
    """{metric: {setting: [value per seed]}} as the verdict's frame, every setting at ``latent_dim``."""
    return pd.DataFrame([{"setting": s, "seed": seed, "metric": m, "value": v, "dataset": "d", "latent_dim": latent_dim,
                          "objective": s} for m, by_setting in scores.items() for s, values in by_setting.items()
                         for seed, v in enumerate(values)])


def test_a_grid_too_small_for_the_paired_test_is_not_called_converged():
    """Six cells that all improve (a smoke grid): the signed-rank test's smallest p is 2/2^6 = 0.031, never below 0.01,
    so its 'no significant change' cannot stand for convergence."""
    final = {name: [value] for name, value in zip("abcdef", (0.3, 0.25, 0.2, 0.15, 0.1, 0.05))}
    rows = [{"setting": s, "seed": 0, "step": step, "metric": "mig", "value": v[0] - 0.05 * (step == 100),
             "points": float("nan")} for s, v in final.items() for step in (100, 300)]
    found = verdict(_cells({"mig": final}), checkpoints=pd.DataFrame(rows)).finding("mig").convergence
    assert (found.change.better, found.change.worse) == (6, 0) and not found.significant
    assert not found.decidable and not found.ranking_converged
    [change, ranking] = found.lines
    assert "convergence cannot be told: with 6 cells that moved, the test's smallest p is 0.0312, not below 0.01" in change
    assert "not converged for ranking" in ranking


def test_a_score_that_moves_the_same_way_in_every_seed_is_still_improving():
    final = {"a": [0.30, 0.31, 0.32, 0.33, 0.34], "b": [0.20, 0.21, 0.22, 0.23, 0.24], "c": [0.1, 0.11, 0.12, 0.13, 0.14]}
    rows = [{"setting": s, "seed": seed, "step": step, "metric": "mig", "value": v - (0.05 + 0.001 * seed) * (step == 100),
             "points": float("nan")} for s, values in final.items() for seed, v in enumerate(values) for step in (100, 300)]
    found = verdict(_cells({"mig": final}), checkpoints=pd.DataFrame(rows)).finding("mig").convergence
    assert (found.change.cells, found.change.better, found.change.worse) == (15, 15, 0)
    assert found.change.p < 0.001 and found.moving
    [change, ranking] = found.lines
    assert "from step 100 to 300 (N = 15 cells): better in 15, worse in 0, median change 0.0520" in change
    assert change.endswith("not converged: still improving in 15 of 15 cells.")
    assert "Kendall τ = 1.00 (n = 3) at z = 4: not converged for ranking" in ranking  # the ranking held, the scores moved
    # the same scores, unmoved: converged, and the ranking with them
    still = pd.DataFrame(rows).assign(value=lambda f: f.groupby(["setting", "seed"])["value"].transform("max"))
    steady = verdict(_cells({"mig": final}), checkpoints=still).finding("mig").convergence
    assert "no significant paired change (p = 1.00)" in steady.lines[0]
    assert "converged for ranking" in steady.lines[1] and "not converged" not in steady.lines[1]


def test_a_checkpoint_accuracy_noisier_than_its_seed_spread_is_left_out_of_convergence():
    final = {"a": [0.80, 0.81, 0.82], "b": [0.70, 0.71, 0.72]}  # seed spread 0.01
    rows = [{"setting": s, "seed": seed, "step": step, "metric": "beta_vae_eval", "value": v - 0.1 * (step == 100),
             "points": 20.0} for s, values in final.items() for seed, v in enumerate(values) for step in (100, 300)]
    found = verdict(_cells({"beta_vae_eval": final}), checkpoints=pd.DataFrame(rows)).finding("beta_vae_eval").convergence
    # binomial noise of accuracies near 0.76 on 20 points: ≈ √(0.76 · 0.24 / 20) ≈ 0.095 > 0.01
    assert found.noise == pytest.approx(stats.accuracy_noise([0.80, 0.81, 0.82, 0.70, 0.71, 0.72], 20)) and found.noisy
    assert found.lines == [
        "Along training: no convergence sentence from this score. At the checkpoints it is an accuracy on m = 20 "
        "evaluation points, whose measurement noise (binomial SE 0.09) exceeds its seed spread (median standard "
        "deviation of a setting's seeds 0.01 in the final scores): its changes between checkpoints carry no information "
        "about convergence."]


def test_a_setting_strong_on_one_seed_only_is_not_named():
    scores = {"factor_vae_eval": {"steady": [0.60, 0.61, 0.62, 0.63, 0.64], "lucky": [0.70, 0.20, 0.21, 0.22, 0.23],
                                  "weak": [0.40, 0.41, 0.42, 0.43, 0.44]}}
    best = verdict(_cells(scores)).finding("factor_vae_eval").sizes[0]
    assert best.winner.settings == ("steady",) and best.winner.statistic == "mean"
    assert best.best_phrase == "steady is best (mean 0.620, median 0.620, P(best) = 1.00)"


def test_a_collapsed_setting_is_flagged_wherever_it_is_named_and_counted():
    scores = {"mig": {"collapsed": [0.30, 0.31, 0.32], "learnt": [0.10, 0.11, 0.12]},
              "active_units": {"collapsed": [0.0, 0.0, 2.0], "learnt": [4.0, 4.0, 4.0]},
              "elbo_kl": {"collapsed": [0.3, 0.001, 1.5], "learnt": [3.0, 3.1, 3.2]}}
    found = verdict(_cells(scores))
    assert found.finding("mig").sizes[0].best_phrase.startswith("collapsed (collapsed in 2 of 3 seeds) is best")
    assert (found.collapse.cells, found.collapse.collapsed, found.collapse.settings) == (6, 2, {"collapsed": (2, 3)})
    assert found.collapse.sentence.startswith("Collapse: 2 of 6 cells collapsed, with no active latent or a KL(q(z|x) || "
                                              "p(z)) below 0.01 nats: their code carries nothing about the input;")
    assert "1 of 2 settings collapsed in most of their seeds: collapsed (2 of 3)" in found.collapse.sentence
    assert found.collapse.sentence in found.answer
    assert found.named_first("collapsed") == "best on MIG; collapsed in 2 of 3 seeds"  # the traversals' heading
    healthy = verdict(_cells({**scores, "active_units": {"collapsed": [3.0] * 3, "learnt": [4.0] * 3},
                              "elbo_kl": {"collapsed": [1.0] * 3, "learnt": [3.0] * 3}}))
    assert healthy.collapse.sentence == ("Collapse: 0 of 6 cells collapsed (a cell collapses with no active latent or "
                                         "a KL(q(z|x) || p(z)) below 0.01 nats).")
    assert "collapsed in" not in healthy.finding("mig").sizes[0].best_phrase


def test_settings_above_and_below_a_linear_code_are_told_apart():
    scores = {"mig": {"above": [0.30, 0.31, 0.32], "below": [0.01, 0.02, 0.03], "under": [0.04, 0.05, 0.06]}}
    references = pd.DataFrame([{"title": LINEAR_CODE, "latent_dim": 4, "metric": "mig", "value": v}
                               for v in (0.09, 0.10, 0.11)] +
                              [{"title": LINEAR_CODE, "latent_dim": 10, "metric": "mig", "value": 0.5}])
    best = verdict(_cells(scores), references=references).finding("mig").sizes[0]
    assert best.below_linear == (2, 3, pytest.approx(0.10))
    assert ("2 of 3 settings at z = 4 score below the linear code (PCA of the inputs) on the MIG, by their mean (the "
            "linear code's: 0.100).") in best.lines
    assert best.answer.endswith("; 2 of 3 settings at z = 4 score below the linear code (PCA of the inputs) on the MIG, "
                                "by their mean (the linear code's: 0.100).")  # on the first screen too
    lower = verdict(_cells({"recon_bce": {"a": [50.0, 51.0], "b": [60.0, 61.0]}}), references=references)
    assert lower.finding("recon_bce").sizes[0].below_linear is None  # no linear code has it


def test_a_one_seed_grid_names_no_winner_and_states_no_p_best():
    scores = {"recon_bce": {"a": [50.0], "b": [60.0]}, "mig": {"a": [0.1], "b": [0.3]}}
    found = verdict(_cells(scores))
    for finding in found.findings:
        [best] = finding.sizes
        assert best.winner is None and best.top_two is None and not best.cost
        assert best.best_phrase == ("1 seed per setting: no setting is named best and no P(best) is stated (it needs "
                                    "at least 2 seeds per setting)")
    assert not any("P(best) =" in line or " is best" in line for line in found.answer + [found.headline])
    assert found.named_first("b") == ""


def test_settings_are_compared_within_their_latent_size_never_with_themselves_at_another():
    four = _cells({"mig": {"A, z = 4": [0.30, 0.31, 0.32], "B, z = 4": [0.10, 0.11, 0.12]}})
    ten = _cells({"mig": {"A, z = 10": [0.30, 0.32, 0.31], "B, z = 10": [0.20, 0.21, 0.22]}}, latent_dim=10)
    found = verdict(pd.concat([four, ten], ignore_index=True)).finding("mig")
    assert [(best.size, best.winner.settings) for best in found.sizes] == [("z = 4", ("A, z = 4",)),
                                                                          ("z = 10", ("A, z = 10",))]
    assert found.sizes[1].lines[0].startswith("MIG at z = 10: A, z = 10 is best (mean 0.310, median 0.310, P(best) = 1.00)")
    assert not any("cannot be separated" in line for line in found.lines)


def test_the_capture_map_names_the_latent_and_says_one_latent_for_two_factors():
    def matrix(values):
        return {"mig": {"rows": [f"z{i}" for i in range(len(values))], "columns": ["shape", "scale", "x"],
                        "values": values}}
    cells = {"c0": ("A", 0, matrix([[0.40, 0.55, 0.02], [0.01, 0.02, 0.6]])),
             "c1": ("A", 1, matrix([[0.02, 0.02, 0.3], [0.30, 0.50, 0.02]])),
             "c2": ("B", 0, matrix([[0.01, CAPTURED_SHARE - 0.05, 0.02]])), "c3": ("B", 1, {})}
    found = capture(cells)
    assert found.factors == ("shape", "scale", "x")
    assert found.rows["A"]["shape"] == (pytest.approx(0.35), 2, 2) and found.rows["B"]["scale"] == (0.2, 0, 1)
    assert found.passing("x") == (2, 3)
    assert found.seed_lines("A") == ["s0: z0: shape and scale; z1: x", "s1: z1: shape and scale; z0: x"]
    assert found.seed_lines("B") == ["s0: none"]  # below the cut, at the estimator's bias: none
    assert found.lines == ["One latent for both (shape and scale) in 2 of 3 cells: there they are one code, not 2 "
                           "captured factors (2 of the 2 cells that capture shape, 2 of the 2 cells that capture scale)."]
    assert capture({}) is None


def test_a_cost_is_against_the_best_reconstruction_at_the_size_even_where_that_setting_lacks_the_score():
    frame = _cells({"recon_bce": {"ae": [10.0, 10.2], "vae": [12.0, 12.2]}, "mig": {"vae": [0.2, 0.21]}})
    best = verdict(frame).finding("mig").sizes[0]
    assert best.cost == {"vae": (pytest.approx(2.0), "ae")}
    assert best.cost_phrase == "at 2.00 nats more reconstruction error than the best at z = 4 (ae)"


def test_a_significant_change_whose_median_is_nil_is_not_called_still_improving():
    final = {s: [0.1 * k + 0.01 * seed for seed in range(10)] for k, s in enumerate("abc")}
    moved = {("a", seed) for seed in range(10)} | {("b", seed) for seed in range(4)}  # 14 of 30 cells rose
    rows = [{"setting": s, "seed": seed, "step": step, "metric": "mig",
             "value": v - 0.02 * (step == 100 and (s, seed) in moved)} for s, values in final.items() for seed, v in enumerate(values) for step in (100, 300)]
    found = verdict(_cells({"mig": final}), checkpoints=pd.DataFrame(rows)).finding("mig").convergence
    assert found.significant and not found.moving and found.change.median == 0
    assert found.lines[0].endswith("a significant change whose median (0) is no larger than 0.")
