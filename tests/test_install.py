"""The package as installed: every data file it reads ships in the wheel (import order: tests/test_imports.py)."""

import fnmatch
import tomllib
from pathlib import Path

import vaebench
from vaebench.site.build import STYLESHEET, TEMPLATES

PACKAGE = Path(vaebench.__file__).parent
ROOT = PACKAGE.parent


def test_every_data_file_of_the_package_is_declared_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["vaebench"]
    data = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc")]
    assert any(name.startswith("templates/") for name in data) and any(name.startswith("presets/") for name in data)
    assert [name for name in data if not any(fnmatch.fnmatch(name, glob) for glob in globs)] == []


def test_the_site_reads_its_templates_from_inside_the_package():
    assert Path(TEMPLATES).is_relative_to(PACKAGE) and Path(STYLESHEET).is_file()
    assert (Path(TEMPLATES) / "index.html.j2").is_file()
