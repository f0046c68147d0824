"""Render a results dir into a static site: index, comparisons, one page per trained cell.

Deterministic: stable ordering, fixed seeds for every picture, explicitly
named chart parameters; the build date appears once, in index.html.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

import vaebench
from vaebench import store
from vaebench.errors import VaebenchError
from vaebench.preset_files import read_preset_table
from vaebench.metrics.spec import DEFAULT_SETTINGS, METRICS, SCORES, SETTINGS
from vaebench.picture_spec import ARITHMETIC_FACTOR, LATENTS_FILE, TRAVERSAL_STEPS, pictures_are_current, read_pictures
from vaebench.site import cell_charts, charts, table_charts
from vaebench.site.assets import write_assets
from vaebench.site.cell_view import MATCHING_MATRICES, SCATTER_SAMPLES, CellView, matching_rule, traversal_unit
from vaebench.site.codes import CODES_SCRIPT, DECIMALS, LATENT_FIELDS, codes_data, codes_script, columns
from vaebench.site.headline import over_seeds
from vaebench.site.labels import direction, heading, label
from vaebench.site.leaderboard import leaderboard
from vaebench.site.numbers import significant
from vaebench.site.sweeps import sweep_points
from vaebench.site.verdict import verdict

TEMPLATES = resources.files("vaebench") / "templates"
STYLESHEET = TEMPLATES / "style.css"
#: the scripts of the cell pages and the explorer, shipped once in assets/ rather than inlined in every page
PAGE_SCRIPTS = ("scatter.js", "cell_page.js", "explorer.js")
TRADEOFF_PNG = "tradeoff.png"
#: the one copy of the metrics table that the index's and comparison page's charts read
METRICS_DATA = "data/metrics.js"
#: strip plots of every seed per model once some setting has this many seeds (fewer: points say it all)
STRIP_SEEDS = 5
#: what a cell page and the index's problem table say of a cell without current pictures: the report does not draw them
PICTURES_NOT_DRAWN = ("pictures not drawn: run `vaebench evaluate --pictures` on its results dir "
                      "(it draws them from the cell's weights, which the cell must still have)")
#: the list of files a build wrote into its out dir: a rebuild replaces or removes those and nothing else
SITE_MANIFEST = ".vaebench-site.json"
#: every file a build writes; a folder holding only such files (and index.html) is a site built before the manifest
_SITE_FILE = re.compile(r"(index|compare|glossary|gallery|explorer)\.html|tradeoff\.png|assets/[^/]+\.(js|css)|data/[^/]+\.js|"
                        r"cells/[^/]+\.html|cells/[^/]+/[^/]+\.png")


def _slug(name: str) -> str:
    return name.replace("/", "__")


def _config(params: dict) -> str:
    """Model with its hyperparameters, as in the cell name: ``beta_vae-beta4``."""
    return params["name"].split("/")[1]


def _json_for_script(spec: dict) -> Markup:
    """A spec as JSON that is safe inside a <script> element: every "<" is a JSON escape, so no data can end it."""
    return Markup(json.dumps(spec, sort_keys=True, separators=(",", ":")).replace("<", "\\u003c"))


class Site:
    def __init__(self, results_dir: Path, out_dir: Path):
        self.results_dir, self.out_dir = Path(results_dir), Path(out_dir)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.experiments, self.problems = self._read()
        self.frame = self._frame()
        #: per cell name: its CellView or None, filled by cell_page for the gallery and the explorer
        self.views: dict[str, CellView | None] = {}

    # --- reading ---------------------------------------------------------------
    def _read(self):
        if not self.results_dir.is_dir():
            raise VaebenchError(f"results dir {self.results_dir} does not exist; run `vaebench run grid` first")
        grid = store.read_grid(self.results_dir)
        experiments = store.load_experiments(self.results_dir, include_failed=True)
        if not grid and not experiments:
            raise VaebenchError(f"results dir {self.results_dir} holds no grid; run `vaebench run grid` first")
        problems, done = [], []
        seen = set()
        for experiment in experiments:
            seen.add(experiment.name)
            if experiment.status == store.CellStatus.FAILED:
                problems.append({"name": experiment.name, "status": experiment.status, "reason": experiment.params["failure"]["reason"]})
                continue
            try:
                experiment.history
            except VaebenchError as error:
                problems.append({"name": experiment.name, "status": "corrupt history.csv", "reason": str(error)})
                experiment.__dict__["history"] = pd.DataFrame()
            try:
                metrics = experiment.metrics
            except VaebenchError as error:
                problems.append({"name": experiment.name, "status": "corrupt metrics.json", "reason": str(error)})
                experiment.__dict__["metrics"] = None
                done.append(experiment)
                continue
            if metrics is None:
                problems.append({"name": experiment.name, "status": "not scored", "reason": "metrics.json is missing"})
            if not pictures_are_current(experiment.path):
                problems.append({"name": experiment.name, "status": "pictures not drawn",
                                 "reason": PICTURES_NOT_DRAWN.removeprefix("pictures not drawn: ")})
            done.append(experiment)
        for name in sorted(set(grid) - seen):
            problems.append({"name": name, "status": store.CellStatus.PENDING, "reason": "not trained yet"})
        return done, sorted(problems, key=lambda p: p["name"])

    def _frame(self) -> pd.DataFrame:
        frame = store.metrics_frame([e for e in self.experiments if e.metrics])
        if frame.empty:
            return frame
        frame = frame.dropna(subset=["value"])
        names = {e.name: e for e in self.experiments}
        frame["config"] = [_config(names[n].params) for n in frame["name"]]
        frame["url"] = ["cells/" + _slug(n) + ".html" for n in frame["name"]]
        return frame.sort_values(["config", "latent_dim", "seed", "metric"]).reset_index(drop=True)

    @property
    def metrics(self) -> list[str]:
        # metrics that are a number for at least one cell (n/a everywhere would chart nothing)
        present = set(self.frame.dropna(subset=["value"])["metric"]) if not self.frame.empty else set()
        known = [m for m in charts.KNOWN_METRICS if m in present]
        return known + sorted(present - set(known))

    @property
    def configs(self) -> list[str]:
        return sorted({_config(e.params) for e in self.experiments})

    def wide(self) -> pd.DataFrame:
        wide = self.frame.pivot_table(index=["name", "config", "model", "family", "latent_dim", "seed", "url"], columns="metric",
                                      values="value").reset_index()
        wide.columns.name = None
        return wide.round(5)

    # --- pages -----------------------------------------------------------------
    def render(self, template: str, path: Path, root: str, **context) -> None:
        html = self.env.get_template(template).render(root=root, version=vaebench.__version__,
                                                      results_name=self.results_dir.name, **context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html)

    def run_facts(self) -> dict:
        params = [e.params for e in self.experiments] or [{}]
        first = params[0]
        environment = first.get("environment", {})
        versions = ", ".join(f"{k} {v}" for k, v in sorted(environment.items()) if k not in ("backend", "device", "platform"))
        grid = store.read_grid(self.results_dir)
        statuses = [store.cell_status(self.results_dir / name) for name in grid] or [e.status for e in self.experiments]
        presets = store.read_presets(self.results_dir)
        return {
            "description": " ".join(presets[name] for name in sorted(presets)),
            "presets": sorted(presets),
            # a reader must not mistake a reduced grid for the literature-scale study
            "paper": None if "paper" in presets else read_preset_table("paper")[0].get("description", ""),
            "dataset": ", ".join(sorted({p.get("dataset", "?") for p in params})),
            "image_size": ", ".join(sorted({str(p.get("image_size")) for p in params})),
            "configs": self.configs, "families": sorted({p.get("family", "?") for p in params}),
            "latent_dims": sorted({p.get("latent_dim") for p in params if p.get("latent_dim")}),
            "seeds": sorted({p.get("seed") for p in params if p.get("seed") is not None}),
            "steps": first.get("steps"), "batch_size": first.get("batch_size"), "learning_rate": first.get("learning_rate"),
            "machines": _machines(params), "versions": versions,
            **{status.value: statuses.count(status) for status in store.CellStatus},
        }

    def write_data(self) -> None:
        """The metrics table, one row per trained cell, as a script that works from file:// (a fetched JSON would not)."""
        wide = self.wide()
        points = sweep_points([e.params for e in self.experiments])
        wide["sweep"] = [points[n].sweep if n in points else None for n in wide["name"]]
        wide["strength"] = [points[n].strength if n in points else None for n in wide["name"]]
        records = json.loads(wide.to_json(orient="records"))  # NaN becomes null
        text = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        path = self.out_dir / METRICS_DATA
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("window.VAEBENCH_DATA = window.VAEBENCH_DATA || {};\n"
                        f"window.VAEBENCH_DATA.{charts.DATA} = {text};\n")
        self.records = records

    def full_table(self) -> dict:
        """Every scored cell against every metric that is a number somewhere; "n/a" where it does not apply."""
        rows = []
        for e in self.experiments:
            if not e.metrics:
                continue
            values = []
            for key in self.metrics:
                value = e.scores.get(key)
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                values.append(significant(float(value)) if numeric else "n/a")
            rows.append({"name": e.name, "url": "cells/" + _slug(e.name) + ".html", "values": values})
        return {"columns": [{"key": k, "label": label(k)} for k in self.metrics], "rows": rows}

    def budget(self, run: dict, summary: pd.DataFrame) -> dict:
        """What the run cost and what, at that cost, it cannot show."""
        seconds = sum(e.params.get("wall_seconds") or 0 for e in self.experiments)
        paper = read_preset_table("paper")[0]
        reduced = sorted(name for name, value in self.settings_used().items()
                         if name != "seed" and min(value) < DEFAULT_SETTINGS[name])
        return {"hours": seconds / 3600, "cells": len(self.experiments),
                "seeds": sorted({int(n) for n in summary["n"]}) if not summary.empty else [],
                "paper_steps": paper["steps"], "paper_seeds": len(paper["seeds"]), "reduced": reduced,
                "short": bool(run["steps"]) and run["steps"] < paper["steps"]}

    def settings_used(self) -> dict[str, set]:
        """Each metric setting with the values the cells' metrics.json record."""
        used: dict[str, set] = {}
        for e in self.experiments:
            for metric_settings in ((e.metrics or {}).get("settings") or {}).values():
                for name, value in metric_settings.items():
                    used.setdefault(name, set()).add(value)
        return used

    def index(self) -> None:
        index_charts, found, board, summary = None, None, None, pd.DataFrame()
        if not self.frame.empty:
            self.write_data()
            wide = self.wide()
            summary = over_seeds(self.frame)
            found = verdict(self.frame, [(e.metrics or {}).get("matrices") or {} for e in self.experiments if e.metrics])
            board = leaderboard(summary)
            if "recon_bce" in wide:  # a still picture of the headline chart, for READMEs and slides
                still = charts.tradeoff(self.configs, self.metrics)
                shown = heading(charts.tradeoff_metrics(self.metrics)[0])
                still.update(title=f"{shown} against reconstruction, one point per trained model",
                             datasets={charts.DATA: self.records})
                (self.out_dir / TRADEOFF_PNG).write_bytes(charts.to_png(still))
            swept = any(r["sweep"] for r in self.records)
            index_charts = {
                "overview": _json_for_script(charts.overview(self.configs, self.metrics)) if "recon_bce" in wide else None,
                "heatmap": _json_for_script(charts.heatmap(self.metrics)),
                "strength": _json_for_script(charts.regularisation(self.metrics)) if swept else None,
                "strips": (_json_for_script(charts.seed_strips(self.configs, self.metrics))
                           if int(summary["n"].max()) >= STRIP_SEEDS else None),
                "correlation": _json_for_script(charts.rank_correlation(wide, [m for m in self.metrics if m in wide])),
            }
        run = self.run_facts()
        cells = [{"name": e.name, "url": "cells/" + _slug(e.name) + ".html"} for e in self.experiments]
        self.render("index.html.j2", self.out_dir / "index.html", "", title=f"vaebench report: {self.results_dir.name}",
                    run=run, budget=self.budget(run, summary), verdict=found, board=board, table=self.full_table(),
                    charts=index_charts, problems=self.problems, cells=cells, strip_seeds=STRIP_SEEDS,
                    build_date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def compare(self) -> None:
        compare_charts = None
        if not self.frame.empty:
            compare_charts = {"by_latent": _json_for_script(charts.metric_vs_latent(self.configs, self.metrics)),
                              "side_by_side": _json_for_script(charts.models_side_by_side(self.configs, self.metrics))}
        self.render("compare.html.j2", self.out_dir / "compare.html", "", title="comparisons", charts=compare_charts)

    def glossary(self) -> None:
        """One entry per score key of the spec, and one for any other key a metrics.json holds."""
        used = self.settings_used()
        written = {key for e in self.experiments for key in e.scores}
        entries = []
        for metric in METRICS.values():
            settings = [{"name": name, "meaning": SETTINGS[name].meaning, "standard": SETTINGS[name].default,
                         "used": ", ".join(str(v) for v in sorted(used.get(name, ()))) or "not scored here"}
                        for name in metric.settings if name != "seed"]
            for score in metric.scores:
                entries.append({"score": score, "heading": heading(score.key), "metric": metric,
                                "direction": direction(score.key) or "not a quality: neither end is better",
                                "settings": settings, "written": score.key in written})
        foreign = sorted(written - set(SCORES))
        self.render("glossary.html.j2", self.out_dir / "glossary.html", "", title="glossary of metrics",
                    entries=entries, foreign=foreign)

    def cell_page(self, experiment: store.Experiment) -> None:
        slug = _slug(experiment.name)
        matrices = (experiment.metrics or {}).get("matrices") or {}
        pictures_dir = experiment.path / store.PICTURES_DIR
        table = _table_section(pictures_dir)
        view = CellView.read(pictures_dir, matrices, f"{slug}/")
        if view is not None:
            image_dir = self.out_dir / "cells" / slug
            image_dir.mkdir(parents=True, exist_ok=True)
            for png in sorted(pictures_dir.glob("*.png")):
                shutil.copyfile(png, image_dir / png.name)
        self.views[experiment.name] = view

        medians = self.frame.groupby("metric")["value"].median() if not self.frame.empty else pd.Series(dtype=float)
        ranked = sorted(experiment.scores.items(), key=lambda kv: self._metric_rank(kv[0]))
        scores = [{"key": key, "label": charts.label(key), "value": value, "median": medians.get(key),
                   "direction": _DIRECTION[SCORES[key].higher_is_better] if key in SCORES else ""}
                  for key, value in ranked if not isinstance(value, str)]
        # a score that does not apply is stored as "n/a: why"
        not_applicable = [f"{charts.label(key)} ({value.removeprefix('n/a: ')})"
                          for key, value in ranked if isinstance(value, str)]
        shown = ("name", "dataset", "image_size", "model", "hparams", "family", "latent_dim", "seed", "steps", "batch_size",
                 "learning_rate", "wall_seconds", "images_per_second")
        params = [(k, json.dumps(experiment.params[k], sort_keys=True) if isinstance(experiment.params.get(k), dict)
                   else experiment.params.get(k)) for k in shown if k in experiment.params]
        environment = experiment.params.get("environment", {})
        params += [(f"environment.{k}", v) for k, v in sorted(environment.items())]
        p = experiment.params
        summary = (f"{_config(p)} ({p.get('family')} encoder and decoder), {p.get('latent_dim')} latents, seed {p.get('seed')}; "
                   f"trained {p.get('steps')} steps of batch {p.get('batch_size')} on {p.get('dataset')} at {p.get('image_size')} px.")
        self.render("cell.html.j2", self.out_dir / "cells" / f"{slug}.html", "../", title=experiment.name,
                    cell=experiment, params=params, scores=scores, not_applicable=not_applicable, summary=summary,
                    glance=_glance(view),
                    metrics_problem="metrics.json is missing or corrupt: see the index's problem table.",
                    factor_chart=_factor_chart(matrices, view), matching_rule=matching_rule(matrices),
                    curves=(_json_for_script(cell_charts.training_curves(experiment.history))
                            if not experiment.history.empty else None),
                    view=view, table=table, pictures_note=PICTURES_NOT_DRAWN, centre=TRAVERSAL_STEPS // 2,
                    all_steps=list(range(TRAVERSAL_STEPS)), arithmetic_factor=ARITHMETIC_FACTOR,
                    scatter=_table_scatter(pictures_dir) if table else _cell_scatter(view))

    def gallery(self) -> None:
        """Held-out input 0 in every model × latent size (its lowest seed): reconstruction, top traversals, prior samples."""
        lowest = {}
        for experiment in self.experiments:
            key = (_config(experiment.params), experiment.params.get("latent_dim"))
            if key not in lowest or experiment.params.get("seed", 0) < lowest[key].params.get("seed", 0):
                lowest[key] = experiment
        latent_dims = sorted({latent for _, latent in lowest})
        rows = []
        for config in sorted({config for config, _ in lowest}):
            blocks = []
            for latent in latent_dims:
                experiment = lowest.get((config, latent))
                view = self.views[experiment.name] if experiment else None
                blocks.append({"experiment": experiment, "url": f"cells/{_slug(experiment.name)}.html" if experiment else None,
                               "view": view.at(f"cells/{_slug(experiment.name)}/", f"g{len(rows)}-{len(blocks)}") if view else None})
            rows.append({"config": config, "blocks": blocks})
        self.render("gallery.html.j2", self.out_dir / "gallery.html", "", title="gallery", rows=rows, latent_dims=latent_dims,
                    gallery_steps=list(range(0, TRAVERSAL_STEPS, 2)), traversal_rows=GALLERY_TRAVERSALS)

    def explorer(self) -> None:
        """The scatter matrix of every cell's most informative latents, switched between cells in place (data/codes.js)."""
        cells = []
        for experiment in self.experiments:
            view = self.views.get(experiment.name)
            if view is not None and view.latents_table is not None:
                cells.append((experiment.params, "cells/" + _slug(experiment.name) + ".html", view))
        data = codes_data(cells)
        (self.out_dir / CODES_SCRIPT).parent.mkdir(parents=True, exist_ok=True)
        (self.out_dir / CODES_SCRIPT).write_text(codes_script(data))
        specs = {factor: _json_for_script(cell_charts.scatter_matrix(list(LATENT_FIELDS), factor, categorical, SCATTER_SAMPLES))
                 for factor, categorical in data["factors"].items()}
        self.render("explorer.html.j2", self.out_dir / "explorer.html", "", title="latent space explorer", specs=specs,
                    samples=SCATTER_SAMPLES, cells=len(data["cells"]), codes_script=CODES_SCRIPT)

    def _metric_rank(self, key: str) -> tuple:
        known = list(charts.KNOWN_METRICS)
        return (known.index(key) if key in known else len(known), key)


#: arrows for Score.higher_is_better: which end of a score is better (None: not a quality)
_DIRECTION = {True: "↑", False: "↓", None: ""}
#: traversal rows per block of the gallery (the most informative latents)
GALLERY_TRAVERSALS = 3


def _factor_chart(matrices: dict, view: CellView | None) -> Markup | None:
    if not any(key in matrices for key in MATCHING_MATRICES):
        return None
    rows = next(matrices[key]["rows"] for key in MATCHING_MATRICES if key in matrices)
    labels = {z: z for z in rows}
    if view is not None:
        rows = [latent.z for latent in view.latents]
        labels = {latent.z: f"{latent.z} · {latent.strength}" for latent in view.latents}
    return _json_for_script(cell_charts.factor_matrices(matrices, rows, labels))


def _machines(params: list[dict]) -> str:
    """Where the cells trained, with how many each: "GPU (NVIDIA H200), jax: 24 cells; CPU (2 cores), tensorflow: 6 cells"."""
    where = Counter(f"{p.get('environment', {}).get('device', '?')}, {p.get('environment', {}).get('backend', '?')}"
                    for p in params)
    return "; ".join(f"{machine}: {count} cell{'s' if count > 1 else ''}" for machine, count in where.most_common())


def _glance(view: CellView | None) -> str | None:
    """One sentence: how many latents carry information, which factor each matches, and which factors none does."""
    if view is None or all(latent.factors is None for latent in view.latents):
        return None
    informative = view.informative
    matched = [f"{' + '.join(latent.factors)} ({latent.z})" for latent in informative if latent.factors]
    missing = [f for f in view.factor_names if not any(f in (latent.factors or ()) for latent in informative)]
    text = f"{len(informative)} of {len(view.latents)} latents carry information; matched factors: {', '.join(matched) or 'none'}."
    return text + (f" No single latent captures {', '.join(missing)}." if missing else "")


def _cell_scatter(view: CellView | None) -> dict | None:
    table = view.codes() if view is not None else None
    if table is None:
        return None
    factors, fields, codes = columns(table, view.factor_names)
    categorical = set(view.categorical_factors)
    return {"fields": fields, "samples": len(table), "data": _json_for_script({"factors": factors, "codes": codes}),
            "specs": {f: _json_for_script(cell_charts.scatter_matrix(fields, f, f in categorical, len(table)))
                      for f in factors["names"]}}


def _table_section(pictures_dir: Path) -> dict | None:
    """What a table cell's page shows instead of pictures (vaebench.table_pictures); None for other cells."""
    meta = read_pictures(pictures_dir)
    if meta is None or meta.get("kind") != "tables":
        return None
    informative = {t["latent"] for t in meta["traversals"]}
    return {"likelihood": meta["likelihood"], "columns": meta["columns"], "strength_name": meta["strength_name"],
            "record": meta["traversal_record"], "folded": len(meta["strength"]) - len(informative),
            "step_unit": traversal_unit(meta["gaussian"]),
            "charts": {"quality": _json_for_script(table_charts.column_quality(meta)),
                       "movement": _json_for_script(table_charts.movement_heatmap(meta)) if informative else None,
                       **{name: (_json_for_script(spec) if spec else None) for name, spec in
                          (("lines", table_charts.traversal_lines(meta)), ("areas", table_charts.traversal_areas(meta)))}}}


def _table_scatter(pictures_dir: Path) -> dict | None:
    """The scatter matrix of a table cell's codes, colourable by every column, the label and the factors.

    Numeric columns colour on a continuous scale; categories by their index in order of appearance.
    """
    path = pictures_dir / LATENTS_FILE
    if not path.is_file():
        return None
    table = pd.read_csv(path, nrows=SCATTER_SAMPLES)
    latents = [c for c in table.columns if re.fullmatch(r"z\d+", c)][: len(LATENT_FIELDS)]
    names = [c for c in table.columns if c not in latents]
    numeric = {name: pd.api.types.is_numeric_dtype(table[name]) for name in names}
    values = [table[name].round(4).tolist() if numeric[name] else pd.factorize(table[name])[0].tolist() for name in names]
    data = {"factors": {"names": names, "indices": values}, "codes": [table[z].round(DECIMALS).tolist() for z in latents]}
    return {"fields": latents, "samples": len(table), "data": _json_for_script(data),
            "specs": {name: _json_for_script(cell_charts.scatter_matrix(latents, name, not numeric[name], len(table),
                                                                           indexed=False))
                      for name in names}}


def find_grid_dir(results_dir: Path) -> Path:
    """``results_dir`` itself if it holds a grid, else the one grid dir inside it."""
    results_dir = Path(results_dir)
    if (results_dir / store.GRID_FILE).exists() or not results_dir.is_dir():
        return results_dir
    grids = store.grid_dirs(results_dir)
    if len(grids) > 1:
        raise VaebenchError(f"{results_dir} holds several grids ({', '.join(str(g.relative_to(results_dir)) for g in grids)}); "
                            "pass one of them with --results")
    return grids[0] if grids else results_dir


def build_site(results_dir: Path, out_dir: Path) -> Path:
    """Build the site for ``results_dir`` into ``out_dir``; return its index.html.

    The site is built in a hidden staging folder beside ``out_dir`` and then moved in, so a failed or
    killed build leaves the old site as it was (and the next build removes the staging folder). In an
    existing ``out_dir`` only the files an earlier build wrote are replaced or removed; any other file stays.
    """
    grid_dir = find_grid_dir(results_dir)
    out_dir = Path(out_dir)
    ours = _earlier_build(out_dir, grid_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for killed in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.staging-*"):
        if store.STAGING_DIR.fullmatch(killed.name) and killed.is_dir() and not killed.is_symlink():
            shutil.rmtree(killed)
    staging = store.make_staging_dir(out_dir)
    try:
        with store.naming(out_dir):  # no results lock: the build only reads, and every results file is replaced atomically
            site = Site(grid_dir, staging)
            write_assets(staging, STYLESHEET.read_text(), {name: (TEMPLATES / name).read_text() for name in PAGE_SCRIPTS})
            site.index()
            site.compare()
            site.glossary()
            for experiment in site.experiments:
                site.cell_page(experiment)
            site.gallery()
            site.explorer()
            _swap_in(staging, out_dir, ours)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "index.html"


def _earlier_build(out_dir: Path, grid_dir: Path) -> set[str]:
    """The files an earlier build wrote in ``out_dir`` (relative paths); refuse an ``out_dir`` that is not the site's to write."""
    out, results = out_dir.resolve(), grid_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise VaebenchError(f"--out {out_dir} is a file; expected a folder for the site (new, empty, or an earlier site)")
    if results.is_relative_to(out):
        raise VaebenchError(f"--out {out_dir} holds the results dir {grid_dir}; choose a folder outside it, e.g. {out.parent / 'site'}")
    if out.is_relative_to(results) and out.relative_to(results).parts[0] in {name.split("/")[0] for name in store.read_grid(grid_dir)}:
        raise VaebenchError(f"--out {out_dir} is inside the cells of the results dir {grid_dir}; choose a folder outside them")
    if not out_dir.exists():
        return set()
    manifest = out_dir / SITE_MANIFEST
    if manifest.is_file():
        files = store.read_json(manifest)
        files = files.get("files") if isinstance(files, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, str) and _inside(out_dir, f) for f in files):
            raise VaebenchError(f"corrupt site manifest {manifest}: expected {{\"files\": [relative paths inside {out_dir}]}}")
        return set(files)
    files = {path.relative_to(out_dir).as_posix() for path in out_dir.rglob("*") if not path.is_dir()}
    if files and not ("index.html" in files and all(_SITE_FILE.fullmatch(f) for f in files)):
        raise VaebenchError(f"out dir {out_dir} exists and is not a vaebench site; refusing to replace it: choose another --out")
    return files


def _inside(folder: Path, relative: str) -> bool:
    parts = Path(relative).parts
    return bool(parts) and not Path(relative).is_absolute() and ".." not in parts and \
        (folder / relative).resolve().is_relative_to(folder.resolve())


def _swap_in(staging: Path, out_dir: Path, ours: set[str]) -> None:
    """Move the built site from ``staging`` into ``out_dir``, replacing the files of ``ours`` and no other."""
    built = {path.relative_to(staging).as_posix() for path in staging.rglob("*") if path.is_file()}
    if not out_dir.exists():
        store.write_json(staging / SITE_MANIFEST, {"files": sorted(built)})
        os.rename(staging, out_dir)
        return
    # From here on the manifest names every file of ours in out_dir, wherever a kill interrupts the moves.
    store.write_json(out_dir / SITE_MANIFEST, {"files": sorted(ours | built)})
    for relative in sorted(built):
        (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, out_dir / relative)
    for relative in sorted(ours - built):
        (out_dir / relative).unlink(missing_ok=True)
        for parent in (out_dir / relative).parents:
            if parent == out_dir or any(parent.iterdir()):
                break
            parent.rmdir()
    store.write_json(out_dir / SITE_MANIFEST, {"files": sorted(built)})
