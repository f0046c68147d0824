"""The model registry: a new model is one module plus one line here."""

from vaebench.errors import VaebenchError
from vaebench.models.annealed_vae import AnnealedVAE
from vaebench.models.base import Autoencoder
from vaebench.models.beta_tcvae import BetaTCVAE
from vaebench.models.beta_vae import BetaVAE
from vaebench.models.branched_vae import BranchedVAE
from vaebench.models.cvae import CVAE
from vaebench.models.dip_vae import DIPVAEI, DIPVAEII
from vaebench.models.factor_vae import FactorVAE
from vaebench.models.networks import FAMILIES
from vaebench.models.sequence import SeqAE, SeqCVAE, SeqVAE
from vaebench.models.shared_vae import SharedVAE
from vaebench.models.vae import VAE
from vaebench.results.records import ModelCard, Params

MODELS: dict[str, type[Autoencoder]] = {
    "ae": Autoencoder,
    "vae": VAE,
    "beta_vae": BetaVAE,
    "dip_vae_i": DIPVAEI,
    "dip_vae_ii": DIPVAEII,
    "annealed_vae": AnnealedVAE,
    "beta_tcvae": BetaTCVAE,
    "factor_vae": FactorVAE,
    "cvae": CVAE,
    "branched_vae": BranchedVAE,
    "shared_vae": SharedVAE,
    "seq_ae": SeqAE,
    "seq_vae": SeqVAE,
    "seq_cvae": SeqCVAE,
}


def get_model_class(name: str) -> type[Autoencoder]:
    if name not in MODELS:
        raise VaebenchError(f"unknown model {name!r}; accepted: {', '.join(MODELS)}")
    return MODELS[name]


def model_card(params: Params) -> ModelCard:
    """A cell's model card from its params.json; cells trained before cards existed get their model class's card."""
    if params.card is not None:
        return params.card
    return get_model_class(params.model).card(params.model, params.hparams)


def check_family(name: str) -> str:
    if name not in FAMILIES:
        raise VaebenchError(f"unknown encoder/decoder family {name!r}; accepted: {', '.join(FAMILIES)}")
    return name
