"""What the scores along training cost: one `cpu`-preset cell trained without and with its checkpoints.

    python benchmarks/bench_checkpoints.py [--steps 3000] [--count N]

The cell is the cpu preset's β-VAE (β = 4), conv, 10 latents, seed 0 on 64×64 dSprites, batch 64, trained
through ``vaebench.run.runner.train_cells`` as a grid trains it: once without checkpoints, then once with the
preset's ``[checkpoints]`` plan (``--count`` overrides its count). With ``--steps`` below 3,000 the cell keeps
its logging interval, so it gets fewer checkpoints (``checkpoint_steps`` says which) and a larger share.
"""

import argparse
import json
import os
import platform
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from vaebench.environment import backend, describe_device  # noqa: E402
from vaebench.grid import load_preset  # noqa: E402
from vaebench.run.runner import train_cells  # noqa: E402

CELL = "dsprites64/beta_vae-beta4/conv/z10/s0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--count", type=int, help="checkpoints after step 0 (default: the cpu preset's)")
    args = parser.parse_args()

    preset = load_preset("cpu")
    cell = replace(next(cell for cell in preset.cells() if cell.name == CELL), steps=args.steps)
    plan = preset.checkpoint_plan if args.count is None else replace(preset.checkpoint_plan, count=args.count)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node()} · {os.cpu_count()} cores · "
          f"{describe_device()} · {backend()} backend · {CELL}, {args.steps} steps, checkpoints at {plan.steps(cell)}")
    with tempfile.TemporaryDirectory() as tmp:
        walls = {}
        for label, checkpoints in (("without", None), ("with", plan)):
            train_cells([cell], Path(tmp) / label, checkpoints=checkpoints)
            params = json.loads((Path(tmp) / label / cell.name / "params.json").read_text())
            walls[label] = params["wall_seconds"]
            extra = f", {params['checkpoints']['seconds']:.1f} s of it scoring checkpoints" if checkpoints else ""
            print(f"{label} checkpoints: {params['wall_seconds']:.1f} s of training{extra}")
    print(f"with ÷ without: {walls['with'] / walls['without']:.3f}")


if __name__ == "__main__":
    main()
