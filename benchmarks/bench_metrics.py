"""Seconds per metric: the pure functions on 10,000 × 10 codes, and one conv model scored end to end.

    python benchmarks/bench_metrics.py [--skip-end-to-end] [--image-size 32]

Part 1 times each pure metric on codes that are a noisy linear mix of dSprites
factor indices (5 factors of sizes 3, 6, 40, 32, 32), with the standard sample
counts, encoding excluded. Part 2 scores one freshly initialised `conv`
β-VAE on procedural dSprites with `score_cell` at the standard counts
(DEFAULT_SETTINGS), encoding included: what a `paper` cell costs.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from vaebench.metrics.beta_vae import beta_vae_score, pair_batches, pair_features  # noqa: E402
from vaebench.metrics.dci import dci  # noqa: E402
from vaebench.metrics.factor_vae import factor_vae_score, vote_batches  # noqa: E402
from vaebench.metrics.mig import mig  # noqa: E402
from vaebench.metrics.modularity import modularity_explicitness  # noqa: E402
from vaebench.metrics.sap import sap  # noqa: E402

SIZES = (3, 6, 40, 32, 32)
LATENTS = 10
MIX = np.random.default_rng(0).normal(size=(len(SIZES), LATENTS))


def sample_factors(n, rng):
    return np.stack([rng.integers(0, s, n) for s in SIZES], axis=1)


def codes_of(factors):
    scaled = factors / np.array(SIZES)
    noise = np.random.default_rng(factors.size).normal(scale=0.05, size=factors.shape[:-1] + (LATENTS,))
    return scaled @ MIX + noise


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def pure_metric_times() -> dict[str, float]:
    rng = np.random.default_rng(1)
    train, test = sample_factors(10_000, rng), sample_factors(5_000, rng)
    split = (codes_of(train), train, codes_of(test), test)

    def beta():
        features = []
        for points in (10_000, 5_000):
            first, second, fixed = pair_batches(sample_factors, len(SIZES), points, 64, rng)
            features += [pair_features(codes_of(first), codes_of(second)), fixed]
        beta_vae_score(*features)

    def factor():
        batches = []
        for votes in (10_000, 5_000):
            factors, fixed = vote_batches(sample_factors, len(SIZES), votes, 64, rng)
            batches += [codes_of(factors), fixed]
        factor_vae_score(codes_of(sample_factors(10_000, rng)), *batches, num_factors=len(SIZES))

    return {
        "mig": timed(lambda: mig(split[0], split[1])),
        "beta_vae (incl. building 1.9 M code pairs)": timed(beta),
        "factor_vae (incl. building 0.97 M codes)": timed(factor),
        "dci (100 trees per class, a thread per factor as in score_cell)": timed(lambda: dci(*split, n_jobs=os.cpu_count())),
        "sap": timed(lambda: sap(*split)),
        "modularity + explicitness": timed(lambda: modularity_explicitness(*split)),
    }


def end_to_end(image_size: int) -> dict[str, float]:
    from vaebench.data import get_dataset
    from vaebench.metrics import score_cell
    from vaebench.models import get_model_class
    from vaebench.results.files import save_keras, write_json
    from vaebench.results.layout import DECODER, ENCODER, PARAMS_FILE, network_file

    dataset = get_dataset("dsprites", image_size=image_size)
    model_class = get_model_class("beta_vae")
    model = model_class.create("conv", dataset.shape, LATENTS, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        save_keras(model.encoder, Path(tmp) / network_file(ENCODER))
        save_keras(model.decoder, Path(tmp) / network_file(DECODER))
        write_json(Path(tmp) / PARAMS_FILE, {"name": "dsprites64/beta_vae-beta4/conv/z10/s0", "status": "done", "card": model_class.card("beta_vae", {}).to_json()})
        record = score_cell(Path(tmp), dataset)
    return record.seconds


def seconds_table(title: str, times: dict[str, float]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("seconds", justify="right")
    for name, seconds in times.items():
        table.add_row(name, f"{seconds:.2f}")
    table.add_row("[bold]total[/]", f"[bold]{sum(times.values()):.2f}[/]")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    console = Console()

    console.print(seconds_table("pure metric functions, 10,000 × 10 codes, dSprites factors, standard counts, no encoding",
                                pure_metric_times()))
    if not args.skip_end_to_end:
        console.print(seconds_table(f"score_cell end to end: one conv β-VAE, {args.image_size}×{args.image_size} dSprites, "
                                    "standard counts, encoding included (grid cache on)", end_to_end(args.image_size)))


if __name__ == "__main__":
    main()
