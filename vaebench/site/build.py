"""Render a results dir into the pages of one study: index, comparisons, one page per trained cell.

Deterministic: stable ordering, fixed seeds for every picture, explicitly
named chart parameters; the build date appears once, in index.html (and the manifest records the build).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

import vaebench
from vaebench import display
from vaebench.errors import VaebenchError
from vaebench.kinds import DataKind
from vaebench.metrics.published import LITERATURE_BUDGET, LITERATURE_STEPS, PUBLISHED
from vaebench.metrics.spec import (DEFAULT_SETTINGS, FACTOR_SCORES, HEADLINE, METRICS, RECONSTRUCTION, SCORED_CODE, SCORES, SETTINGS,
                                   verdict_scores)
from vaebench.pictures.spec import ARITHMETIC_FACTOR, TRAVERSAL_STEPS, read_pictures
from vaebench.preset_files import read_preset_table
from vaebench.protocol import metric_label, study_protocol
from vaebench.results.experiments import (Experiment, checkpoints_frame, load_experiments, load_references, metrics_frame,
                                          scores_by_step_frame)
from vaebench.results.files import results_dir_error
from vaebench.results.layout import CHECKPOINTS_FILE, HISTORY_FILE, LATENTS_FILE, METRICS_FILE, PICTURES_DIR, PICTURES_FILE
from vaebench.results.records import (CELL_KEYS, CHECKPOINT_COLUMNS, CellStatus, ImagePictures, Params, TablePictures,
                                      cell_status, read_grid)
from vaebench.site import answer, cell_charts, charts, table_charts
from vaebench.site.assets import SHARED_SPECS, data_script, spec_key, write_assets
from vaebench.site.capture import CAPTURED_SHARE
from vaebench.site.cell_view import CellView, MATCHING_MATRICES, SCATTER_SAMPLES, matching_rule, traversal_unit
from vaebench.site.codes import CODES_SCRIPT, DECIMALS, LATENT_FIELDS, codes_data, columns
from vaebench.site.headline import over_seeds
from vaebench.site.labels import direction, heading, label
from vaebench.site.convergence import CHANGE_P, RANKING_TAU
from vaebench.site.ladder import LadderFinding, ladder
from vaebench.site.leaderboard import leaderboard
from vaebench.site.numbers import significant
from vaebench.site.pages import CELL_DATA, PAGES, cell_pictures_from_its_page, cell_pictures_url, cell_url
from vaebench.site.publish import Earlier, inputs_digest
from vaebench.site.sweeps import sweep_points
from vaebench.site.table_codes import TableCodes
from vaebench.site.verdict import Verdict, verdict
from vaebench.stats import pareto_front

TEMPLATES = resources.files("vaebench") / "templates"
STYLESHEET = TEMPLATES / "style.css"
#: the scripts of the cell pages and the explorer, shipped once in assets/ rather than inlined in every page
PAGE_SCRIPTS = ("scatter.js", "cell_page.js", "explorer.js", "cells_table.js")
TRADEOFF_PNG = "tradeoff.png"
#: the one copy of the metrics table that the index's and comparison page's charts read
METRICS_DATA = "data/metrics.js"
#: the grid's median of each score, shown on every cell page beside the cell's own
MEDIANS_DATA = "data/medians.js"
#: the name in a cell's data script (``CELL_DATA``) of its latent codes for the scatter matrix
SCATTER_DATA = "scatter"
#: strip plots of every seed per model once some setting has this many seeds (fewer: points say it all)
STRIP_SEEDS = 5
#: what a cell page and the index's problem table say of a cell without current pictures: the report does not draw them
PICTURES_NOT_DRAWN = ("pictures not drawn: run `vaebench evaluate --pictures` on its results dir "
                      "(it draws them from the cell's weights, which the cell must still have)")


def _config(record: Params) -> str:
    """Model with its hyperparameters, by its display name: ``β-VAE (β = 4)``."""
    return display.cell_model_name(record)


def _json_for_script(spec: dict) -> Markup:
    """A spec as JSON that is safe inside a <script> element: every "<" is a JSON escape, so no data can end it."""
    return Markup(json.dumps(spec, sort_keys=True, separators=(",", ":")).replace("<", "\\u003c"))


def template_environment() -> Environment:
    """The pages' templates, their markup escaped."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def study_name(results_dir: Path, data: str | None) -> str:
    """A study's name: its results dir's, and its data's where the dir holds several ("tables-wine")."""
    return Path(results_dir).name + (f"-{data}" if data else "")


class Site:
    def __init__(self, results_dir: Path, out_dir: Path, earlier: Earlier, site_root: str = "", data: str | None = None):
        self.results_dir, self.out_dir = Path(results_dir), Path(out_dir)
        #: the data of the results dir this study reads (its cells' first name part, e.g. "wine"), where the dir holds
        #: several (scores of different data are not compared); None: every cell
        self.data = data
        #: the study's name: its results dir's, and its data's where the dir holds several
        self.name = study_name(self.results_dir, data)
        #: the earlier build in this study's folder, whose cell pages are carried over where their inputs are the same
        self.earlier = earlier
        #: the way from this study's folder up to the site's, which holds the shared assets and, when not this study's
        #: own folder (a site of several studies, ``vaebench.site.studies``), the overview every page links back to
        self.site_root = site_root
        self.env = template_environment()
        #: per cell name: its current pictures' record, read once for its page, the gallery and the explorer; None where
        #: it has none (filled by _read, which lists those cells as problems)
        self.pictures: dict[str, ImagePictures | TablePictures | None] = {}
        #: per cell name whose PICTURES_FILE cannot be read: why, which its page says in place of the pictures
        self.unreadable_pictures: dict[str, str] = {}
        self.experiments, self.problems = self._read()
        #: per metric, the settings the study's cells were scored with; cells scored otherwise are left out of comparisons
        self.protocol = study_protocol({e.name: e.metrics for e in self.experiments if e.metrics})
        self.frame = self._frame()
        references = load_references(self.results_dir)
        references = references[references["dataset"] == data] if data and not references.empty else references
        #: the calibration rows, each titled as the report names it
        self.references = references.assign(title=references["reference"].map(lambda k: display.REFERENCE_TITLES.get(k, k)))
        #: the scores along training, each row with its cell's setting
        self.checkpoints = self._checkpoints()
        #: per cell name: its CellView or None, filled by cell_page for the gallery and the explorer
        self.views: dict[str, CellView | None] = {}
        #: the chart specs the cell pages share, by their ``spec_key``: filled by cell_page, written by write_shared_specs
        self.shared_specs: dict[str, dict] = {}
        self._spec_keys: dict[int, tuple[dict, str]] = {}

    # --- reading ---------------------------------------------------------------
    def _read(self):
        if os.path.lexists(self.results_dir) and not self.results_dir.is_dir():
            raise results_dir_error(self.results_dir)
        if not self.results_dir.is_dir():
            raise VaebenchError(f"results dir {self.results_dir} does not exist; run `vaebench run grid` first")
        grid = [name for name in read_grid(self.results_dir).cells if self.holds(name)]
        experiments = [e for e in load_experiments(self.results_dir, include_failed=True) if self.holds(e.name)]
        if not grid and not experiments:
            raise VaebenchError(f"results dir {self.results_dir} holds no grid; run `vaebench run grid` first")
        problems, done = [], []
        seen = set()
        for experiment in experiments:
            seen.add(experiment.name)
            title = display.cell_title(experiment.record)

            def problem(status, reason):
                problems.append({"name": experiment.name, "title": title, "status": status,
                                 "reason": self._relative(reason)})

            if experiment.status == CellStatus.FAILED:
                problem(experiment.status, experiment.record.failure.reason)
                continue
            try:
                experiment.history
            except VaebenchError as error:
                problem(f"corrupt {HISTORY_FILE}", str(error))
                experiment.history = pd.DataFrame()
            try:
                experiment.checkpoints
            except VaebenchError as error:
                problem(f"corrupt {CHECKPOINTS_FILE}", str(error))
                experiment.checkpoints = pd.DataFrame(columns=list(CHECKPOINT_COLUMNS))
            try:
                if experiment.metrics is None:
                    problem("not scored", f"{METRICS_FILE} is missing")
            except VaebenchError as error:
                problem(f"corrupt {METRICS_FILE}", str(error))
                experiment.metrics = None
            try:
                self.pictures[experiment.name] = read_pictures(experiment.path / PICTURES_DIR)
                if self.pictures[experiment.name] is None:
                    problem("pictures not drawn", PICTURES_NOT_DRAWN.removeprefix("pictures not drawn: "))
            except VaebenchError as error:
                problem(f"corrupt {PICTURES_FILE}", str(error))
                self.pictures[experiment.name], self.unreadable_pictures[experiment.name] = None, self._relative(str(error))
            done.append(experiment)
        for name in sorted(set(grid) - seen):
            problems.append({"name": name, "status": CellStatus.PENDING, "reason": "not trained yet"})
        return done, sorted(problems, key=lambda p: p["name"])

    def _relative(self, reason: str) -> str:
        """A problem's reason with the paths in it relative to the results dir: the page shows no folder of the
        machine that built it."""
        return reason.replace(f"{self.results_dir}{os.sep}", "")

    def holds(self, cell_name: str) -> bool:
        """Whether the cell of this name is the study's: every cell, or those of its data."""
        return self.data is None or cell_name.split("/")[0] == self.data

    def _frame(self) -> pd.DataFrame:
        frame = metrics_frame([e for e in self.experiments if e.metrics])
        if frame.empty:
            return frame
        frame = frame.dropna(subset=["value"])
        names = {e.name: e for e in self.experiments}
        frame["config"] = [_config(names[n].record) for n in frame["name"]]
        frame["setting"] = [self.setting_of(names[n].record) for n in frame["name"]]
        points = sweep_points([e.record for e in self.experiments])
        frame["objective"] = [points[n].objective if n in points else names[n].record.model for n in frame["name"]]
        frame["on_protocol"] = [self.protocol.on(n, m) for n, m in zip(frame["name"], frame["metric"])]
        # a conditional model's likelihood is of x given its label: compared only where every model reads the label
        conditional = {n for n, e in names.items() if e.record.card and e.record.card.reads_labels}
        frame["alike"] = True if conditional >= set(names) else [
            not (n in conditional and m in SCORES and SCORES[m].of_x) for n, m in zip(frame["name"], frame["metric"])]
        frame["url"] = [cell_url(n) for n in frame["name"]]
        order = {c: k for k, c in enumerate(self.configs)}
        frame = frame.assign(_order=frame["config"].map(order))
        return frame.sort_values(["_order", "latent_dim", "seed", "metric"]).drop(columns="_order").reset_index(drop=True)

    def setting_of(self, record: Params) -> str:
        """A cell's setting as the report names it: "β-VAE (β = 16), z = 4"."""
        return f"{_config(record)}, z = {record.latent_dim}"

    def _checkpoints(self) -> pd.DataFrame:
        frame = checkpoints_frame([e for e in self.experiments if e.checkpoints is not None])
        if frame.empty:
            return frame
        records = {e.name: e.record for e in self.experiments}
        return frame.assign(setting=[self.setting_of(records[n]) for n in frame["name"]],
                            config=[_config(records[n]) for n in frame["name"]],
                            points=[_points(records[n], m) for n, m in zip(frame["name"], frame["metric"])])

    @cached_property
    def budgets(self) -> pd.DataFrame:
        """The full-protocol scores of the compared cells at each step they were scored at (their snapshots and their
        last step), as the verdict's frame: one row per (cell, step, score); empty unless some cell has snapshots."""
        with_snapshots = [e for e in self.experiments if e.snapshots and e.metrics]
        if not with_snapshots:
            return pd.DataFrame()
        compared = self.compared[["name", "metric", "setting", "config"]]
        frame = scores_by_step_frame(with_snapshots).dropna(subset=["value"])
        return frame.merge(compared, on=["name", "metric"])  # only scores the study compares, under its protocol

    def budget_records(self) -> list[dict]:
        """Per setting, step and score: mean, median, lowest and highest seed, n (the budget chart)."""
        if self.budgets.empty:
            return []
        grouped = self.budgets.groupby(["setting", "config", "latent_dim", "step", "metric"])["value"]
        table = grouped.agg(mean="mean", median="median", low="min", high="max", n="count").reset_index()
        return json.loads(table.round(5).to_json(orient="records"))

    def checkpoint_records(self) -> list[dict]:
        """Per setting, checkpoint step and score: median, lowest and highest seed, n (the along-training chart)."""
        if self.checkpoints.empty:
            return []
        grouped = self.checkpoints.groupby(["setting", "config", "latent_dim", "step", "metric"])["value"]
        table = grouped.agg(median="median", low="min", high="max", n="count").reset_index()
        return json.loads(table.round(5).to_json(orient="records"))

    def calibration(self) -> dict | None:
        """The calibration rows against the grid's best: per row title and latent size, the median over seeds of the
        reconstruction and headline scores; None without rows."""
        if self.references.empty:
            return None
        keys = [key for key in (RECONSTRUCTION, *HEADLINE) if key in set(self.references["metric"])]
        rows = []
        for (title, latent), part in self.references.groupby(["title", self.references["latent_dim"].fillna(-1)],
                                                              sort=False):
            medians = part.groupby("metric")["value"].median()
            rows.append({"title": title, "latent_dim": None if latent < 0 else int(latent),
                         "values": [significant(medians[k]) if k in medians and pd.notna(medians[k]) else "—" for k in keys]})
        order = list(display.REFERENCE_TITLES.values())
        rows.sort(key=lambda r: (order.index(r["title"]) if r["title"] in order else len(order), r["latent_dim"] or 0))
        best = []
        compared = self.compared
        for latent in sorted(compared["latent_dim"].unique()) if not compared.empty else []:
            values = []
            for key in keys:
                scored = compared[(compared["metric"] == key) & (compared["latent_dim"] == latent)]
                medians = scored.groupby("setting")["value"].median()
                lower = SCORES[key].higher_is_better is False
                values.append(significant(medians.min() if lower else medians.max()) if not medians.empty else "—")
            best.append({"title": "best setting of this grid", "latent_dim": int(latent), "values": values})
        return {"columns": [{"key": k, "label": SCORES[k].label, "arrow": direction(k)} for k in keys],
                "rows": rows, "best": best}

    @property
    def compared(self) -> pd.DataFrame:
        """The scores the study compares: those computed under its protocol, of models alike (``conditional_lines``)."""
        return self.frame[self.frame["on_protocol"] & self.frame["alike"]] if not self.frame.empty else self.frame

    def conditional_lines(self) -> list[str]:
        """One line per setting whose likelihood scores are of x given its label, left out of those comparisons."""
        if self.frame.empty:
            return []
        apart = self.frame[~self.frame["alike"]]
        return [f"{setting} ({part['name'].nunique()} cells) reads the label: its {', '.join(SCORES[m].label for m in dict.fromkeys(part['metric']))} "
                "are of x given the label, not of x alone, so they are left out of those comparisons."
                for setting, part in apart.groupby("setting", sort=False)]

    @property
    def metrics(self) -> list[str]:
        # metrics that are a number for at least one cell (n/a everywhere would chart nothing)
        present = set(self.frame.dropna(subset=["value"])["metric"]) if not self.frame.empty else set()
        known = [m for m in charts.KNOWN_METRICS if m in present]
        return known + sorted(present - set(known))

    @property
    def configs(self) -> list[str]:
        """Every model's display name, in registry order and then by hyperparameter value."""
        first = {}
        for e in self.experiments:
            first.setdefault(_config(e.record), display.model_order(display.cell_model(e.record), e.record.hparams))
        return sorted(first, key=lambda name: first[name])

    def wide(self) -> pd.DataFrame:
        wide = self.frame.pivot_table(index=["name", "config", "model", "family", "latent_dim", "seed", "url"], columns="metric",
                                      values="value").reset_index()
        wide.columns.name = None
        return wide.round(5)

    # --- pages -----------------------------------------------------------------
    def render(self, template: str, path: Path, root: str, **context) -> None:
        html = self.env.get_template(template).render(root=root, site_root=self.site_root, pages=PAGES,
                                                      version=vaebench.__version__, results_name=self.name,
                                                      **context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html)

    def run_facts(self) -> dict:
        records = [e.record for e in self.experiments]
        first = records[0] if records else None  # None until a cell of the study has trained
        environment = (first and first.environment) or {}
        versions = ", ".join(f"{k} {v}" for k, v in sorted(environment.items()) if k not in ("backend", "device", "platform"))
        grid = read_grid(self.results_dir)
        statuses = [cell_status(self.results_dir / name) for name in grid.cells if self.holds(name)] or [e.status for e in self.experiments]
        presets = grid.presets
        return {
            "description": " ".join(presets[name] for name in sorted(presets)),
            "presets": sorted(presets),
            # a reader must not mistake a reduced grid for the literature-scale study
            "paper": None if "paper" in presets else read_preset_table("paper")[0].get("description", ""),
            "dataset": ", ".join(sorted({r.dataset or "?" for r in records})) or "?",
            "image_size": ", ".join(sorted({str(r.image_size) for r in records})),
            "configs": self.configs, "families": sorted({r.family or "?" for r in records}),
            "latent_dims": sorted({r.latent_dim for r in records if r.latent_dim}),
            "seeds": sorted({r.seed for r in records if r.seed is not None}),
            "steps": first and first.steps, "batch_size": first and first.batch_size,
            "learning_rate": first and first.learning_rate,
            "machines": _machines(records), "versions": versions,
            **{status.value: statuses.count(status) for status in CellStatus},
        }

    def write_data(self) -> None:
        """The metrics table, one row per trained cell, as a script that works from file:// (a fetched JSON would not)."""
        wide = self.wide()
        points = sweep_points([e.record for e in self.experiments])
        wide["sweep"] = [points[n].sweep if n in points else None for n in wide["name"]]
        wide["strength"] = [points[n].strength if n in points else None for n in wide["name"]]
        titles = {e.name: display.cell_title(e.record) for e in self.experiments}
        wide["title"] = [titles[n] for n in wide["name"]]
        records = json.loads(wide.to_json(orient="records"))  # NaN becomes null
        path = self.out_dir / METRICS_DATA
        path.parent.mkdir(parents=True, exist_ok=True)
        headline = self.headline
        shared = {charts.DATA: records, charts.SETTINGS_DATA: headline.settings if headline else [],
                  charts.REFERENCES_DATA: headline.levels if headline else [], charts.CHECKPOINTS_DATA: self.checkpoint_records(),
                  charts.BUDGETS_DATA: self.budget_records()}
        path.write_text("window.VAEBENCH_DATA = window.VAEBENCH_DATA || {};\n" + "".join(
            f"window.VAEBENCH_DATA.{name} = {json.dumps(rows, sort_keys=True, separators=(',', ':'), ensure_ascii=False)};\n"
            for name, rows in shared.items()))
        self.records = records

    @cached_property
    def headline(self) -> answer.Headline | None:
        """The headline chart's tables and axes (``vaebench.site.answer``); None where no setting has both a score and
        reconstruction."""
        rows = answer.settings_rows(self.compared, charts.tradeoff_metrics(self.metrics)) if not self.frame.empty else []
        if not rows:
            return None
        levels = answer.level_rows(self.references, rows)
        domains = answer.domains(rows, levels)
        rows, levels = answer.placed(rows, levels, domains)
        return answer.Headline(rows, levels, list(dict.fromkeys(row["metric"] for row in rows)),
                               sorted({row["latent_dim"] for row in rows}), domains)

    def headline_chart(self, inline: bool = False) -> dict | None:
        """The index's headline chart (``charts.answer``); ``inline``: with its tables in the spec (a still picture, a
        test), else reading them from the page's shared data. None where ``headline`` is."""
        found = self.headline
        if found is None:
            return None
        spec = charts.answer(self.configs, found.scores, found.latent_dims, found.domains)
        if inline:
            spec["datasets"] = {charts.SETTINGS_DATA: found.settings, charts.REFERENCES_DATA: found.levels}
        return spec

    def table_columns(self) -> list[dict]:
        """The scores of the index's table of every cell (filled in the page from METRICS_DATA): each that is a number somewhere."""
        return [{"key": k, "label": label(k)} for k in self.metrics]

    def budget(self, run: dict, summary: pd.DataFrame) -> dict:
        """What the run cost and what, at that cost, it cannot show."""
        seconds = sum(e.record.wall_seconds or 0 for e in self.experiments)
        paper = read_preset_table("paper")[0]
        reduced = sorted(name for name, value in self.settings_used().items()
                         if name != "seed" and min(value) < DEFAULT_SETTINGS[name])
        return {"hours": seconds / 3600, "cells": len(self.experiments),
                "seeds": sorted({int(n) for n in summary["n"]}) if not summary.empty else [],
                "literature_steps": LITERATURE_STEPS, "literature": LITERATURE_BUDGET,
                "literature_share": f"{100 * run['steps'] / LITERATURE_STEPS:.2g} %" if run["steps"] else None,
                "paper_seeds": len(paper["seeds"]), "reduced": reduced,
                "short": bool(run["steps"]) and run["steps"] < LITERATURE_STEPS, "scored_code": SCORED_CODE if any(m in FACTOR_SCORES for m in self.metrics) else None,
                "along_training": sorted(set(self.checkpoints["name"])) if not self.checkpoints.empty else [],
                "references": not self.references.empty}

    def settings_used(self) -> dict[str, set]:
        """Each metric setting with the values the cells' metrics.json record."""
        used: dict[str, set] = {}
        for e in self.experiments:
            for metric_settings in (e.metrics.settings if e.metrics else {}).values():
                for name, value in metric_settings.items():
                    used.setdefault(name, set()).add(value)
        return used

    def index(self) -> None:
        index_charts, found, board, summary = None, None, None, pd.DataFrame()
        if not self.frame.empty:
            self.write_data()
            wide = self.wide()
            summary = over_seeds(self.compared)
            found = self.verdict
            board = leaderboard(summary, self.configs, self.off_settings())
            still = self.headline_chart(inline=True)
            if still is not None:  # a still picture of the headline chart, for READMEs and slides
                still.update(title=f"{heading(self.headline.scores[0])} against reconstruction, median over seeds per setting")
                (self.out_dir / TRADEOFF_PNG).write_bytes(charts.to_png(still))
            swept = any(r["sweep"] for r in self.records)
            index_charts = {
                "answer": _json_for_script(self.headline_chart()) if self.headline is not None else None,
                "overview": _json_for_script(charts.overview(self.configs, self.metrics)) if "recon_bce" in wide else None,
                "heatmap": _json_for_script(charts.heatmap(self.configs, self.metrics)),
                "strength": _json_for_script(charts.regularisation(self.configs, self.metrics)) if swept else None,
                "strips": (_json_for_script(charts.seed_strips(self.configs, self.metrics))
                           if int(summary["n"].max()) >= STRIP_SEEDS else None),
                "correlation": _json_for_script(charts.rank_correlation(wide, [m for m in self.metrics if m in wide])),
                "training": (_json_for_script(charts.along_training(
                    self.configs, [m for m in (RECONSTRUCTION, *HEADLINE) if m in set(self.checkpoints["metric"])],
                    sorted(int(step) for step in set(self.checkpoints["step"]))))
                             if not self.checkpoints.empty else None),
                "budgets": (_json_for_script(charts.budget_ladder(self.configs, list(self.ladder_scores),
                                                                  sorted(self.budgets["step"].unique().tolist())))
                            if self.ladder else None),
            }
        run = self.run_facts()
        self.render("index.html.j2", self.out_dir / PAGES["index"].file, "", title=f"vaebench report: {self.name}",
                    run=run, budget=self.budget(run, summary), verdict=found, board=board, table_columns=self.table_columns(),
                    charts=index_charts, problems=self.problems, pages_of={e.name: cell_url(e.name) for e in self.experiments},
                    strip_seeds=STRIP_SEEDS,
                    protocol=self.protocol_facts(), calibration=self.calibration(),
                    winners=self.winner_traversals(found), ladder=self.ladder, ladder_tau=RANKING_TAU, ladder_p=CHANGE_P, gallery_steps=list(range(0, TRAVERSAL_STEPS, 2)),
                    capture_cut=CAPTURED_SHARE, winner_seeds=WINNER_SEEDS,
                    build_date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    @property
    def ladder_scores(self) -> dict[str, None]:
        """The scores the ladder judges, in the verdict's order: reconstruction's, then the judged ones scored at every step."""
        return dict.fromkeys(f.metric for f in self.ladder)

    @cached_property
    def ladder(self) -> list[LadderFinding]:
        """Whether the verdict survives longer training (``vaebench.site.ladder``); empty without snapshot scores."""
        if self.budgets.empty:
            return []
        return ladder(self.budgets, (RECONSTRUCTION, *self.judged))

    @cached_property
    def verdict(self) -> Verdict | None:
        """The study's verdict (``vaebench.site.verdict``) on the scores that fit its data; None without scores."""
        if self.frame.empty:
            return None
        settings_of = {e.name: self.setting_of(e.record) for e in self.experiments}
        order = {config: k for k, config in enumerate(self.configs)}
        in_order = sorted(self.experiments, key=lambda e: (order[_config(e.record)], e.record.latent_dim))
        matrices = {e.name: (settings_of[e.name], e.record.seed, e.metrics.matrices or {})
                    for e in in_order if e.metrics and self.protocol.on(e.name, "mig")}
        along = (self.checkpoints[["setting", "seed", "step", "metric", "value", "points"]]
                 if not self.checkpoints.empty else None)
        return verdict(self.compared, matrices, checkpoints=along,
                       excluded=self.protocol.off_lines(lambda name: settings_of[name]) + self.conditional_lines(),
                       references=self.references[["title", "latent_dim", "metric", "value"]],
                       judged=self.judged)

    @property
    def judged(self) -> tuple[str, ...]:
        """The scores the verdict judges besides reconstruction: those that fit the study's kinds of data."""
        # a cell without a card (trained before cards) is an image model's
        return verdict_scores({e.record.card.data_kind if e.record.card else DataKind.IMAGES for e in self.experiments})

    def off_settings(self) -> dict[str, list[str]]:
        """Setting -> the labels of the scores some of its cells were scored for under another protocol."""
        off: dict[str, set] = {}
        for e in self.experiments:
            for metric in self.protocol.off.get(e.name, ()):
                off.setdefault(self.setting_of(e.record), set()).update(
                    score.key for score in METRICS[metric].scores)
        return {setting: sorted(keys) for setting, keys in off.items()}

    def protocol_facts(self) -> list[dict]:
        """The study's protocol, metric by metric: its settings and how many cells share them."""
        return [{"metric": metric, "settings": ", ".join(f"{k} {v:,}" for k, v in settings if k != "seed"),
                 "shared": self.protocol.counts[metric][0], "other": self.protocol.counts[metric][1]}
                for metric, settings in sorted(self.protocol.settings.items())]

    def winner_traversals(self, found) -> list[dict]:
        """The first named setting of each headline score: its lowest seeds' most informative traversals, side by side."""
        if found is None:
            return []
        shown, out = set(), []
        named = [best.winner.settings[0] for finding in found.findings if finding.metric != RECONSTRUCTION
                 for best in finding.sizes if best.winner is not None]
        for setting in named:
            if setting in shown:
                continue
            shown.add(setting)
            seeds = []
            for e in sorted(self.experiments, key=lambda e: e.record.seed):
                if self.setting_of(e.record) != setting:
                    continue
                view = self.views.get(e.name)
                if view is not None and len(seeds) < WINNER_SEEDS:
                    seeds.append({"seed": e.record.seed, "url": cell_url(e.name),
                                  "view": view.at(cell_pictures_url(e.name), f"w{len(out)}-{len(seeds)}")})
            if seeds:
                out.append({"setting": setting, "named": found.named_first(setting), "seeds": seeds})
        return out

    def compare(self) -> None:
        compare_charts = None
        if not self.frame.empty:
            compare_charts = {"by_latent": _json_for_script(charts.metric_vs_latent(self.configs, self.metrics)),
                              "side_by_side": _json_for_script(charts.models_side_by_side(self.configs, self.metrics))}
        self.render("compare.html.j2", self.out_dir / PAGES["compare"].file, "", title="comparisons", charts=compare_charts)

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
                                "settings": settings, "written": score.key in written,
                                "published": [p for p in PUBLISHED if p.metric == score.key]})
        foreign = sorted(written - set(SCORES))
        self.render("glossary.html.j2", self.out_dir / PAGES["glossary"].file, "", title="glossary of metrics",
                    entries=entries, foreign=foreign)

    def cell_page(self, experiment: Experiment) -> None:
        """The cell's page, and beside it the folder of its pictures and the script of its data (``CELL_DATA``), which
        its charts read through the specs every cell page shares (``self.shared_specs``); all carried over from the
        earlier build where that built them from the same inputs (``_cell_inputs``)."""
        matrices = (experiment.metrics.matrices if experiment.metrics else None) or {}
        pictures_dir = experiment.path / PICTURES_DIR
        view = CellView.read(pictures_dir, self.pictures[experiment.name], matrices, cell_pictures_from_its_page(experiment.name))
        self.views[experiment.name] = view
        table = self.table_pictures(experiment)
        scatter = _table_scatter(pictures_dir, table) if table else _cell_scatter(view)
        specs = self._cell_specs(experiment, matrices, view, scatter)
        page, folder = cell_url(experiment.name), cell_pictures_url(experiment.name)
        inputs = self._cell_inputs(experiment)
        if self.earlier.carry(self.out_dir, [page, folder], inputs):
            return

        image_dir = self.out_dir / folder
        image_dir.mkdir(parents=True, exist_ok=True)
        if view is not None:
            for png in sorted(pictures_dir.glob("*.png")):
                shutil.copyfile(png, image_dir / png.name)
        data = {}
        if "curves" in specs:
            data[cell_charts.HISTORY_DATA] = cell_charts.history_rows(experiment.history)
        if "checkpoint_curves" in specs:
            data[cell_charts.CHECKPOINTS_DATA] = cell_charts.checkpoint_rows(experiment.checkpoints)
        if "factor_chart" in specs:
            data.update(cell_charts.matrix_rows(matrices, *_factor_rows(matrices, view)))
        if scatter is not None:
            data[SCATTER_DATA] = scatter["read"]()
        (image_dir / CELL_DATA).write_text(data_script(data))

        ranked = sorted(experiment.scores.items(), key=lambda kv: self._metric_rank(kv[0]))
        scores = [{"key": key, "label": charts.label(key), "value": value,
                   "direction": _DIRECTION[SCORES[key].higher_is_better] if key in SCORES else ""}
                  for key, value in ranked if not isinstance(value, str)]
        # a score that does not apply is stored as "n/a: why"
        not_applicable = [f"{charts.label(key)} ({value.removeprefix('n/a: ')})"
                          for key, value in ranked if isinstance(value, str)]
        record = experiment.record
        # the cell's identity shows even where it has none (a table's image size); another field where it is recorded
        values = [(name, getattr(record, name)) for name in CELL_PAGE_FIELDS]
        params = [(name, json.dumps(value, sort_keys=True) if isinstance(value, dict) else value) for name, value in values
                  if value is not None or name in CELL_KEYS]
        params += [(f"environment.{k}", v) for k, v in sorted((record.environment or {}).items())]
        summary = (f"{_config(record)} ({record.family} encoder and decoder), {record.latent_dim} latents, seed {record.seed}; "
                   f"trained {record.steps} steps of batch {record.batch_size} on {record.dataset} at {record.image_size} px.")
        self.render("cell.html.j2", self.out_dir / page, "../", title=display.cell_title(record),
                    cell=experiment, params=params, scores=scores, not_applicable=not_applicable, summary=summary,
                    off_protocol=[metric_label(m) for m in self.protocol.off.get(experiment.name, ())],
                    glance=_glance(view), cell_data=cell_pictures_from_its_page(experiment.name) + CELL_DATA,
                    medians_script=MEDIANS_DATA, shared_specs=SHARED_SPECS,
                    metrics_problem=f"{METRICS_FILE} is missing or corrupt: see the index's problem table.",
                    matching_rule=matching_rule(matrices), specs=specs,
                    view=view, table=_table_section(table) if table else None,
                    pictures_note=self.unreadable_pictures.get(experiment.name, PICTURES_NOT_DRAWN),
                    centre=TRAVERSAL_STEPS // 2, all_steps=list(range(TRAVERSAL_STEPS)),
                    arithmetic_factor=ARITHMETIC_FACTOR, scatter=scatter)
        self.earlier.built_from([page, *(f"{folder}{path.name}" for path in sorted(image_dir.iterdir()))], inputs)

    def _cell_specs(self, experiment: Experiment, matrices: dict, view: CellView | None, scatter: dict | None) -> dict:
        """The keys of the shared specs of a cell page's charts, by chart; each spec is registered for the assets
        whether the page is built or carried over. A chart's spec depends only on its shape, never on the rows."""
        specs = {}
        if not experiment.history.empty:
            specs["curves"] = self.shared_spec(cell_charts.training_curves())
        shape = cell_charts.checkpoint_shape(experiment.checkpoints)
        if shape is not None:
            specs["checkpoint_curves"] = self.shared_spec(cell_charts.checkpoint_curves(*shape))
        if any(key in matrices for key in MATCHING_MATRICES):
            rows, _ = _factor_rows(matrices, view)
            specs["factor_chart"] = self.shared_spec(cell_charts.factor_matrices(*cell_charts.matrix_shape(matrices, len(rows))))
        if scatter is not None:
            scatter["specs"] = {factor: self.shared_spec(spec) for factor, spec in scatter["specs"].items()}
        return specs

    def _cell_inputs(self, experiment: Experiment) -> str:
        """The digest of everything a cell's page, pictures and data script are built from: the report's code, the
        cell's own files (not its weights), the results dir's name, the way up to the site's assets, and the scores
        scored off the study's protocol."""
        files = sorted(path for path in [*experiment.path.iterdir(), *(experiment.path / PICTURES_DIR).glob("*")]
                       if path.is_file() and path.suffix != ".keras")
        return inputs_digest(_renderer(), self.name, self.site_root, sorted(self.protocol.off.get(experiment.name, ())),
                             *(part for path in files for part in (path.relative_to(experiment.path).as_posix(),
                                                                    path.read_bytes())))

    def shared_spec(self, spec: dict) -> str:
        """The name of ``spec`` among the specs the cell pages share (written once, to the assets, by ``write_shared_specs``)."""
        # the specs come from cached builders, so most are the same object again: its key is kept with it (the
        # reference keeps its id from being reused), not computed from its JSON for every cell
        known = self._spec_keys.get(id(spec))
        if known is None:
            known = self._spec_keys[id(spec)] = (spec, spec_key(spec))
        self.shared_specs.setdefault(known[1], spec)
        return known[1]

    def write_medians(self) -> None:
        """The grid's median of each score, which every cell page shows beside its own (a script, so that a changed
        cell changes this one file, not every cell page)."""
        medians = self.frame.groupby("metric")["value"].median() if not self.frame.empty else pd.Series(dtype=float)
        path = self.out_dir / MEDIANS_DATA
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data_script({"medians": {key: float(value) for key, value in medians.items()}}))

    def gallery(self) -> None:
        """Held-out input 0 in every model × latent size (its lowest seed): reconstruction, top traversals, prior samples."""
        lowest = {}
        for experiment in self.experiments:
            key = (_config(experiment.record), experiment.record.latent_dim)
            if key not in lowest or experiment.record.seed < lowest[key].record.seed:
                lowest[key] = experiment
        latent_dims = sorted({latent for _, latent in lowest})
        rows = []
        for config in (config for config in self.configs if any(key[0] == config for key in lowest)):
            blocks = []
            for latent in latent_dims:
                experiment = lowest.get((config, latent))
                view = self.views[experiment.name] if experiment else None
                table = self.table_pictures(experiment) if experiment else None
                tag = f"g{len(rows)}-{len(blocks)}"
                blocks.append({"experiment": experiment, "url": cell_url(experiment.name) if experiment else None,
                               "view": view.at(cell_pictures_url(experiment.name), tag) if view else None, "id": tag,
                               # a table's columns along its latents: which latent moves which column
                               "table": _json_for_script(table_charts.movement_heatmap(table))
                               if table and table.traversals else None})
            rows.append({"config": config, "blocks": blocks})
        self.render("gallery.html.j2", self.out_dir / PAGES["gallery"].file, "", title="gallery", rows=rows, latent_dims=latent_dims,
                    gallery_steps=list(range(0, TRAVERSAL_STEPS, 2)), traversal_rows=GALLERY_TRAVERSALS)

    def explorer(self) -> None:
        """The scatter matrix of every cell's most informative latents, switched between cells in place (data/codes.js
        lists them; a picked cell's codes come from its data script)."""
        cells = []
        for experiment in self.experiments:
            view = self.views.get(experiment.name) or TableCodes.read(experiment.path / PICTURES_DIR, self.pictures[experiment.name])
            if view is not None and view.latents_table is not None:
                cells.append((experiment.record, cell_url(experiment.name), cell_pictures_url(experiment.name) + CELL_DATA, view))
        data = codes_data(cells)
        (self.out_dir / CODES_SCRIPT).parent.mkdir(parents=True, exist_ok=True)
        (self.out_dir / CODES_SCRIPT).write_text(data_script({"codes": data}))
        specs = {factor: _json_for_script(cell_charts.scatter_matrix(LATENT_FIELDS, factor, samples=SCATTER_SAMPLES,
                                                                     **scale))
                 for factor, scale in data["factors"].items()}
        self.render("explorer.html.j2", self.out_dir / PAGES["explorer"].file, "", title="latent space explorer", specs=specs,
                    samples=SCATTER_SAMPLES, cells=len(cells), codes_script=CODES_SCRIPT)

    def table_pictures(self, experiment: Experiment) -> TablePictures | None:
        """A table cell's pictures record (vaebench.pictures.tables); None for other cells and a table cell without them."""
        pictures = self.pictures[experiment.name]
        return pictures if isinstance(pictures, TablePictures) else None

    def _metric_rank(self, key: str) -> tuple:
        known = list(charts.KNOWN_METRICS)
        return (known.index(key) if key in known else len(known), key)


#: arrows for Score.higher_is_better: which end of a score is better (None: not a quality)
_DIRECTION = {True: "↑", False: "↓", None: ""}
#: seeds of each winning setting whose traversals the index shows (the lowest): enough to see whether seeds agree,
#: and the index stays small however many seeds a setting has
WINNER_SEEDS = 5
#: traversal rows per block of the gallery (the most informative latents)
GALLERY_TRAVERSALS = 3
#: the fields of params.json's record that a cell page's parameter table lists, in its order (then the environment)
CELL_PAGE_FIELDS = ("name", "dataset", "image_size", "model", "hparams", "family", "latent_dim", "seed", "steps",
                    "batch_size", "learning_rate", "precision", "wall_seconds", "images_per_second")


@lru_cache(maxsize=1)
def _renderer() -> str:
    """The digest of the code and templates that render the report: a change to either builds every page anew."""
    package = Path(vaebench.__file__).parent
    files = sorted([*package.rglob("*.py"), *(path for path in package.joinpath("templates").iterdir() if path.is_file())])
    return inputs_digest(vaebench.__version__, *(part for path in files
                                                 for part in (path.relative_to(package).as_posix(), path.read_bytes())))


def _points(record: Params, metric: str) -> float:
    """The evaluation points of an accuracy ``metric`` at the cell's checkpoints (``Score.points``); NaN otherwise."""
    score = SCORES.get(metric)
    settings = record.checkpoint_settings
    return float(settings[score.points]) if score is not None and score.points in settings else math.nan


def _factor_rows(matrices: dict, view: CellView | None) -> tuple[list[str], dict[str, str]]:
    """The latents of the latents × factors chart in display order (the view's, most informative first), and their labels."""
    rows = next(matrices[key]["rows"] for key in MATCHING_MATRICES if key in matrices)
    if view is None:
        return rows, {z: z for z in rows}
    return [latent.z for latent in view.latents], {latent.z: f"{latent.z} · {latent.strength}" for latent in view.latents}


def _machines(records: list[Params]) -> str:
    """Where the cells trained, with how many each: "GPU (NVIDIA H200), jax: 24 cells; CPU (2 cores), tensorflow: 6 cells"."""
    where = Counter(f"{(r.environment or {}).get('device', '?')}, {(r.environment or {}).get('backend', '?')}"
                    for r in records)
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
    """The scatter matrix of a cell's codes: its fields, sample count and specs from the latents table's header and
    length alone (cheap for a page carried over); "read" reads the codes (``codes.columns``) when the page is built."""
    shape = view.codes_shape() if view is not None else None
    if shape is None:
        return None
    header, samples = shape
    names = [f for f in view.factor_names if f in header]
    fields = [c for c in header if c not in names][: len(LATENT_FIELDS)]
    labels = {latent.z: latent.label for latent in view.latents}

    def data() -> dict:
        factors, _, codes = columns(view.codes(), view.factor_names)
        return {"fields": fields, "labels": [labels[z] for z in fields], "factors": factors, "codes": codes}

    return {"fields": fields, "samples": samples, "read": data,
            "specs": {f: cell_charts.scatter_matrix(LATENT_FIELDS, f, samples=samples, **view.factor_scale(f)) for f in names}}


def _table_section(meta: TablePictures) -> dict:
    """What a table cell's page shows instead of pictures (vaebench.pictures.tables)."""
    informative = {t["latent"] for t in meta.traversals}
    return {"likelihood": meta.likelihood, "columns": meta.columns, "strength_name": meta.strength_name,
            "record": meta.traversal_record, "folded": len(meta.strength) - len(informative),
            "step_unit": traversal_unit(meta.gaussian),
            "charts": {"quality": _json_for_script(table_charts.column_quality(meta)),
                       "movement": _json_for_script(table_charts.movement_heatmap(meta)) if informative else None,
                       **{name: (_json_for_script(spec) if spec else None) for name, spec in
                          (("lines", table_charts.traversal_lines(meta)), ("areas", table_charts.traversal_areas(meta)))}}}


def _table_scatter(pictures_dir: Path, meta: TablePictures) -> dict | None:
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
    # the explorer names each latent as the cell page's scatter does: by its strength (TableCodes)
    known = TableCodes.read(pictures_dir, meta)
    labels = {latent.z: latent.label for latent in known.latents} if known is not None else {}
    data = {"fields": latents, "labels": [labels.get(z, z) for z in latents], "factors": {"names": names, "indices": values},
            "codes": [table[z].round(DECIMALS).tolist() for z in latents]}
    return {"fields": latents, "samples": len(table), "read": lambda: data,
            "specs": {name: cell_charts.scatter_matrix(LATENT_FIELDS, name, not numeric[name], len(table), indexed=False)
                      for name in names}}


def write_shared_assets(staging: Path, earlier: Earlier) -> None:
    """The assets every page of the site reads, once at the site's root (the cell pages' shared specs come after
    the studies: ``write_shared_specs``)."""
    write_assets(staging, STYLESHEET.read_text(), {name: (TEMPLATES / name).read_text() for name in PAGE_SCRIPTS}, earlier)


def write_study(grid_dir: Path, out_dir: Path, earlier: Earlier, site_root: str = "", data: str | None = None) -> Site:
    """Every page of one study (of ``data`` only, see ``Site``) into ``out_dir`` (its assets lie at ``site_root``);
    return its ``Site``, whose ``shared_specs`` the caller writes once for every study."""
    site = Site(grid_dir, out_dir, earlier, site_root, data)
    for experiment in site.experiments:
        site.cell_page(experiment)
    site.write_medians()
    site.gallery()
    site.explorer()
    site.index()  # after the cell pages: it shows the winners' traversals from their views
    site.compare()
    site.glossary()
    return site

