"""geo imports only the standard library, shapely and numpy (folium only for map export)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

GEO = Path(__file__).resolve().parents[2] / "geo"
ALLOWED = {"shapely", "numpy", "geo"}
EXPORT_ONLY = {"folium", "branca"}
EXPORT_MODULE = "situation_map.py"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_geo_imports_follow_the_architecture_table() -> None:
    """No geo module imports incidents, realtime, dashboard, app or other libraries."""
    modules = sorted(GEO.glob("*.py"))
    assert modules
    for path in modules:
        allowed = ALLOWED | (EXPORT_ONLY if path.name == EXPORT_MODULE else set())
        foreign = {
            name
            for name in _imports(path)
            if name not in sys.stdlib_module_names and name != "__future__" and name not in allowed
        }
        assert not foreign, f"{path.name} imports {sorted(foreign)}"
