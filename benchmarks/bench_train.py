"""Training throughput: images per second per model and in aggregate, for each pack size, on this machine.

    python benchmarks/bench_train.py [--pack 1,8,32,64] [--steps 300] [--size 64] [--family conv]
    KERAS_BACKEND=jax python benchmarks/bench_train.py --pack 1,8,32,64     # packing needs JAX

Each row trains β-VAE cells (β = 4) on procedural dSprites with the real training code: pack size 1 is
one cell through ``vaebench.run.train.train_cell`` (Keras ``fit``), pack size N is N cells (seeds 0..N-1)
through ``vaebench.run.packing.train_pack``. Rates are steady state: the first logging interval (tracing
and compilation) is left out. "data share" is the time it takes to draw the same batches alone,
divided by the training time after the first interval: the share of the run spent waiting for data
where drawing and training do not overlap (on a CPU they never do).
"""

import argparse
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from vaebench.run.batches import batches, can_be_resident  # noqa: E402
from vaebench.data import get_dataset  # noqa: E402
from vaebench.environment import backend, describe_device  # noqa: E402
from vaebench.grid import Cell  # noqa: E402
from vaebench.models import get_model_class  # noqa: E402
from vaebench.run.packing import train_pack, why_not_packable  # noqa: E402
from vaebench.run.train import train_cell  # noqa: E402


def cells_for(pack: int, args) -> list[Cell]:
    log_every = max(args.steps // 6, 1)
    return [Cell("dsprites", args.size, "beta_vae", (("beta", 4.0),), args.family, 10, seed, args.steps,
                 args.batch_size, 5e-4, log_every) for seed in range(pack)]


def data_seconds(dataset, cells: list[Cell]) -> float:
    """Seconds to draw every batch the cells draw after their first logging interval."""
    model_class = get_model_class(cells[0].model)
    streams = [batches(dataset, model_class, cell.batch_size, cell.seed) for cell in cells]
    steps = cells[0].steps - cells[0].log_every
    started = time.perf_counter()
    for _ in range(steps):
        for stream in streams:
            next(stream)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="1,8,32,64", help="comma-separated pack sizes")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--family", default="conv")
    args = parser.parse_args()

    dataset = get_dataset("dsprites", image_size=args.size)
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("keras", "jax") if _installed(name))
    console = Console()
    console.print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node()} · {platform.processor() or platform.machine()} · "
                  f"{describe_device()} · {backend()} backend · {versions} · data "
                  f"{'resident on the device' if can_be_resident(dataset) else 'rendered per batch on the host'}")
    table = Table(title=f"β-VAE, {args.family} {args.size}×{args.size} dSprites, batch {args.batch_size}, {args.steps} steps")
    for column in ("pack", "images/s per model", "aggregate images/s", "data share", "wall s"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for pack in map(int, args.pack.split(",")):
            if pack > 1 and why_not_packable():
                table.add_row(str(pack), "—", "—", "—", why_not_packable().split(":")[0])
                continue
            cells = cells_for(pack, args)
            if pack == 1:
                params = [train_cell(cells[0], dataset, Path(tmp) / f"p1-{cells[0].name}")]
            else:
                params = train_pack(cells, dataset, Path(tmp) / f"p{pack}")
            per_model = params[0]["images_per_second"]
            steady = (args.steps - cells[0].log_every) * args.batch_size / per_model
            share = data_seconds(dataset, cells) / steady
            table.add_row(str(pack), f"{per_model:,.0f}", f"{per_model * pack:,.0f}", f"{share:.0%}",
                          f"{params[0]['wall_seconds']:.1f}")
    console.print(table)


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
