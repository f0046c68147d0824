"""Training throughput: images per second per model and in aggregate, for each pack size, on this machine.

    python benchmarks/bench_train.py [--pack 1,16,64,128] [--steps 300] [--size 64] [--family conv] [--resident]
    KERAS_BACKEND=jax python benchmarks/bench_train.py --pack 1,4,16 --size 32 --family mlp --resident   # packing needs JAX

Each row trains β-VAE cells (β = 4) on procedural dSprites with the real training code: "1 (fit)" is one
cell through ``vaebench.run.train.train_cell`` (Keras ``fit``), pack size N is N cells (seeds 0..N-1)
through ``vaebench.run.packing.train_pack`` (N = 1 included). Rates are steady state: the first logging
interval (tracing and compilation) is left out. "host ms per call" is the median CPU time the training
thread spends on one compiled call of a pack (taking the call's data, sending it, dispatching the call), the
first call left out. "data share" is the time it takes to draw the same data alone (a pack's grid positions or
batches, as it draws them; a fit cell's batches), divided by the training time after the first interval:
the share of the run spent drawing on the host, whether or not it overlaps training. ``--resident`` holds
the dataset's grid in memory on a CPU too, as on a GPU, so packs look their images up inside the program
(32×32 dSprites: 0.75 GB, rendered in about 25 s).
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

import statistics  # noqa: E402

from vaebench.run import batches as batch_module  # noqa: E402
from vaebench.run.batches import batches, can_be_resident  # noqa: E402
from vaebench.data import get_dataset  # noqa: E402
from vaebench.environment import backend, describe_device  # noqa: E402
from vaebench.grid import Cell  # noqa: E402
from vaebench.models import get_model_class  # noqa: E402
from vaebench.run.packing import PackData, train_pack, why_not_packable  # noqa: E402
from vaebench.run.train import steps_per_call, train_cell  # noqa: E402


def cells_for(pack: int, args) -> list[Cell]:
    log_every = max(args.steps // 6, 1)
    return [Cell("dsprites", args.size, "beta_vae", (("beta", 4.0),), args.family, 10, seed, args.steps,
                 args.batch_size, 5e-4, log_every) for seed in range(pack)]


def data_seconds(dataset, cells: list[Cell], packed: bool) -> float:
    """Seconds to draw every batch (or, packed, every call's data) the cells draw after their first logging interval."""
    steps = cells[0].steps - cells[0].log_every
    if packed:
        data, chunk = PackData(dataset, get_model_class(cells[0].model), cells), steps_per_call(cells[0])
        started = time.perf_counter()
        for _ in range(steps // chunk):
            data.draw_call(chunk)
        return time.perf_counter() - started
    model_class = get_model_class(cells[0].model)
    streams = [batches(dataset, model_class, cell.batch_size, cell.seed) for cell in cells]
    started = time.perf_counter()
    for _ in range(steps):
        for stream in streams:
            next(stream)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="1,16,64,128", help="comma-separated pack sizes (1: a fit cell and a pack of one)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--family", default="conv")
    parser.add_argument("--resident", action="store_true", help="hold the dataset's grid in memory even on a CPU")
    args = parser.parse_args()

    if args.resident:
        batch_module.SMALL_GRID_BYTES = 2**40
    dataset = get_dataset("dsprites", image_size=args.size)
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("keras", "jax") if _installed(name))
    console = Console()
    console.print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node()} · {platform.processor() or platform.machine()} · "
                  f"{describe_device()} · {backend()} backend · {versions} · data "
                  f"{'resident on the device' if can_be_resident(dataset) else 'rendered per batch on the host'}")
    table = Table(title=f"β-VAE, {args.family} {args.size}×{args.size} dSprites, batch {args.batch_size}, {args.steps} steps")
    for column in ("pack", "images/s per model", "aggregate images/s", "÷ one fit cell", "host ms per call", "data share", "wall s"):
        table.add_column(column, justify="right")
    one_cell = None
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [int(size) for size in args.pack.split(",")]
        for label, pack in ([("1 (fit)", 1)] if 1 in sizes else []) + [(str(size), size) for size in sizes]:
            if label != "1 (fit)" and why_not_packable():
                table.add_row(label, "—", "—", "—", "—", "—", why_not_packable().split(":")[0])
                continue
            cells = cells_for(pack, args)
            call_seconds: list[float] = []
            if label == "1 (fit)":
                params = [train_cell(cells[0], dataset, Path(tmp) / f"fit-{cells[0].name}")]
            else:
                params = train_pack(cells, dataset, Path(tmp) / f"p{pack}", on_call=call_seconds.append)
            per_model = params[0]["images_per_second"]
            one_cell = one_cell or per_model
            steady = (args.steps - cells[0].log_every) * args.batch_size / per_model
            share = data_seconds(dataset, cells, packed=label != "1 (fit)") / steady
            host = f"{statistics.median(call_seconds[1:]) * 1e3:.2f}" if call_seconds[1:] else "—"
            table.add_row(label, f"{per_model:,.0f}", f"{per_model * pack:,.0f}", f"{per_model * pack / one_cell:.2f}", host,
                          f"{share:.0%}", f"{params[0]['wall_seconds']:.1f}")
    console.print(table)


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
