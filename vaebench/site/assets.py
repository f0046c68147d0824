"""The static assets pages share: one copy of Vega, Vega-Lite and vega-embed, the stylesheet, the pages' scripts and
the cell pages' chart specs; and the scripts that carry a page's data."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import altair as alt

from vaebench.site.publish import Earlier, inputs_digest

ASSET_DIR = "assets"
BUNDLE = "vega-bundle.js"
#: the chart specs every cell page shares, by name (``spec_key``); each page supplies its own rows
SHARED_SPECS = "cell_specs.js"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite (the version Altair targets) + vega-embed as one script, from vl-convert's sources."""
    import vl_convert

    major_minor = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    return vl_convert.javascript_bundle(vl_version=major_minor)


def write_assets(out_dir: Path, stylesheet: str, scripts: dict[str, str], earlier: Earlier) -> None:
    """The bundle, the stylesheet and the pages' own ``scripts`` (file name -> source), each once for every page.

    The bundle takes seconds to assemble: it is carried over from the earlier build of the same Vega-Lite version.
    """
    import vl_convert

    folder = Path(out_dir) / ASSET_DIR
    folder.mkdir(parents=True, exist_ok=True)
    bundle, inputs = f"{ASSET_DIR}/{BUNDLE}", inputs_digest(vl_convert.__version__, alt.SCHEMA_VERSION)
    if not earlier.carry(Path(out_dir), [bundle], inputs):
        (folder / BUNDLE).write_text(vega_bundle())
        earlier.built_from([bundle], inputs)
    (folder / "style.css").write_text(stylesheet)
    for name, source in scripts.items():
        (folder / name).write_text(source)


def data_script(tables: dict) -> str:
    """``tables`` (name -> JSON-able value) as a script that adds each to ``window.VAEBENCH_DATA``: pages read their data
    from scripts, which browsers load from file:// (a fetched JSON file would not be)."""
    return "window.VAEBENCH_DATA = window.VAEBENCH_DATA || {};\n" + "".join(
        f"window.VAEBENCH_DATA.{name} = {_json(value)};\n" for name, value in tables.items())


def spec_key(spec: dict) -> str:
    """The name of a spec shared between pages: a digest of its JSON, so that equal specs are stored once."""
    return hashlib.sha256(_json(spec).encode()).hexdigest()[:12]


def write_shared_specs(out_dir: Path, specs: dict[str, dict]) -> None:
    """The specs the cell pages share (``spec_key`` -> spec), in one script: ``window.VAEBENCH_SPECS``."""
    entries = ",\n".join(f"{json.dumps(key)}: {_json(specs[key])}" for key in sorted(specs))
    (Path(out_dir) / ASSET_DIR / SHARED_SPECS).write_text(f"window.VAEBENCH_SPECS = {{\n{entries}\n}};\n")


def _json(value) -> str:
    # "<" escaped so that no value can end the <script> element a page may inline it in
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
