"""The convergence ladder: does a verdict at the first budget survive longer training? Synthetic ladders of known truth."""

import json

import numpy as np
import pandas as pd
import pytest

from study_results import SETTINGS, write_cell, write_grid, write_study
from vaebench.site.convergence import CHANGE_P as PAIRED_P, RANKING_TAU
from vaebench.site.ladder import ladder
from vaebench.site.studies import build_site

STEPS = (3000, 6000, 12000)
SETTING_NAMES = [f"setting {k}" for k in range(9)]


def _frame(value_at, seeds=5) -> pd.DataFrame:
    """A tidy frame of one score (MIG) of 9 settings × ``seeds`` seeds at STEPS: ``value_at(k, seed, step)``."""
    return pd.DataFrame([{"setting": name, "latent_dim": 10, "seed": seed, "step": step, "metric": "mig",
                          "value": value_at(k, seed, step)}
                         for k, name in enumerate(SETTING_NAMES) for seed in range(seeds) for step in STEPS])


NOISE = np.random.default_rng(0).normal(0, 0.005, size=(9, 5, len(STEPS)))


def _stable(k, seed, step):
    """Setting k scores 0.02·k, its seeds spread by ±0.01 around it; each step adds measurement noise only."""
    return 0.02 * k + 0.005 * (seed - 2) + NOISE[k, seed, STEPS.index(step)] * 0.1


def test_a_verdict_that_holds_is_said_to_survive_and_converge():
    [finding] = ladder(_frame(_stable), ("mig",))
    assert [rung.winner.settings for rung in finding.rungs] == [("setting 8",)] * 3
    assert finding.statistic == "mean" and finding.survives and finding.converged
    assert all(tau == pytest.approx(1.0) and n == 9 for tau, n in finding.taus.values())
    assert set(finding.taus) == {(3000, 6000), (3000, 12000), (6000, 12000)}
    assert all(change.p >= PAIRED_P for change in finding.changes)
    text = " ".join(finding.lines)
    assert "setting 8 is still named at 12,000 steps" not in text  # the sentence names the first setting of 3,000
    assert "The 3,000-step verdict's first setting, setting 8, is still named at 12,000 steps." in text
    assert "the ranking is converged" in text


def test_a_score_that_moves_in_every_cell_is_still_moving_even_with_the_same_ranking():
    [finding] = ladder(_frame(lambda k, seed, step: _stable(k, seed, step) + 0.05 * STEPS.index(step)), ("mig",))
    assert all(tau == pytest.approx(1.0) for tau, _ in finding.taus.values())
    assert [(c.better, c.worse, c.cells) for c in finding.changes] == [(45, 0, 45), (45, 0, 45)]
    assert all(change.p < PAIRED_P for change in finding.changes) and not finding.converged
    text = " ".join(finding.lines)
    assert "45 of 45 cells improved" in text and "still moving" in text
    assert f"not converged (the rule: τ ≥ {RANKING_TAU}" in text


def test_a_ranking_that_turns_over_is_no_longer_named():
    """The best setting at 3,000 steps is the worst at 12,000, and the order reverses."""
    def turning(k, seed, step):
        return _stable(8 - k if step == 12000 else k, seed, step)

    [finding] = ladder(_frame(turning), ("mig",))
    assert finding.rungs[0].winner.settings == ("setting 8",) and finding.rungs[-1].winner.settings == ("setting 0",)
    assert finding.survives is False and not finding.converged
    assert finding.taus[(6000, 12000)][0] == pytest.approx(-1.0)
    assert "is no longer named at 12,000 steps" in " ".join(finding.lines)


def test_lower_is_better_scores_improve_downwards():
    [finding] = ladder(_frame(lambda k, seed, step: 100 - 10 * STEPS.index(step) + k + 0.1 * seed).assign(
        metric="recon_bce"), ("recon_bce",))
    assert finding.rungs[0].winner.settings == ("setting 0",)
    assert [(c.better, c.worse) for c in finding.changes] == [(45, 0), (45, 0)]


def test_one_seed_per_setting_names_nobody_and_a_single_step_gives_no_finding():
    [finding] = ladder(_frame(_stable, seeds=1), ("mig",))
    assert all(rung.winner is None for rung in finding.rungs) and finding.survives is None
    assert "none named (a setting needs two seeds)" in finding.lines[0]
    assert ladder(_frame(_stable)[lambda f: f["step"] == 12000], ("mig",)) == []


def test_the_study_page_shows_the_ladder_from_the_cells_snapshots(tmp_path):
    """A results dir whose cells hold snapshots gets the section, its chart and its data; the verdict reads the last step."""
    root = tmp_path / "r"
    names = []
    for k in range(3):
        for seed in range(3):
            final = {"recon_bce": 60.0 - 5 * k + seed, "mig": 0.1 + 0.05 * k + 0.01 * seed}
            name = write_cell(root, "beta_vae", {"beta": float(2 ** k)}, 10, seed, final)
            for step, shift in ((3000, 0.02), (6000, 0.01)):
                folder = root / name / "snapshots" / f"step{step}"
                folder.mkdir(parents=True)
                early = {"recon_bce": final["recon_bce"] + 1000 * shift, "mig": final["mig"] - shift}
                (folder / "metrics.json").write_text(json.dumps({"scores": early, "settings": SETTINGS, "seconds": {},
                                                                 "matrices": {}}))
            params = json.loads((root / name / "params.json").read_text())
            (root / name / "params.json").write_text(json.dumps({**params, "steps": 12000}))
            names.append(name)
    write_grid(root, names + ["dsprites64/beta_vae-beta8/conv/z10/s0"])  # a ladder still training: one cell pending
    index = build_site(root, tmp_path / "site")
    page = index.read_text()
    assert "Does the verdict survive longer training?" in page
    assert "9 trained cells of the grid's 10 (1 still to train)" in " ".join(page.split())  # said on the first screen
    overview = build_site([root, write_study(tmp_path / "other")], tmp_path / "both").read_text()  # the overview too
    assert "9 trained cells of 3 settings; latent sizes 10; seeds 0, 1, 2; 1 more cell still to train." in " ".join(overview.split())
    assert "From 3,000 to 6,000 steps 9 of 9 cells improved" in page
    data = (index.parent / "data" / "metrics.js").read_text()
    budgets = json.loads(data.split("window.VAEBENCH_DATA.budgets = ")[1].split(";\n")[0])
    assert sorted({row["step"] for row in budgets}) == list(STEPS)
    assert {row["n"] for row in budgets} == {3}


def test_five_cells_that_all_improve_are_not_called_converged():
    """With 5 cells the signed-rank test's smallest p is 2/2^5 = 0.0625: 'no significant change' there says nothing."""
    few = _frame(lambda k, seed, step: 100 - 10 * STEPS.index(step) + k, seeds=1)[lambda f: f["setting"] < "setting 5"]
    [finding] = ladder(few.assign(metric="recon_bce"), ("recon_bce",))
    assert [(c.better, c.worse, c.cells) for c in finding.changes] == [(5, 0, 5), (5, 0, 5)]
    assert not finding.decidable and not finding.converged
    text = " ".join(finding.lines)
    assert "too few cells for the test to reach p < 0.01" in text and "the ranking is converged" not in text
    assert "whether the ranking converged cannot be told" in text
    # eight moving cells can reach it (2/2^8 < 0.01): then the test decides
    eight = _frame(lambda k, seed, step: 100 - 10 * STEPS.index(step) + k, seeds=1)[lambda f: f["setting"] < "setting 8"]
    assert ladder(eight.assign(metric="recon_bce"), ("recon_bce",))[0].decidable
