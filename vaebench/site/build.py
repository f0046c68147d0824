"""Render a results dir into a static site: index, comparisons, one page per trained cell.

Deterministic: stable ordering, fixed seeds for every picture, explicitly
named chart parameters; the build date appears once, in index.html.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from functools import partial
from importlib import resources
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

import vaebench
from vaebench import store
from vaebench.errors import VaebenchError
from vaebench.grid import load_preset
from vaebench.site import charts
from vaebench.site.assets import ASSET_DIR, write_assets
from vaebench.site.images import LATENTS_FILE, PICTURES_FILE, draw_cell_pictures

TEMPLATES = resources.files("vaebench") / "templates"
STYLESHEET = TEMPLATES / "style.css"
ARITHMETIC_FACTOR = "scale"
TRADEOFF_PNG = "tradeoff.png"


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
            if experiment.status == "failed":
                problems.append({"name": experiment.name, "status": "failed", "reason": experiment.params["failure"]["reason"]})
                continue
            try:
                metrics = experiment.metrics
            except VaebenchError as error:
                problems.append({"name": experiment.name, "status": "corrupt metrics.json", "reason": str(error)})
                experiment.__dict__["metrics"] = None
                done.append(experiment)
                continue
            if metrics is None:
                problems.append({"name": experiment.name, "status": "not scored", "reason": "metrics.json is missing"})
            done.append(experiment)
        for name in sorted(set(grid) - seen):
            problems.append({"name": name, "status": "pending", "reason": "not trained yet"})
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
        wide = self.frame.pivot_table(index=["name", "config", "family", "latent_dim", "seed", "url"], columns="metric",
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
        settings = {}
        for e in self.experiments:
            for metric_settings in ((e.metrics or {}).get("settings") or {}).values():
                settings.update(metric_settings)
        grid = store.read_grid(self.results_dir)
        statuses = [store.cell_status(self.results_dir / name) for name in grid] or [e.status for e in self.experiments]
        presets = store.read_presets(self.results_dir)
        return {
            "description": " ".join(presets[name] for name in sorted(presets)),
            "presets": sorted(presets),
            # a reader must not mistake a reduced grid for the literature-scale study
            "paper": None if "paper" in presets else load_preset("paper").description,
            "dataset": ", ".join(sorted({p.get("dataset", "?") for p in params})),
            "image_size": ", ".join(sorted({str(p.get("image_size")) for p in params})),
            "configs": self.configs, "families": sorted({p.get("family", "?") for p in params}),
            "latent_dims": sorted({p.get("latent_dim") for p in params if p.get("latent_dim")}),
            "seeds": sorted({p.get("seed") for p in params if p.get("seed") is not None}),
            "steps": first.get("steps"), "batch_size": first.get("batch_size"), "learning_rate": first.get("learning_rate"),
            "device": environment.get("device", "?"), "backend": environment.get("backend", "?"), "versions": versions,
            "metric_settings": ", ".join(f"{k} {v}" for k, v in sorted(settings.items())) or "—",
            "done": statuses.count("done"), "failed": statuses.count("failed"), "pending": statuses.count("pending"),
        }

    def headline(self) -> dict:
        metrics = self.metrics
        rows = []
        if not self.frame.empty:
            for (config, latent), group in self.frame.groupby(["config", "latent_dim"], sort=True):
                row = {"config": config, "latent_dim": int(latent), "seeds": group["seed"].nunique()}
                for metric, values in group.groupby("metric")["value"]:
                    row[metric] = {"median": float(values.median()), "min": float(values.min()), "max": float(values.max())}
                rows.append(row)
        return {"metrics": metrics, "rows": rows}

    def index(self) -> None:
        index_charts = None
        if not self.frame.empty:
            wide = self.wide()
            tradeoff = charts.tradeoff(wide, self.configs, self.metrics) if "recon_bce" in wide else None
            if tradeoff is not None:  # a still picture of the headline chart, for READMEs and slides
                shown = charts.label(charts.tradeoff_metrics(self.metrics)[0])
                still = {**tradeoff, "title": f"{shown} against reconstruction, one point per trained model"}
                (self.out_dir / TRADEOFF_PNG).write_bytes(charts.to_png(still))
            index_charts = {
                "tradeoff": _json_for_script(tradeoff) if tradeoff is not None else None,
                "spread": _json_for_script(charts.seed_spread(self.frame, self.configs, self.metrics)),
                "heatmap": _json_for_script(charts.heatmap(self.frame, self.metrics)),
                "correlation": _json_for_script(charts.rank_correlation(wide, [m for m in self.metrics if m in wide])),
            }
        cells = [{"name": e.name, "url": "cells/" + _slug(e.name) + ".html"} for e in self.experiments]
        self.render("index.html.j2", self.out_dir / "index.html", "", title=f"vaebench report: {self.results_dir.name}",
                    run=self.run_facts(), headline=self.headline(), labels={m: charts.label(m) for m in self.metrics},
                    charts=index_charts, problems=self.problems, cells=cells,
                    build_date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def compare(self) -> None:
        compare_charts = None
        if not self.frame.empty:
            compare_charts = {"by_latent": _json_for_script(charts.metric_vs_latent(self.frame, self.configs, self.metrics)),
                              "side_by_side": _json_for_script(charts.models_side_by_side(self.frame, self.configs, self.metrics))}
        self.render("compare.html.j2", self.out_dir / "compare.html", "", title="comparisons", charts=compare_charts)

    def cell_page(self, experiment: store.Experiment, dataset) -> None:
        slug = _slug(experiment.name)
        pictures_dir = _cell_pictures(experiment, dataset)
        images, scatter, pictures = None, None, {}
        if pictures_dir is not None:
            pictures = json.loads((pictures_dir / PICTURES_FILE).read_text())
            image_dir = self.out_dir / "cells" / slug
            image_dir.mkdir(parents=True, exist_ok=True)
            for png in sorted(pictures_dir.glob("*.png")):
                shutil.copyfile(png, image_dir / png.name)
            images = {"recon": f"{slug}/reconstructions.png",
                      "traversals": [f"{slug}/{name}" for name in pictures["traversals"]],
                      "interpolation": f"{slug}/interpolation.png",
                      "arithmetic": f"{slug}/{pictures['arithmetic']}" if pictures["arithmetic"] else None}
            if (pictures_dir / LATENTS_FILE).exists():
                table = pd.read_csv(pictures_dir / LATENTS_FILE)
                scatter = _json_for_script(charts.latent_scatter_matrix(table, list(dataset.factor_names)))
        gaussian = pictures.get("gaussian", True)

        medians = self.frame.groupby("metric")["value"].median() if not self.frame.empty else pd.Series(dtype=float)
        scores = [{"key": key, "label": charts.label(key), "value": value, "median": medians.get(key)}
                  for key, value in sorted(experiment.scores.items(), key=lambda kv: self._metric_rank(kv[0]))]
        shown = ("name", "dataset", "image_size", "model", "hparams", "family", "latent_dim", "seed", "steps", "batch_size",
                 "learning_rate", "wall_seconds", "images_per_second")
        params = [(k, json.dumps(experiment.params[k], sort_keys=True) if isinstance(experiment.params.get(k), dict)
                   else experiment.params.get(k)) for k in shown if k in experiment.params]
        environment = experiment.params.get("environment", {})
        params += [(f"environment.{k}", v) for k, v in sorted(environment.items())]
        strengths = ", ".join(f"z{i} {pictures['strength'][i]:.2f}" for i in pictures.get("order", []))
        self.render("cell.html.j2", self.out_dir / "cells" / f"{slug}.html", "../", title=experiment.name,
                    cell=experiment, params=params, scores=scores,
                    metrics_problem="metrics.json is missing or corrupt: see the index's problem table.",
                    curves=_json_for_script(charts.training_curves(experiment.history)) if not experiment.history.empty else None,
                    images=images,
                    traversal_caption=("Each latent set to −2 … +2 (prior units) around the code of one held-out input."
                                       if gaussian else "Each latent moved from −2 to +2 standard deviations around its mean over the data, "
                                       "around the code of one held-out input."),
                    order_by="mean KL per latent" if gaussian else "variance of the codes", strengths=strengths,
                    arithmetic_factor=ARITHMETIC_FACTOR, scatter=scatter)

    def _metric_rank(self, key: str) -> tuple:
        known = list(charts.KNOWN_METRICS)
        return (known.index(key) if key in known else len(known), key)


def _cell_pictures(experiment: store.Experiment, dataset) -> Path | None:
    """The cell's pictures dir, drawn afresh when the cell has its weights; None if it has neither."""
    stored = experiment.path / store.PICTURES_DIR
    if experiment.has_models:
        store.replace_cell_dir(stored, partial(draw_cell_pictures, experiment.encoder, experiment.decoder, dataset,
                                               ARITHMETIC_FACTOR))
    return stored if (stored / PICTURES_FILE).is_file() else None


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
    """Build the site for ``results_dir`` into ``out_dir`` (replacing what is there); return index.html."""
    from vaebench.data import get_dataset

    site = Site(find_grid_dir(results_dir), out_dir)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not ((out_dir / "index.html").is_file() and (out_dir / ASSET_DIR).is_dir()):
            raise VaebenchError(f"out dir {out_dir} exists and is not a vaebench site; refusing to replace it: choose another --out")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    write_assets(out_dir, STYLESHEET.read_text())
    site.index()
    site.compare()
    datasets = {}
    for experiment in site.experiments:
        key = (experiment.params["dataset"], experiment.params.get("image_size"))
        if key not in datasets:
            datasets[key] = get_dataset(key[0], image_size=key[1])
        site.cell_page(experiment, datasets[key])
    return out_dir / "index.html"


def site_size_bytes(out_dir: Path) -> int:
    return sum(p.stat().st_size for p in Path(out_dir).rglob("*") if p.is_file())


