"""What the report costs at scale: build-site, its incremental rebuild, `vaebench list` and load_experiments on N cells.

    python benchmarks/bench_site.py [--cells 300] [--source results/study] [--keep DIR]

The results dir is synthesized in a temporary folder (never in results/) from the committed cells of
``--source``, copied under new seeds (numbered on from the source's highest) until it holds ``--cells`` cells;
the big files are hard links, so a copy costs next to no disk. Each command runs in a child process:
its wall seconds and its peak resident memory (the child's ``ru_maxrss``). The rebuild changes one
cell's scores first; it reports how many files the rebuild wrote anew (the manifest's entries of its own
build id) against the files it carried over from the first build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vaebench.results.files import write_json
from vaebench.results.layout import GRID_FILE, METRICS_FILE, PARAMS_FILE
from vaebench.site.pages import CELLS_DIR, INDEX
from vaebench.site.publish import SITE_MANIFEST

#: the files of a cell that name it or its seed: written anew for each copy, every other file is a hard link
_NAMED = (PARAMS_FILE,)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float


def synthesize(source: Path, target: Path, cells: int) -> list[str]:
    """``target`` as a results dir of ``cells`` cells: ``source``'s cells, then copies of them under new seeds; their names."""
    grid = json.loads((source / GRID_FILE).read_text())
    originals = sorted(grid["cells"])
    top_seed = max(params["seed"] for params in grid["cells"].values())
    shutil.copytree(source, target, copy_function=os.link)
    names, copies = list(originals), {}
    round_ = 1
    while len(names) < cells:
        for name in originals:
            if len(names) >= cells:
                break
            params = grid["cells"][name]
            seed = params["seed"] + round_ * (top_seed + 1)
            new = f"{name.rsplit('/', 1)[0]}/s{seed}"
            shutil.copytree(source / name, target / new, copy_function=os.link)
            for file in _NAMED:
                stored = json.loads((target / new / file).read_text())
                (target / new / file).unlink()  # a hard link: rewriting it in place would change the source
                write_json(target / new / file, {**stored, "name": new, "seed": seed})
            copies[new] = {**params, "name": new, "seed": seed}
            names.append(new)
        round_ += 1
    kept = set(names)
    for name in originals:
        if name not in kept:
            shutil.rmtree(target / name)
    write_json(target / GRID_FILE, {**grid, "cells": {**{n: grid["cells"][n] for n in originals if n in kept}, **copies}})
    return names


def timed(command: list[str]) -> Run:
    """Run ``command`` in a child and report its wall time and peak resident memory (ru_maxrss, KiB on Linux)."""
    probe = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    seconds, kib = done.stdout.split()
    return Run(float(seconds), int(kib) / 1024)


def change_one_cell(results: Path, name: str) -> None:
    """Nudge one score of ``name`` (a new file, not written through its hard link)."""
    path = results / name / METRICS_FILE
    metrics = json.loads(path.read_text())
    key = next(k for k, v in metrics["scores"].items() if isinstance(v, float))
    metrics["scores"][key] = metrics["scores"][key] * 0.999 + 1e-4
    path.unlink()
    write_json(path, metrics)


def site_sizes(site: Path) -> dict:
    files = [p for p in site.rglob("*") if p.is_file()]
    pages = list((site / CELLS_DIR).glob("*.html"))
    pictures = [p for p in (site / CELLS_DIR).glob("*/*") if p.suffix == ".png"]
    cells = max(len(pages), 1)
    return {"files": len(files), "total_mb": sum(p.stat().st_size for p in files) / 1e6,
            "page_kb_max": max((p.stat().st_size for p in pages), default=0) / 1e3,
            "page_kb_mean": sum(p.stat().st_size for p in pages) / cells / 1e3,
            "cell_folder_kb_mean": sum(p.stat().st_size for p in (site / CELLS_DIR).glob("*/*")) / cells / 1e3,
            "pictures_kb_mean": sum(p.stat().st_size for p in pictures) / cells / 1e3,
            "index_kb": (site / INDEX.file).stat().st_size / 1e3}


def written_by_last_build(site: Path) -> tuple[list[str], int]:
    """(the files the last build wrote anew, how many it carried over from an earlier build), from the site's manifest."""
    entries = json.loads((site / SITE_MANIFEST).read_text())["files"]
    last = max(entry["build"] for entry in entries.values())
    written = sorted(relative for relative, entry in entries.items() if entry["build"] == last)
    return written, len(entries) - len(written)


def measure(source: Path, cells: int, folder: Path) -> dict:
    results, site = folder / "results", folder / "site"
    names = synthesize(source, results, cells)
    vaebench = [sys.executable, "-m", "vaebench"]
    scratch = timed([*vaebench, "build-site", "--results", str(results), "--out", str(site)])
    sizes = site_sizes(site)
    changed = names[len(names) // 2]
    change_one_cell(results, changed)
    rebuild = timed([*vaebench, "build-site", "--results", str(results), "--out", str(site)])
    rewritten, carried = written_by_last_build(site)
    listing = timed([*vaebench, "list", "--results", str(results)])
    loading = timed([sys.executable, "-c", f"from vaebench.results.experiments import load_experiments; "
                                           f"[e.metrics for e in load_experiments({str(results)!r})]"])
    return {"cells": cells, "changed": changed, "scratch": scratch, "rebuild": rebuild, "rewritten": rewritten, "carried": carried,
            "list": listing, "load": loading, **sizes}


def table(figures: dict) -> str:
    rows = [("build-site from scratch", f"{figures['scratch'].seconds:.1f} s, peak {figures['scratch'].peak_mib:.0f} MiB"),
            ("rebuild after one cell's scores changed", f"{figures['rebuild'].seconds:.1f} s, peak {figures['rebuild'].peak_mib:.0f} MiB; "
             f"{len(figures['rewritten'])} files written anew "
             f"({sum(f.startswith(CELLS_DIR + '/') for f in figures['rewritten'])} of them a cell's), {figures['carried']} carried over"),
            ("cell page HTML", f"{figures['page_kb_mean']:.1f} KB mean, {figures['page_kb_max']:.1f} KB largest"),
            ("cell folder (pictures, data script)", f"{figures['cell_folder_kb_mean']:.1f} KB mean per cell, "
             f"of which pictures {figures['pictures_kb_mean']:.1f} KB"),
            ("index.html", f"{figures['index_kb']:.1f} KB"),
            ("site in total", f"{figures['total_mb']:.1f} MB in {figures['files']} files"),
            ("vaebench list", f"{figures['list'].seconds:.1f} s, peak {figures['list'].peak_mib:.0f} MiB"),
            ("load_experiments with metrics", f"{figures['load'].seconds:.1f} s, peak {figures['load'].peak_mib:.0f} MiB")]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--source", type=Path, default=Path("results/study"))
    parser.add_argument("--keep", type=Path, help="synthesize and build here (a new folder) instead of a temporary one")
    args = parser.parse_args()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node()} · {os.cpu_count()} cores · "
          f"{args.cells} cells copied from {args.source}")
    if args.keep:
        args.keep.mkdir(parents=True)
        print(table(measure(args.source, args.cells, args.keep)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-site-") as folder:
        print(table(measure(args.source, args.cells, Path(folder))))


if __name__ == "__main__":
    main()
