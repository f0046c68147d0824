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
    medians = pd.DataFrame({"setting": ["vae4", "bvae4", "vae10"], "dataset": ["d"] * 3, "latent_dim": [4, 4, 10],
                            "median": [80.0, 92.4, 56.3]})
    assert stats.same_size_cost(medians).to_dict() == {"vae4": 0.0, "bvae4": pytest.approx(12.4), "vae10": 0.0}


def test_kendall_tau_and_the_pareto_front():
    ranks = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    assert stats.kendall_tau(ranks, ranks) == (1.0, 4)
    assert stats.kendall_tau(ranks, -ranks) == (-1.0, 4)
    front = stats.pareto_front(np.array([50.0, 60.0, 70.0, 65.0]), np.array([0.1, 0.2, 0.3, 0.15]))
    assert front.tolist() == [True, True, True, False]  # the last costs more than b and gains less
