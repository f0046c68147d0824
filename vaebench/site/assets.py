"""The static assets pages share: one copy of Vega, Vega-Lite and vega-embed, the stylesheet and the pages' scripts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import altair as alt

ASSET_DIR = "assets"
BUNDLE = "vega-bundle.js"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite (the version Altair targets) + vega-embed as one script, from vl-convert's sources."""
    import vl_convert

    major_minor = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    return vl_convert.javascript_bundle(vl_version=major_minor)


def write_assets(out_dir: Path, stylesheet: str, scripts: dict[str, str]) -> None:
    """The bundle, the stylesheet and the pages' own ``scripts`` (file name -> source), each once for every page."""
    folder = Path(out_dir) / ASSET_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / BUNDLE).write_text(vega_bundle())
    (folder / "style.css").write_text(stylesheet)
    for name, source in scripts.items():
        (folder / name).write_text(source)
