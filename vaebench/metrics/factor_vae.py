"""FactorVAE score (Kim & Mnih 2018)."""

import numpy as np

from vaebench.metrics.discrete import UnscorableInput, check_codes


def vote_batches(sample_factors, num_factors: int, votes: int, batch_size: int, rng: np.random.Generator):
    """Factor batches (votes, batch, F) in which one factor per vote is fixed, and that factor (votes,)."""
    fixed = rng.integers(0, num_factors, votes)
    factors = sample_factors(votes * batch_size, rng).reshape(votes, batch_size, -1)
    factors[np.arange(votes), :, fixed] = factors[np.arange(votes), 0, fixed][:, None]
    return factors, fixed


def factor_vae_score(global_codes, train_batches, train_fixed, eval_batches, eval_fixed, num_factors: int,
                     prune_threshold: float = 0.05) -> dict:
    """Majority-vote accuracy of "the latent of least normalised variance names the fixed factor".

    global_codes (n, L) set each latent's scale (variance, ddof=1); latents with
    standard deviation below ``prune_threshold`` are inactive. Each batch
    (votes, batch, L) votes for the active latent whose variance within the batch,
    divided by its global variance, is smallest. Range [0, 1]; 0 when no latent
    is active. Returns {"train_accuracy", "eval_accuracy", "num_active_dims"}.
    """
    global_codes = check_codes(global_codes)
    variance = global_codes.var(axis=0, ddof=1)
    active = np.sqrt(variance) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}

    def votes_for(batches, fixed):
        batches = np.asarray(batches, dtype=np.float64)
        if not np.isfinite(batches).all():
            raise UnscorableInput("codes contain NaN or inf")
        normalised = batches.var(axis=1, ddof=1) / np.where(active, variance, 1.0)
        latent = np.where(active, normalised, np.inf).argmin(axis=1)
        return np.bincount(latent * num_factors + fixed, minlength=len(variance) * num_factors).reshape(-1, num_factors)

    train_table = votes_for(train_batches, np.asarray(train_fixed))
    eval_table = votes_for(eval_batches, np.asarray(eval_fixed))
    classifier = train_table.argmax(axis=1)  # each latent → the factor it voted for most
    rows = np.arange(len(classifier))
    return {"train_accuracy": float(train_table[rows, classifier].sum() / train_table.sum()),
            "eval_accuracy": float(eval_table[rows, classifier].sum() / eval_table.sum()),
            "num_active_dims": int(active.sum())}
