"""Published disentanglement scores on dSprites, for orientation only: other budgets, other implementations.

Copied from the numbers gathered in Lin et al. 2020 (InfoGAN-CR, Table 1): dSprites, 10 latents, about 300k
steps of batch 64. They are not comparable with a vaebench grid's numbers (another budget and other code),
so whatever shows them says where they come from. Keys are the metric spec's score keys.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the training budget of the literature's disentanglement studies: Locatello et al. 2019 (ICML, "Challenging Common
#: Assumptions in the Unsupervised Learning of Disentangled Representations") trained every model 300,000 steps of
#: batch 64, as do the runs Lin et al. 2020 gathered; the paper preset's steps
LITERATURE_STEPS = 300_000
LITERATURE_BUDGET = "Locatello et al. 2019"
OTHER_IMPLEMENTATIONS = f"Lin et al. 2020, Table 1 ({LITERATURE_STEPS // 1000}k steps, other implementations)"
LIN_FACTOR_VAE_RUNS = "Lin et al. 2020, Table 1 (their own FactorVAE runs, γ 1–40, 10 runs each)"


@dataclass(frozen=True)
class PublishedValue:
    #: the model as the source names it
    model: str
    #: the score key (``vaebench.metrics.spec.SCORES``)
    metric: str
    #: the value, or the bottom of the range where the source gives one
    value: float
    source: str
    #: the top of the range where the source gives one, else None
    high: float | None = None
    #: how the number differs from vaebench's estimator, where it does
    note: str = ""

    @property
    def text(self) -> str:
        """The value as the source states it: "0.63", or a range "0.79–0.83"."""
        return f"{self.value:g}" if self.high is None else f"{self.value:g}–{self.high:g}"


PUBLISHED: tuple[PublishedValue, ...] = (
    PublishedValue("VAE", "factor_vae_eval", 0.63, OTHER_IMPLEMENTATIONS),
    PublishedValue("VAE", "dci_disentanglement", 0.30, OTHER_IMPLEMENTATIONS),
    PublishedValue("VAE", "mig", 0.10, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-VAE", "factor_vae_eval", 0.63, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-VAE", "dci_disentanglement", 0.41, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-VAE", "sap", 0.55, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-VAE", "mig", 0.21, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-TCVAE", "factor_vae_eval", 0.62, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-TCVAE", "dci_disentanglement", 0.29, OTHER_IMPLEMENTATIONS),
    PublishedValue("β-TCVAE", "mig", 0.45, OTHER_IMPLEMENTATIONS,
                   note="Chen et al.'s own MIG estimator, which differs from the 20-bin one"),
    PublishedValue("FactorVAE", "factor_vae_eval", 0.82, OTHER_IMPLEMENTATIONS),
    PublishedValue("FactorVAE", "mig", 0.15, OTHER_IMPLEMENTATIONS),
    PublishedValue("DIP-VAE", "sap", 0.53, OTHER_IMPLEMENTATIONS),
    PublishedValue("FactorVAE", "factor_vae_eval", 0.79, LIN_FACTOR_VAE_RUNS, high=0.83),
    PublishedValue("FactorVAE", "dci_disentanglement", 0.67, LIN_FACTOR_VAE_RUNS, high=0.74),
    PublishedValue("FactorVAE", "mig", 0.27, LIN_FACTOR_VAE_RUNS, high=0.43),
    PublishedValue("FactorVAE", "beta_vae_eval", 0.79, LIN_FACTOR_VAE_RUNS, high=0.85),
)
