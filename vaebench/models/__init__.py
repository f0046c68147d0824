"""The model registry: a new model is one module plus one line here."""

from vaebench.errors import VaebenchError
from vaebench.models.annealed_vae import AnnealedVAE
from vaebench.models.base import Autoencoder
from vaebench.models.beta_vae import BetaVAE
from vaebench.models.dip_vae import DIPVAEI, DIPVAEII
from vaebench.models.networks import FAMILIES
from vaebench.models.vae import VAE

MODELS: dict[str, type[Autoencoder]] = {
    "ae": Autoencoder,
    "vae": VAE,
    "beta_vae": BetaVAE,
    "dip_vae_i": DIPVAEI,
    "dip_vae_ii": DIPVAEII,
    "annealed_vae": AnnealedVAE,
}


def get_model_class(name: str) -> type[Autoencoder]:
    if name not in MODELS:
        raise VaebenchError(f"unknown model {name!r}; accepted: {', '.join(MODELS)}")
    return MODELS[name]


def check_family(name: str) -> str:
    if name not in FAMILIES:
        raise VaebenchError(f"unknown encoder/decoder family {name!r}; accepted: {', '.join(FAMILIES)}")
    return name
