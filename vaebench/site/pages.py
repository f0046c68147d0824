"""Where everything the report links to lies: the site's own pages, in navigation order, and each cell's page.

Every page and link is built from these, so a page or the cells' folder is renamed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    file: str
    #: its link in every page's navigation bar
    nav: str


#: the site's own pages (beside one per cell), in the order of the navigation bar
PAGES: dict[str, Page] = {
    "index": Page("index.html", "Overview"),
    "compare": Page("compare.html", "Comparisons"),
    "gallery": Page("gallery.html", "Gallery"),
    "explorer": Page("explorer.html", "Explorer"),
    "glossary": Page("glossary.html", "Glossary"),
}
INDEX = PAGES["index"]
#: the folder of the cell pages and of the pictures they show
CELLS_DIR = "cells"


def _slug(name: str) -> str:
    """A cell's name as one file name (``dsprites32__vae__conv__z4__s0``)."""
    return name.replace("/", "__")


def cell_url(name: str) -> str:
    """The cell's page, relative to the site's root."""
    return f"{CELLS_DIR}/{_slug(name)}.html"


def cell_pictures_url(name: str) -> str:
    """The folder of the site's copy of the cell's pictures, relative to the site's root."""
    return f"{CELLS_DIR}/{_slug(name)}/"


def cell_pictures_from_its_page(name: str) -> str:
    """The same folder relative to the cell's own page, which lies beside it in ``CELLS_DIR``."""
    return cell_pictures_url(name).removeprefix(f"{CELLS_DIR}/")


#: the script of a cell's data (its charts' rows, its codes), in the folder of its pictures
CELL_DATA = "cell.js"
