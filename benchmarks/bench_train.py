"""Training throughput: images per second for each family and image size on this machine.

    python benchmarks/bench_train.py [--steps 300] [--sizes 32,64] [--families conv,mlp]

Each row trains one β-VAE cell on procedural dSprites with the real training loop
(`vaebench.train.train_cell`) and reports the steady-state rate, which excludes the
first logging interval (graph tracing / compilation), and the rendering rate of the
data alone, so one can tell whether the data or the model is the bottleneck.
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

from vaebench.data import get_dataset  # noqa: E402
from vaebench.environment import backend, describe_device  # noqa: E402
from vaebench.grid import Cell  # noqa: E402
from vaebench.train import train_cell  # noqa: E402


def render_rate(dataset, batch_size: int, batches: int = 50) -> float:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(batches):
        dataset.sample(batch_size, rng)
    return batches * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--families", default="conv,mlp")
    args = parser.parse_args()

    table = Table(title=f"training throughput — {backend()} on {describe_device()}, batch {args.batch_size}, {args.steps} steps")
    for column in ("family", "image size", "train images/s", "render images/s", "wall s"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            for size in map(int, args.sizes.split(",")):
                dataset = get_dataset("dsprites", image_size=size)
                cell = Cell("dsprites", size, "beta_vae", (("beta", 4.0),), family, 10, 0, args.steps,
                            args.batch_size, 5e-4, max(args.steps // 6, 1))
                params = train_cell(cell, dataset, Path(tmp) / cell.name)
                table.add_row(family, str(size), f"{params['images_per_second']:.0f}",
                              f"{render_rate(dataset, args.batch_size):.0f}", f"{params['wall_seconds']:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
