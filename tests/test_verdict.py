"""The index's verdict on a synthetic results dir whose answers are known: a dominant setting, a tie, a score with no
setting effect, a cell scored under another protocol; every sentence's words and numbers checked."""

import html
import re

import numpy as np
import pandas as pd
import pytest

from study_results import write_study
from vaebench.site import build_site
from vaebench.site.numbers import p_value
from vaebench.site.verdict import CAPTURED_SHARE, capture, verdict


def _text(page) -> str:
    """The page's visible text, one space between words (scripts and styles removed)."""
    markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = write_study(tmp_path_factory.mktemp("study") / "study")
    return _text(build_site(root, tmp_path_factory.mktemp("site") / "site"))


def test_a_dominant_setting_is_named_with_its_p_best_its_dominance_and_its_cost_at_the_same_latent_size(index):
    assert "Reconstruction: VAE, z = 4 is best (median 50.0 nats, P(best) = 1.00)." in index
    assert ("MIG: β-VAE (β = 16), z = 4 is best (median 0.300, P(best) = 1.00), at 20.0 nats more reconstruction "
            "error than the best at z = 4 (VAE, z = 4).") in index
    assert ("A random seed of β-VAE (β = 16), z = 4 beats one of the runner-up β-TCVAE (β = 6), z = 4 with P = 1.00"
            in index)


def test_a_tie_is_a_tie_never_a_winner(index):
    assert "β-VAE score: β-TCVAE (β = 6), z = 4 and β-VAE (β = 16), z = 4 tie at a median of 0.840" in index
    assert "β-VAE score: β-TCVAE (β = 6), z = 4 is best" not in index and "β-VAE score: β-VAE (β = 16), z = 4 is best" \
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


def test_scores_along_training_say_whether_the_ranking_still_moved():
    rows = [{"setting": s, "seed": seed, "step": step, "metric": "mig", "value": v}
            for s, by_step in {"a": {100: 0.1, 300: 0.3}, "b": {100: 0.2, 300: 0.2}, "c": {100: 0.3, 300: 0.1}}.items()
            for step, v in by_step.items() for seed in range(3)]
    frame = pd.DataFrame([{"setting": s, "seed": seed, "metric": "mig", "value": v, "dataset": "d", "latent_dim": 4,
                           "objective": s} for s, v in (("a", 0.3), ("b", 0.2), ("c", 0.1)) for seed in range(3)])
    finding = verdict(frame, checkpoints=pd.DataFrame(rows)).finding("mig")
    assert (finding.convergence.tau, finding.convergence.settings, finding.convergence.moved) == (-1.0, 3, 2)
    assert "Kendall τ = −1.00" in finding.convergence.sentence.replace("-", "−")
    assert "not converged at this budget" in finding.convergence.sentence


def test_the_capture_map_counts_cells_whose_best_latent_passes_the_cut():
    def matrix(values):
        return {"mig": {"rows": [f"z{i}" for i in range(len(values))], "columns": ["shape", "x"], "values": values}}
    cells = {"c0": ("A", matrix([[0.02, 0.6], [CAPTURED_SHARE - 0.05, 0.1]])), "c1": ("A", matrix([[0.3, 0.02]])),
             "c2": ("B", matrix([[0.01, 0.02]])), "c3": ("B", {})}
    found = capture(cells)
    assert found.factors == ("shape", "x")
    assert found.rows["A"]["shape"] == (pytest.approx(0.25), 1, 2) and found.rows["B"]["x"] == (0.02, 0, 1)
    assert found.passing("x") == (1, 3)
    assert capture({}) is None


def test_the_winners_traversals_say_best_only_where_the_setting_won_alone():
    """The heading over a setting's traversals: "best on" a score it clears P(best) on alone, never on a score where
    it only heads a group that cannot be separated."""
    scores = {"mig": {"a": [0.9, 0.91, 0.92], "b": [0.1, 0.11, 0.12]},  # a dominates
              "beta_vae_eval": {"a": [0.5, 0.62, 0.7], "b": [0.6, 0.61, 0.5]}}  # a's median is higher, its seeds are not
    frame = pd.DataFrame([{"setting": s, "seed": seed, "metric": m, "value": v, "dataset": "d", "latent_dim": 4,
                           "objective": s} for m, by_setting in scores.items() for s, values in by_setting.items()
                          for seed, v in enumerate(values)])
    found = verdict(frame)
    assert found.finding("mig").winner.settings == ("a",)
    assert found.finding("beta_vae_eval").winner.settings[0] == "a" and not found.finding("beta_vae_eval").winner.separated
    assert found.named_first("a") == "best on MIG; named first, not separable from others, on β-VAE score"
    assert found.named_first("b") == ""
