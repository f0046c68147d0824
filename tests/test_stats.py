"""The statistics behind the verdict, on grids whose answers are known (vaebench.stats)."""

import numpy as np
import pandas as pd
import pytest

from vaebench import stats


def _frame(groups: dict, **columns) -> pd.DataFrame:
    """{setting: [value per seed]} as the tidy frame stats reads (extra per-setting columns from ``columns``)."""
    return pd.DataFrame([{"setting": name, "seed": seed, "value": value,
                          **{column: by_setting[name] for column, by_setting in columns.items()}}
                         for name, values in groups.items() for seed, value in enumerate(values)])


def test_eta_squared_omega_squared_and_the_chance_level_by_hand():
    share = stats.variance_share(_frame({"a": [1.0, 3.0], "b": [5.0, 7.0]}))
    # grand mean 4; SS_between = 2·1² ·... = 2·(2−4)² + 2·(6−4)² = 16; SS_total = 9+1+1+9 = 20
    assert share.eta2.value == pytest.approx(0.8) and share.chance == pytest.approx(1 / 3)
    # MS_within = 4 / 2 = 2; ω² = (20 − 4 − 1·2) / (20 + 2)
    assert share.omega2 == pytest.approx(14 / 22)
    assert share.eta2.low <= share.eta2.high and (share.cells, share.settings) == (4, 2)
    assert stats.variance_share(_frame({"a": [1.0, 2.0]})) is None  # one setting: nothing to explain
    assert stats.variance_share(_frame({"a": [1.0], "b": [2.0]})) is None  # no replicates


def test_a_score_only_seeds_move_has_eta_squared_zero_and_one_only_settings_move_has_one():
    same = [0.3, 0.5, 0.7]
    assert stats.variance_share(_frame({"a": same, "b": same[::-1], "c": same[1:] + same[:1]})).eta2.value == \
        pytest.approx(0.0, abs=1e-12)
    assert stats.variance_share(_frame({"a": [1.0] * 3, "b": [2.0] * 3})).eta2.value == pytest.approx(1.0)


def test_p_best_is_certain_for_a_dominant_setting_splits_exact_ties_and_respects_direction():
    dominant = _frame({"a": [0.9, 0.91, 0.92], "b": [0.1, 0.2, 0.3], "c": [0.4, 0.5, 0.45]})
    assert stats.p_best(dominant, higher_is_better=True).to_dict() == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert stats.p_best(dominant, higher_is_better=False).index[0] == "b"
    tie = stats.p_best(_frame({"a": [0.5] * 3, "b": [0.5] * 3, "c": [0.1] * 3}), True)
    assert tie["a"] == tie["b"] == pytest.approx(0.5) and tie["c"] == 0
    assert tie.sum() == pytest.approx(1.0)


def test_a_winner_is_named_only_above_the_threshold_and_a_tie_never_is():
    clear = stats.winner(_frame({"a": [0.9, 0.91, 0.92], "b": [0.1, 0.2, 0.3]}), True)
    assert clear.separated and clear.settings == ("a",) and clear.p_best == {"a": 1.0} and clear.seeds == 3
    tied = stats.winner(_frame({"a": [0.8, 0.9, 0.85], "b": [0.85, 0.8, 0.9], "c": [0.1, 0.2, 0.1]}), True)
    assert not tied.separated and set(tied.settings) == {"a", "b"} == set(tied.tied)
    close = stats.winner(_frame({"a": [0.5, 0.9, 0.7], "b": [0.6, 0.8, 0.65], "c": [0.0, 0.1, 0.0]}), True)
    assert close.tied == ("a",) and set(close.settings) == {"a", "b"}
    assert sum(close.p_best.values()) >= stats.WINNER_THRESHOLD


def test_p_best_ranks_by_the_mean_so_one_strong_seed_does_not_carry_a_setting():
    """At n = 5 a resample's median is the top seed whenever it is drawn three times or more (P = 0.058)."""
    frame = _frame({"steady": [0.60, 0.61, 0.62, 0.63, 0.64], "lucky": [0.70, 0.20, 0.21, 0.22, 0.23]})
    assert stats.p_best(frame, True, "median")["lucky"] == pytest.approx(0.058, abs=0.006)
    assert stats.p_best(frame, True, "mean")["lucky"] < 0.001
    found = stats.winner(frame, True)
    assert found.statistic == "mean" and found.settings == ("steady",) and found.top_two == ("steady", "lucky")
    assert found.values == {"steady": pytest.approx(0.62), "lucky": pytest.approx(0.312)}
    assert found.medians["lucky"] == pytest.approx(0.22)
    assert stats.named_statistic(stats.MEAN_UP_TO_SEEDS) == "mean" and stats.named_statistic(8) == "median"


def test_p_best_is_reproducible_from_at_least_ten_thousand_resamples():
    frame = _frame({"a": [0.5, 0.9, 0.7, 0.6, 0.65], "b": [0.6, 0.8, 0.65, 0.7, 0.5], "c": [0.55, 0.6, 0.7, 0.6, 0.62]})
    assert stats.BEST_RESAMPLES >= 10_000 and stats.winner(frame, True).resamples == stats.BEST_RESAMPLES
    assert stats.p_best(frame, True).equals(stats.p_best(frame, True))
    # another generator seed moves P(best) by no more than its Monte Carlo error (≈ 0.005 at 10,000 resamples)
    other = stats.p_best(frame, True, seed=1)
    assert (other - stats.p_best(frame, True)).abs().max() < 0.02


def test_one_seed_per_setting_names_nothing_and_equal_means_tie():
    assert stats.winner(_frame({"a": [0.9], "b": [0.1]}), True) is None
    tie = stats.winner(_frame({"a": [0.2, 0.4], "b": [0.4, 0.2], "c": [0.0, 0.1]}), True)
    assert set(tie.tied) == {"a", "b"} and not tie.separated


def test_a_paired_change_counts_cells_by_direction_and_tests_them_with_the_signed_rank():
    before = _frame({"a": [0.1, 0.2, 0.3, 0.4], "b": [0.5, 0.6, 0.7, 0.8]}).assign(step=100)
    after = before.assign(step=300, value=before["value"] + [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, -0.001])
    frame = pd.concat([before, after], ignore_index=True)
    change = stats.paired_change(frame, 100, 300, higher_is_better=True)
    assert (change.steps, change.cells, change.better, change.worse) == ((100, 300), 8, 7, 1)
    assert change.median == pytest.approx(0.035)
    assert change.p == pytest.approx(0.015625)  # exact: only the smallest of 8 ranks negative: 4 / 2⁸
    assert stats.paired_change(frame, 100, 300, higher_is_better=False).better == 1
    assert stats.paired_change(frame, 100, 200, True) is None
    unmoved = stats.paired_change(pd.concat([before, before.assign(step=300)]), 100, 300, True)
    assert (unmoved.better, unmoved.worse, unmoved.p) == (0, 0, 1.0)


def test_measurement_noise_and_seed_spread():
    assert stats.accuracy_noise([0.5, 0.5], 20) == pytest.approx(0.5 / 20 ** 0.5)
    assert stats.accuracy_noise([0.5, 0.9, 1.0], 20) == pytest.approx(((0.25 + 0.09 + 0) / 3 / 20) ** 0.5)
    assert stats.seed_spread(_frame({"a": [1.0, 3.0], "b": [0.0, 0.0, 0.0], "c": [5.0]})) == pytest.approx(2 ** 0.5 / 2)


def test_pairwise_dominance_is_mann_whitney_u_over_the_pairs():
    assert stats.dominance(np.array([3.0, 4.0]), np.array([1.0, 2.0]), True) == 1.0
    assert stats.dominance(np.array([3.0, 4.0]), np.array([1.0, 2.0]), False) == 0.0
    assert stats.dominance(np.array([1.0, 3.0]), np.array([1.0, 2.0]), True) == pytest.approx((0.5 + 0 + 1 + 1) / 4)


def test_the_decomposition_adds_up_and_finds_the_part_that_varies():
    settings = {"b1z4": ("beta", 4), "b4z4": ("beta", 4), "t1z4": ("tc", 4), "t4z4": ("tc", 4)}
    objective = {name: o for name, (o, _) in settings.items()}
    latent = {name: z for name, (_, z) in settings.items()}
    by_objective = _frame({"b1z4": [1.0, 1.01], "b4z4": [1.0, 0.99], "t1z4": [5.0, 5.01], "t4z4": [5.0, 4.99]},
                          objective=objective, latent_dim=latent)
    parts = stats.decomposition(by_objective)
    assert list(parts) == list(stats.PARTS)
    assert sum(share.value for share in parts.values()) == pytest.approx(1.0)
    assert parts["objective"].value > 0.99 and parts["latent size"].value == pytest.approx(0.0, abs=1e-12)
    by_strength = _frame({"b1z4": [1.0, 1.0], "b4z4": [3.0, 3.0], "t1z4": [1.0, 1.0], "t4z4": [3.0, 3.0]},
                         objective=objective, latent_dim=latent)
    assert stats.decomposition(by_strength)["strength within objective"].value == pytest.approx(1.0)


def test_costs_are_against_the_best_at_the_same_latent_size():
    summary = pd.DataFrame({"setting": ["vae4", "bvae4", "vae10"], "dataset": ["d"] * 3, "latent_dim": [4, 4, 10],
                            "value": [80.0, 92.4, 56.3]})
    assert stats.same_size_cost(summary).to_dict() == {"vae4": 0.0, "bvae4": pytest.approx(12.4), "vae10": 0.0}


def test_kendall_tau_and_the_pareto_front():
    ranks = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    assert stats.kendall_tau(ranks, ranks) == (1.0, 4)
    assert stats.kendall_tau(ranks, -ranks) == (-1.0, 4)
    front = stats.pareto_front(np.array([50.0, 60.0, 70.0, 65.0]), np.array([0.1, 0.2, 0.3, 0.15]))
    assert front.tolist() == [True, True, True, False]  # the last costs more than b and gains less
