"""The index's compact leaderboard from hand-made scores: direction-aware best, 3 significant digits, order."""

import pandas as pd

from vaebench.site.headline import over_seeds
from vaebench.site.leaderboard import leaderboard
from vaebench.site.numbers import significant


def _summary(values: dict) -> pd.DataFrame:
    rows = [{"config": config, "latent_dim": latent, "seed": seed, "metric": metric, "value": value}
            for (config, latent, metric), seeds in values.items() for seed, value in enumerate(seeds)]
    return over_seeds(pd.DataFrame(rows))


def test_the_best_of_each_column_follows_its_direction_and_latent_sizes_sort_numerically():
    columns, rows = leaderboard(_summary({
        ("vae", 10, "recon_bce"): [54.321, 55.0], ("vae", 4, "recon_bce"): [70.0, 71.0],
        ("beta_vae", 4, "recon_bce"): [90.0, 91.0],
        ("vae", 10, "mig"): [0.01, 0.02], ("vae", 4, "mig"): [0.05, 0.05], ("beta_vae", 4, "mig"): [0.2, 0.1],
        ("vae", 10, "sap"): [0.9, 0.9]}))
    assert [c.key for c in columns] == ["recon_bce", "mig"]  # headline scores only, in their order
    assert [(c.label, c.unit, c.arrow) for c in columns] == [("reconstruction NLL", "nats", "↓"), ("MIG", None, "↑")]
    assert [(r.config, r.latent_dim) for r in rows] == [("beta_vae", 4), ("vae", 4), ("vae", 10)]
    best = {(r.config, r.latent_dim, key) for r in rows for key, e in r.entries.items() if e.best}
    assert best == {("vae", 10, "recon_bce"), ("beta_vae", 4, "mig")}
    nll = rows[2].entries["recon_bce"]
    assert (nll.median, nll.low, nll.high, nll.n) == ("54.7", "54.3", "55.0", 2)


def test_ties_are_all_best_and_a_missing_score_is_none():
    _, rows = leaderboard(_summary({("a", 4, "mig"): [0.2], ("b", 4, "mig"): [0.2], ("b", 4, "elbo"): [-80.0]}))
    assert [r.entries["mig"].best for r in rows] == [True, True]
    assert rows[0].entries["elbo"] is None and rows[1].entries["elbo"].best


def test_three_significant_digits_without_an_exponent():
    assert [significant(v) for v in (0.015, 62.98, -83.92, 1234.5, 1.0, 9.996, 0.0, 0.000123456)] == \
        ["0.0150", "63.0", "\u221283.9", "1230", "1.00", "10.0", "0", "0.000123"]
