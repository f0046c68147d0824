"""The index's verdict, computed from the scores: which setting wins each headline score, whether the
seeds disagree more than the models do, and which factor no model captures.

Pure: it reads the tidy metrics frame (and the per-factor matrices of metrics.json when present) and
returns findings; every number in them comes from the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from vaebench.metrics.spec import SCORES
from vaebench.site.headline import DISENTANGLEMENT, RECONSTRUCTION, over_seeds
from vaebench.site.labels import direction
from vaebench.site.numbers import significant

#: a factor is "captured" when some latent of some model carries at least this share of its entropy
#: (normalised mutual information I(z_i; v_k) / H(v_k)); below it, no latent tells the factor apart
CAPTURED_SHARE = 0.25
#: the per-factor matrix the caveat reads: the normalised mutual information of MIG
FACTOR_MATRIX = "mig"


@dataclass(frozen=True)
class Best:
    """The setting with the best median of one score."""

    metric: str
    config: str
    latent_dim: int
    median: float
    n: int

    @property
    def sentence(self) -> str:
        score = SCORES[self.metric]
        unit = f" {score.unit}" if score.unit else ""
        return (f"{score.label} ({direction(self.metric)}): best {self.config} at latent size {self.latent_dim}, "
                f"median {significant(self.median)}{unit} (n = {self.n} seeds).")


@dataclass(frozen=True)
class SeedNoise:
    """The largest seed range of one score against the gap between the two best models' medians."""

    metric: str
    seed_range: float
    range_config: str
    range_latent_dim: int
    n: int
    gap: float
    leader: str
    runner_up: str

    @property
    def exceeds(self) -> bool:
        return self.seed_range > self.gap

    @property
    def sentence(self) -> str:
        spread = (f"Seeds of one setting differ by up to {significant(self.seed_range)} "
                  f"({self.range_config} at latent size {self.range_latent_dim}, n = {self.n})")
        gap = f"the {significant(self.gap)} between the two best models' medians ({self.leader}, {self.runner_up})"
        if self.exceeds:
            return f"{spread}, more than {gap}: their order is within seed noise."
        return f"{spread}, less than {gap}: the lead holds over these seeds."


@dataclass(frozen=True)
class Uncaptured:
    """A factor that no latent of any scored model carries."""

    factor: str
    best_share: float
    cells: int

    @property
    def sentence(self) -> str:
        return (f"No model captures {self.factor}: over every latent of all {self.cells} scored models, the largest "
                f"normalised mutual information with it is {significant(self.best_share)}, below {CAPTURED_SHARE}.")


@dataclass(frozen=True)
class Verdict:
    best: list[Best]
    noise: list[SeedNoise]
    uncaptured: list[Uncaptured]
    #: (config, latent_dim) -> median reconstruction NLL, to price each disentanglement winner
    reconstruction: dict = field(default_factory=dict)

    @property
    def answer(self) -> str | None:
        """The question answered in one or two sentences: who reconstructs best, who disentangles best at what
        reconstruction cost, and on how many disentanglement scores the seeds disagree more than the models."""
        if not self.best:
            return None
        recon = next((b for b in self.best if b.metric == RECONSTRUCTION), None)
        parts = [f"{recon.config} at latent size {recon.latent_dim} reconstructs best ({significant(recon.median)} nats)"] \
            if recon else []
        winners: dict[tuple, list[str]] = {}
        for found in self.best:
            if found.metric != RECONSTRUCTION:
                winners.setdefault((found.config, found.latent_dim), []).append(SCORES[found.metric].label)
        for (config, latent_dim), labels in winners.items():
            text = f"{config} at latent size {latent_dim} scores best on {', '.join(labels)}"
            cost = self.reconstruction.get((config, latent_dim))
            if recon is not None and cost is not None and (config, latent_dim) != (recon.config, recon.latent_dim):
                text += f" ({significant(cost - recon.median)} nats worse reconstruction)"
            parts.append(text)
        sentence = "; ".join(parts) + "."
        judged = [found for found in self.noise if found.metric != RECONSTRUCTION]
        if judged:
            sentence += (f" On {sum(found.exceeds for found in judged)} of {len(judged)} disentanglement scores the seeds "
                         "of one setting differ more than the two best models do.")
        return sentence

    @property
    def lines(self) -> list[str]:
        """One line per judged score (its best setting, then its seed noise), then the caveats."""
        noise = {found.metric: found.sentence for found in self.noise}
        return [" ".join(filter(None, (best.sentence, noise.get(best.metric)))) for best in self.best] + \
            [caveat.sentence for caveat in self.uncaptured]


def verdict(frame: pd.DataFrame, matrices: list[dict] | None = None) -> Verdict:
    """Findings from the tidy metrics frame and each cell's metrics.json "matrices" (cells without them are skipped)."""
    summary = over_seeds(frame) if not frame.empty else pd.DataFrame(columns=["metric"])
    judged = [m for m in (RECONSTRUCTION, *DISENTANGLEMENT) if m in set(summary["metric"])]
    best, noise = [], []
    for metric in judged:
        ranked = _ranked(summary[summary["metric"] == metric], metric)
        top = ranked.iloc[0]
        best.append(Best(metric, top["config"], int(top["latent_dim"]), float(top["median"]), int(top["n"])))
        found = _seed_noise(ranked, metric)
        if found is not None:
            noise.append(found)
    recon = summary[summary["metric"] == RECONSTRUCTION]
    reconstruction = {(row.config, int(row.latent_dim)): float(row.median) for row in recon.itertuples()}
    return Verdict(best, noise, uncaptured([m for m in matrices or [] if FACTOR_MATRIX in m]), reconstruction)


def _ranked(settings: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The settings of one score, best median first (ties: by name, for a stable verdict)."""
    ascending = SCORES[metric].higher_is_better is False
    order = settings.assign(key=settings["median"] if ascending else -settings["median"])
    return order.sort_values(["key", "config", "latent_dim"]).reset_index(drop=True)


def _seed_noise(ranked: pd.DataFrame, metric: str) -> SeedNoise | None:
    per_model = ranked.drop_duplicates("config")  # each model at its best latent size
    if len(per_model) < 2:
        return None
    spread = ranked.assign(range=ranked["max"] - ranked["min"]).sort_values(["range", "config", "latent_dim"],
                                                                            ascending=[False, True, True]).iloc[0]
    leader, runner_up = per_model.iloc[0], per_model.iloc[1]
    return SeedNoise(metric, float(spread["range"]), spread["config"], int(spread["latent_dim"]), int(spread["n"]),
                     abs(float(leader["median"]) - float(runner_up["median"])), leader["config"], runner_up["config"])


def uncaptured(matrices: list[dict]) -> list[Uncaptured]:
    """Factors whose largest normalised mutual information over all latents of all cells stays below CAPTURED_SHARE."""
    best: dict[str, float] = {}
    for cell in matrices:
        matrix = cell[FACTOR_MATRIX]
        for k, factor in enumerate(matrix["columns"]):
            share = max(row[k] for row in matrix["values"])
            best[factor] = max(best.get(factor, share), share)
    return [Uncaptured(factor, share, len(matrices)) for factor, share in best.items() if share < CAPTURED_SHARE]
