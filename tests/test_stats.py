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


def _grid(values: np.ndarray) -> pd.DataFrame:
    """A (settings, seeds) array of scores as the tidy frame stats reads."""
    settings, seeds = values.shape
    return pd.DataFrame({"setting": np.repeat([f"s{g:02d}" for g in range(settings)], seeds),
                         "seed": np.tile(np.arange(seeds), settings), "value": values.ravel()})


def test_eta_squared_omega_squared_the_chance_level_and_f_by_hand():
    effect = stats.setting_effect(_frame({"a": [1.0, 3.0], "b": [5.0, 7.0]}))
    # grand mean 4; SS_between = 2·(2−4)² + 2·(6−4)² = 16; SS_total = 9+1+1+9 = 20
    assert effect.eta2 == pytest.approx(0.8) and effect.chance == pytest.approx(1 / 3)
    # MS_within = 4 / 2 = 2; ω² = (20 − 4 − 1·2) / (20 + 2); F = (16 / 1) / 2
    assert effect.omega2 == pytest.approx(14 / 22)
    assert effect.f == pytest.approx(8.0) and effect.df == (1, 2) and (effect.cells, effect.settings) == (4, 2)
    assert 0 <= effect.low <= effect.high <= 1
    assert stats.setting_effect(_frame({"a": [1.0, 2.0]})) is None  # one setting: nothing to explain
    assert stats.setting_effect(_frame({"a": [1.0], "b": [2.0]})) is None  # no replicates
    assert stats.setting_effect(_frame({"a": [1.0, 1.0], "b": [1.0, 1.0]})) is None  # the score does not vary


def test_a_score_only_seeds_move_has_no_effect_and_one_only_settings_move_has_all_of_it():
    same = [0.3, 0.5, 0.7]
    none = stats.setting_effect(_frame({"a": same, "b": same[::-1], "c": same[1:] + same[:1]}))
    assert none.eta2 == pytest.approx(0.0, abs=1e-12) and none.p == 1.0 and none.low == none.high == 0.0
    only = stats.setting_effect(_frame({"a": [1.0] * 3, "b": [2.0] * 3}))
    assert only.eta2 == only.omega2 == only.low == only.high == 1.0 and only.f == float("inf")


def test_a_null_score_has_no_detectable_setting_effect_and_an_interval_from_zero():
    """18 settings × 5 seeds of pure noise (the study's design): settings do not matter."""
    effect = stats.setting_effect(_grid(np.random.default_rng(1).normal(size=(18, 5))))
    assert effect.p >= stats.ALPHA and not effect.detected
    assert effect.low == 0.0 and effect.high > 0  # the interval holds 0
    assert effect.chance == pytest.approx(17 / 89) and effect.df == (17, 72)


def test_a_strong_setting_effect_is_detected_and_its_interval_excludes_zero():
    rng = np.random.default_rng(2)
    effect = stats.setting_effect(_grid(rng.normal(size=(18, 1)) + 0.3 * rng.normal(size=(18, 5))))
    assert effect.detected and effect.p == pytest.approx(1 / (1 + stats.PERMUTATIONS))  # no shuffle comes close
    assert 0.5 < effect.low <= effect.omega2 <= effect.high < 1


def test_the_noncentral_f_interval_puts_f_obs_at_the_95th_and_5th_percentiles_of_its_ends():
    from scipy.stats import f, ncf

    rng = np.random.default_rng(4)
    effect = stats.setting_effect(_grid(0.5 * rng.normal(size=(18, 1)) + rng.normal(size=(18, 5))))
    (df1, df2), cells = effect.df, effect.cells
    low, high = (cells * share / (1 - share) for share in (effect.low, effect.high))  # η² = λ / (λ + N) inverted
    assert 0 < low < high
    assert ncf.cdf(effect.f, df1, df2, low) == pytest.approx(0.95, abs=1e-6)
    assert ncf.cdf(effect.f, df1, df2, high) == pytest.approx(0.05, abs=1e-6)
    # below the central F's 95th percentile the lower end is 0
    weak = stats.setting_effect(_grid(np.random.default_rng(1).normal(size=(18, 5))))
    assert weak.f < f.ppf(0.95, *weak.df) and weak.low == 0.0


def test_the_noncentral_f_interval_covers_the_true_share_in_about_90_percent_of_studies():
    """200 simulated studies of 18 settings × 5 seeds whose settings explain 0.3 of the variance."""
    rng = np.random.default_rng(3)
    means = rng.normal(size=18)
    means = (means - means.mean()) / means.std()  # the settings' variance is 1; the seeds' is 1 / 0.3 − 1
    covered = 0
    for _ in range(200):
        effect = stats.setting_effect(_grid(means[:, None] + np.sqrt(1 / 0.3 - 1) * rng.normal(size=(18, 5))),
                                      permutations=1)
        covered += effect.low <= 0.3 <= effect.high
    assert 0.84 <= covered / 200 <= 0.96


def test_the_permutation_p_is_exact_reproducible_and_never_below_one_over_b_plus_one():
    # 2 settings × 2 seeds: of the 6 ways to split {1, 2, 3, 4} in two pairs, 2 explain as much as {1, 2} | {3, 4}
    exact = stats.setting_effect(_frame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert exact.p == pytest.approx(1 / 3, abs=0.015) and exact.permutations == stats.PERMUTATIONS >= 10_000
    frame = _grid(np.random.default_rng(5).normal(size=(18, 5)))
    assert stats.setting_effect(frame).p == stats.setting_effect(frame).p  # a fixed seed
    strong = _grid(np.arange(18.0)[:, None] + 0.01 * np.arange(5.0))
    assert stats.setting_effect(strong, permutations=99).p == 1 / 100


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


def _design(values, objectives=("beta", "tc", "dip"), strengths=3, latent_dims=(4, 10)) -> pd.DataFrame:
    """The study's nested design: objectives ⊃ strengths, at each latent size, seeds within settings; ``values``
    (objectives, latent sizes, strengths, seeds)."""
    values = np.asarray(values, float)
    rows = [{"setting": f"{o}{s}z{z}", "objective": o, "latent_dim": z, "seed": seed, "value": values[i, j, s, seed]}
            for i, o in enumerate(objectives) for j, z in enumerate(latent_dims) for s in range(strengths)
            for seed in range(values.shape[-1])]
    return pd.DataFrame(rows)


def test_the_decomposition_adds_up_and_finds_the_part_that_varies():
    settings = {"b1z4": ("beta", 4), "b4z4": ("beta", 4), "t1z4": ("tc", 4), "t4z4": ("tc", 4)}
    objective = {name: o for name, (o, _) in settings.items()}
    latent = {name: z for name, (_, z) in settings.items()}
    by_objective = _frame({"b1z4": [1.0, 1.01], "b4z4": [1.0, 0.99], "t1z4": [5.0, 5.01], "t4z4": [5.0, 4.99]},
                          objective=objective, latent_dim=latent)
    parts = stats.decomposition(by_objective)
    assert list(parts) == list(stats.PARTS)
    assert sum(part.share for part in parts.values()) == pytest.approx(1.0)
    assert parts["objective"].share > 0.99 and parts[stats.PARTS[1]].share == pytest.approx(0.0, abs=1e-12)
    by_strength = _frame({"b1z4": [1.0, 1.0], "b4z4": [3.0, 3.0], "t1z4": [1.0, 1.0], "t4z4": [3.0, 3.0]},
                         objective=objective, latent_dim=latent)
    assert stats.decomposition(by_strength)["strength within objective"].share == pytest.approx(1.0)


def test_the_null_shares_are_each_parts_degrees_of_freedom_over_n_minus_one():
    """3 objectives × 2 latent sizes × 3 strengths × 5 seeds: df 2 / 3 / 12 / 72 of 89."""
    parts = stats.decomposition(_design(np.random.default_rng(6).normal(size=(3, 2, 3, 5))))
    assert [part.df for part in parts.values()] == [2, 3, 12, 72]
    assert [round(part.null, 3) for part in parts.values()] == [0.022, 0.034, 0.135, 0.809]
    assert sum(part.null for part in parts.values()) == pytest.approx(1.0)
    # pure noise: on average over studies each share sits at its null share
    rng = np.random.default_rng(7)
    mean = np.mean([[p.share for p in stats.decomposition(_design(rng.normal(size=(3, 2, 3, 5)))).values()]
                    for _ in range(200)], axis=0)
    assert mean == pytest.approx([2 / 89, 3 / 89, 12 / 89, 72 / 89], abs=0.02)


def test_the_objective_against_strength_test_by_hand_per_latent_size():
    from scipy.stats import f

    rng = np.random.default_rng(8)
    values = rng.normal(size=(3, 2, 3, 5))
    values[:, 0] += np.array([0.0, 5.0, 10.0])[:, None, None]  # at z = 4 the objectives lie far apart
    frame = _design(values)
    tests = stats.objective_against_strength(frame)
    assert set(tests) == {4, 10} and tests[4].df == tests[10].df == (2, 6)
    sized = frame[frame["latent_dim"] == 4]
    means = sized.groupby("setting")["value"].mean()
    objective_means = sized.groupby("objective")["value"].mean()
    grand = sized["value"].mean()
    ss_objective = 15 * ((objective_means - grand) ** 2).sum()
    ss_strength = 5 * ((means - sized.groupby("setting")["objective"].first().map(objective_means)) ** 2).sum()
    by_hand = (ss_objective / 2) / (ss_strength / 6)
    assert tests[4].f == pytest.approx(by_hand) and tests[4].p == pytest.approx(f.sf(by_hand, 2, 6))
    assert tests[4].rejects and not tests[10].rejects
    one_objective = frame[frame["objective"] == "beta"]
    assert stats.objective_against_strength(one_objective) == {}  # nothing to test against


def test_variance_components_of_a_balanced_grid_are_the_textbook_mean_square_differences():
    values = np.random.default_rng(9).normal(size=(3, 1, 3, 5)) + np.arange(9.0).reshape(3, 1, 3, 1)
    frame = _design(values, latent_dims=(4,))
    [(latent_dim, found)] = stats.variance_components(frame).items()
    assert latent_dim == 4 and (found.objectives, found.strengths, found.cells) == (3, 3, 45)
    means = frame.groupby("setting")["value"].mean()
    objective_means = frame.groupby("objective")["value"].mean()
    ms_seed = ((frame["value"] - frame["setting"].map(means)) ** 2).sum() / 36
    ms_strength = 5 * ((means - frame.groupby("setting")["objective"].first().map(objective_means)) ** 2).sum() / 6
    ms_objective = 15 * ((objective_means - frame["value"].mean()) ** 2).sum() / 2
    assert found.variances == pytest.approx({"objective": (ms_objective - ms_strength) / 15,
                                             "strength within objective": (ms_strength - ms_seed) / 5,
                                             "seed": ms_seed})
    assert sum(found.shares.values()) == pytest.approx(1.0)
    # every strength of an objective has the same seeds: MS_strength = 0 < MS_seed, a negative estimate cut at 0
    seeds = np.random.default_rng(10).normal(size=5)
    flat = np.broadcast_to(seeds, (3, 1, 3, 5)) + np.array([0.0, 10.0, 20.0]).reshape(3, 1, 1, 1)
    cut = stats.variance_components(_design(flat, latent_dims=(4,)))[4]
    assert cut.variances["strength within objective"] == 0.0 and cut.shares["objective"] > 0.99
    # one objective, or one strength per objective: not estimable
    assert stats.variance_components(_design(values[:1], objectives=("beta",), latent_dims=(4,))) == {}
    assert stats.variance_components(_design(values[:, :, :1], strengths=1, latent_dims=(4,))) == {}


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
