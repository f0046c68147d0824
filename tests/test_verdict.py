"""The index's verdict from hand-made scores: direction, seed noise against model gaps, the factor caveat."""

import pandas as pd

from vaebench.site.verdict import CAPTURED_SHARE, verdict


def _frame(values: dict) -> pd.DataFrame:
    """{(config, latent_dim, metric): [value per seed]} as the tidy metrics frame."""
    rows = [{"config": config, "latent_dim": latent, "seed": seed, "metric": metric, "value": value}
            for (config, latent, metric), seeds in values.items() for seed, value in enumerate(seeds)]
    return pd.DataFrame(rows)


def test_the_best_setting_follows_each_scores_direction():
    frame = _frame({("vae", 4, "recon_bce"): [60.0, 62.0, 64.0], ("vae", 10, "recon_bce"): [50.0, 52.0, 90.0],
                    ("beta_vae-beta4", 4, "recon_bce"): [80.0, 81.0, 82.0],
                    ("vae", 4, "mig"): [0.1, 0.1, 0.1], ("vae", 10, "mig"): [0.05, 0.05, 0.05],
                    ("beta_vae-beta4", 4, "mig"): [0.3, 0.2, float("nan")]})
    best = {b.metric: b for b in verdict(frame).best}
    assert (best["recon_bce"].config, best["recon_bce"].latent_dim, best["recon_bce"].median, best["recon_bce"].n) == \
        ("vae", 10, 52.0, 3)  # lowest median NLL, not the lowest single seed
    assert (best["mig"].config, best["mig"].median, best["mig"].n) == ("beta_vae-beta4", 0.25, 2)  # highest; NaN not a seed
    assert best["recon_bce"].sentence == ("reconstruction NLL (lower is better): best vae at latent size 10, "
                                          "median 52.0 nats (n = 3 seeds).")
    assert "(higher is better)" in best["mig"].sentence and "median 0.250 (n = 2 seeds)" in best["mig"].sentence
    assert list(best) == ["recon_bce", "mig"]  # only the headline scores present


def test_seed_spread_is_weighed_against_the_gap_between_the_two_best_models():
    noisy = _frame({("a", 4, "mig"): [0.30, 0.10], ("b", 4, "mig"): [0.18, 0.17], ("b", 10, "mig"): [0.0, 0.0]})
    [noise] = verdict(noisy).noise
    assert (noise.leader, noise.runner_up) == ("a", "b")
    assert round(noise.gap, 6) == 0.025 and round(noise.seed_range, 6) == 0.2 and noise.n == 2
    assert noise.exceeds and "within seed noise" in noise.sentence and "(a at latent size 4, n = 2)" in noise.sentence
    clear = _frame({("a", 4, "mig"): [0.30, 0.29], ("b", 4, "mig"): [0.10, 0.12]})
    [noise] = verdict(clear).noise
    assert not noise.exceeds and "the lead holds" in noise.sentence
    [line] = verdict(clear).lines
    assert line.startswith("MIG (higher is better): best a") and line.endswith("the lead holds over these seeds.")
    assert verdict(_frame({("a", 4, "mig"): [0.3, 0.1]})).noise == []  # one model: no gap to weigh


def _matrix(columns, values):
    return {"mig": {"rows": [f"z{i}" for i in range(len(values))], "columns": columns, "values": values,
                    "label": "normalised mutual information I(z_i; v_k) / H(v_k)"}}


def test_a_factor_no_latent_of_any_model_carries_is_a_caveat_and_needs_the_matrices():
    frame = _frame({("a", 4, "mig"): [0.3]})
    assert verdict(frame).uncaptured == []
    assert verdict(frame, [{}]).uncaptured == []  # a metrics.json without matrices
    low = CAPTURED_SHARE - 0.05
    matrices = [_matrix(["shape", "x"], [[0.02, 0.6], [low, 0.1]]), _matrix(["shape", "x"], [[0.01, 0.02], [0.0, 0.7]])]
    [caveat] = verdict(frame, matrices).uncaptured
    assert (caveat.factor, caveat.best_share, caveat.cells) == ("shape", low, 2)
    assert caveat.sentence.startswith("No model captures shape: over every latent of all 2 scored models")
    matrices.append(_matrix(["shape", "x"], [[CAPTURED_SHARE, 0.0]]))
    assert verdict(frame, matrices).uncaptured == []  # one latent of one model carrying it is enough



def test_the_short_answer_names_the_winners_and_prices_disentanglement_in_nats():
    frame = _frame({("vae", 10, "recon_bce"): [50.0, 52.0, 54.0], ("beta_vae-beta4", 4, "recon_bce"): [80.0, 81.0, 82.0],
                    ("vae", 10, "mig"): [0.05, 0.06, 0.07], ("beta_vae-beta4", 4, "mig"): [0.3, 0.1, 0.2],
                    ("vae", 10, "dci_disentanglement"): [0.1, 0.1, 0.1],
                    ("beta_vae-beta4", 4, "dci_disentanglement"): [0.2, 0.2, 0.2]})
    answer = verdict(frame).answer
    assert answer.startswith("vae at latent size 10 reconstructs best (52.0 nats); beta_vae-beta4 at latent size 4 "
                             "scores best on MIG, DCI disentanglement (29.0 nats worse reconstruction).")
    # MIG: seeds range 0.2 > gap 0.14; DCI: range 0 < gap 0.1
    assert answer.endswith("On 1 of 2 disentanglement scores the seeds of one setting differ more than the two best models do.")
    assert verdict(_frame({})).answer is None
