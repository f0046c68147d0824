"""The package as installed: every data file it reads ships in the wheel, and its modules import in any order."""

import ast
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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_at_load(path: Path, modules: set[str]) -> set[str]:
    """The vaebench modules a module imports at its top level (imports inside functions run later)."""
    imported = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            imported |= submodules or {node.module}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names} & modules
    return imported


def test_no_import_cycle_between_modules():
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: _imported_at_load(path, set(paths)) - {name} for name, path in paths.items()}
    finished, on_path = set(), []

    def visit(name):
        if name in on_path:
            raise AssertionError("import cycle: " + " -> ".join(on_path[on_path.index(name):] + [name]))
        if name not in finished:
            on_path.append(name)
            for imported in sorted(graph[name]):
                visit(imported)
            on_path.pop()
            finished.add(name)

    for name in sorted(graph):
        visit(name)
