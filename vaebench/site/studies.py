"""A site of one study or of several: which results dirs are studies, and the overview that links them.

A study is one results dir (a folder holding a ``grid.json``), named by that folder; ``vaebench.site.build`` renders
its pages. One study keeps the site's own layout (its index at the root). Several share one site: an overview at
the root says what each asks and answers, and each study's pages lie in a folder of its name, linking back. Either
way one staging folder and one manifest publish the whole site (``vaebench.site.publish``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import vaebench
from vaebench.errors import VaebenchError
from vaebench.results.layout import GRID_FILE, grid_dirs
from vaebench.results.records import read_grid, read_params
from vaebench.site.assets import ASSET_DIR, write_shared_specs
from vaebench.site.build import Site, study_name, template_environment, write_shared_assets, write_study
from vaebench.site.pages import INDEX, PAGES
from vaebench.site.publish import Earlier, publish

#: the way from a study's folder up to the site's root, which holds the overview and the shared assets
STUDY_TO_SITE = "../"


@dataclass(frozen=True)
class Study:
    """One study of the site: a results dir, or the cells of one of its datasets where it holds several (their scores
    are not compared with each other); named by the results dir, and its data then ("tables-wine")."""

    results_dir: Path
    data: str | None = None

    @property
    def name(self) -> str:
        return study_name(self.results_dir, self.data)


def study_dirs(paths: list[Path]) -> list[Study]:
    """The studies that ``paths`` name, in their order: each path that holds a grid (or is no folder: the study
    says so when it is read), else every results dir below it; a results dir of several datasets gives a study per
    dataset; two studies of one name are refused."""
    dirs: list[Path] = []
    for path in map(Path, paths):
        below = [] if (path / GRID_FILE).exists() or not path.is_dir() else grid_dirs(path)
        dirs += below or [path]
    studies = []
    for results_dir in dirs:
        data = _data_by_kind(results_dir)
        studies += [Study(results_dir, part) for part in data] if len(data) > 1 else [Study(results_dir)]
    seen: dict[str, Path] = {}
    for study in studies:
        if study.name == ASSET_DIR:
            raise VaebenchError(f"results dir {study.results_dir} is named {ASSET_DIR}, the site's folder of shared "
                                "assets; rename it (a study is named by its results dir)")
        if study.name in seen:
            raise VaebenchError(f"two results dirs are named {study.results_dir.name} ({seen[study.name]} and "
                                f"{study.results_dir}); a study is named by its results dir, so rename one of them")
        seen[study.name] = study.results_dir
    return studies


def _data_by_kind(results_dir: Path) -> list[str]:
    """The data of a results dir's cells (their names' first part) where it holds several of one data kind, which are
    different data; else [] (one study). Data of different kinds in one grid are its design, not different studies:
    the grid sends each model to data of its kind (a plain VAE to the first view of a two-view dataset)."""
    if not results_dir.is_dir():
        return []
    kinds: dict[str, object] = {}
    for name in read_grid(results_dir).cells:
        part = name.split("/")[0]
        if kinds.get(part) is not None:
            continue  # a dataset has one kind: one readable card per dataset tells it (the report reads every cell later)
        try:
            record = read_params(results_dir / name)
        except VaebenchError:  # a corrupt params.json: its study's page lists the cell as a problem
            record = None
        kinds[part] = record.card.data_kind if record is not None and record.card is not None else None
    parts = sorted(kinds)
    return parts if len(parts) > 1 and len(set(kinds.values()) - {None}) == 1 else []


def build_site(results: Path | list[Path], out_dir: Path, warn=None) -> Path:
    """Build the site of the study or studies that ``results`` names (see ``study_dirs``) into ``out_dir``; return
    its index.html.

    The pages are written into a staging folder and published from there (``vaebench.site.publish``): a failed
    or killed build leaves the old site as it was, and in an existing ``out_dir`` only the files an earlier
    build wrote, still as it wrote them, are replaced or removed; ``warn`` (default: a line on stderr) is told
    of those that changed since, which are left alone.
    """
    studies = study_dirs([results] if isinstance(results, (str, Path)) else list(results))
    publish(out_dir, list(dict.fromkeys(study.results_dir for study in studies)), partial(_write_site, studies), warn)
    return Path(out_dir) / INDEX.file


def _write_site(studies: list[Study], staging: Path, earlier: Earlier) -> None:
    write_shared_assets(staging, earlier)
    if len(studies) == 1:
        write_shared_specs(staging, write_study(studies[0].results_dir, staging, earlier).shared_specs)
        return
    sites = [write_study(study.results_dir, staging / study.name, earlier.within(f"{study.name}/"), STUDY_TO_SITE, study.data)
             for study in studies]
    write_shared_specs(staging, {key: spec for site in sites for key, spec in site.shared_specs.items()})
    entries = [_overview_entry(site) for site in sites]
    page = template_environment().get_template("overview.html.j2").render(
        root="", site_root="", pages=PAGES, version=vaebench.__version__, title="vaebench report: every study",
        results_name=", ".join(entry["name"] for entry in entries), studies=entries,
        build_date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    (staging / INDEX.file).write_text(page)


def _overview_entry(site: Site) -> dict:
    """What the overview says of one study: its question, its data, its headline answer and its pages."""
    run = site.run_facts()
    name = site.name
    found = site.verdict
    return {"name": name, "question": run["description"], "dataset": run["dataset"], "cells": len(site.experiments),
            "settings": len({site.setting_of(e.record) for e in site.experiments}), "seeds": run["seeds"],
            "latent_dims": run["latent_dims"], "pending": run["pending"],
            "answer": found.headline if found is not None else None,
            "pages": [{"nav": page.nav, "url": f"{name}/{page.file}"} for page in PAGES.values()]}
