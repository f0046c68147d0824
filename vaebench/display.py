"""How the report and the terminal name models, hyperparameters and settings: display names, stated once.

Keras-free (the report is a view and must not import the models): each registry name of
``vaebench.models.MODELS`` has its title here, and each hyperparameter its symbol; a test checks that
both cover the registry.
"""

from __future__ import annotations

from vaebench.results.records import Params

#: registry name -> the name the literature gives the model
TITLES = {
    "ae": "AE", "vae": "VAE", "beta_vae": "β-VAE", "dip_vae_i": "DIP-VAE-I", "dip_vae_ii": "DIP-VAE-II",
    "annealed_vae": "AnnealedVAE", "beta_tcvae": "β-TCVAE", "factor_vae": "FactorVAE", "cvae": "conditional VAE",
    "branched_vae": "VAE with classifier branch", "shared_vae": "shared-latent VAE", "seq_ae": "sequence AE",
    "seq_vae": "sequence VAE", "seq_cvae": "sequence CVAE",
}
#: hyperparameter -> its symbol in the papers
SYMBOLS = {
    "beta": "β", "gamma": "γ", "lambda_od": "λ_od", "lambda_d": "λ_d", "c_max": "C_max", "anneal_steps": "annealing steps",
    "classifier_weight": "classifier weight", "align": "alignment weight", "decoder_mode": "decoder",
}
#: calibration rows (``vaebench.run.references``) as the report names them, in the order it lists them
REFERENCE_TITLES = {"mean_image": "mean image", "random": "random code, N(0, I)", "pca": "linear code (PCA of the inputs)",
                    "untrained": "untrained encoder (step 0)", "chance": "chance (1/K)"}
#: the calibration rows as a chart's reference line names them, where the title is too long to write beside it
REFERENCE_LINE_TITLES = {"pca": "linear code (PCA)", "random": "random code"}
#: hyperparameters that a model ties together and that are named as one when equal (DIP-VAE-II's λ_d = λ_od)
TIED = {("lambda_od", "lambda_d"): "λ"}


def _number(value) -> str:
    if isinstance(value, str):
        return value
    value = float(value)
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def model_name(model: str, hparams: dict | None = None) -> str:
    """"β-VAE (β = 16)", "DIP-VAE-II (λ = 10)", "VAE"; an unknown model (a newer results dir) keeps its key."""
    hparams = dict(hparams or {})
    parts = []
    for (first, second), symbol in TIED.items():
        if first in hparams and second in hparams and hparams[first] == hparams[second]:
            parts.append(f"{symbol} = {_number(hparams.pop(first))}")
            hparams.pop(second)
    parts += [f"{SYMBOLS.get(key, key)} = {_number(value)}" for key, value in sorted(hparams.items())]
    title = TITLES.get(model, model)
    return f"{title} ({', '.join(parts)})" if parts else title


def model_order(model: str, hparams: dict | None = None) -> tuple:
    """The sort key that orders models everywhere the report lists them: registry order (``TITLES``; an unknown model
    after the known, by its key), then by each hyperparameter's value in the order of its name, numbers by their value
    (β = 1, 4, 16; λ = 1, 5, 20, never 1, 20, 5 as strings) before words."""
    known = list(TITLES)
    values = tuple((key, (1, value, 0.0) if isinstance(value, str) else (0, "", float(value)))
                   for key, value in sorted((hparams or {}).items()))
    return (known.index(model) if model in known else len(known), model, values)


def cell_title(record: Params) -> str:
    """A stored cell as a reader names it: "β-VAE (β = 16), z = 4, seed 0"."""
    return f"{cell_model_name(record)}, z = {record.latent_dim}, seed {record.seed}"


def cell_model(record: Params) -> str | None:
    """A stored cell's model by its registry name: its card's, or the grid's for a cell stored before cards."""
    return record.card.model if record.card else record.model


def cell_model_name(record: Params) -> str:
    """The display name of a stored cell's model with its hyperparameters: "β-VAE (β = 16)"."""
    return model_name(cell_model(record) or "?", record.hparams)
