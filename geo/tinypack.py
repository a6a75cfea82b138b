"""A tiny hand-made county pack (2 townships, 4 villages, 6 grids) for tests anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shapely

from geo.geojson_io import feature, feature_collection, write_collection

# A 0.1° square split down the middle into two townships, each split across into two villages.
WEST, SOUTH, EAST, NORTH, MID_X, MID_Y = 118.9, 31.3, 119.0, 31.4, 118.95, 31.35
COUNTY = "320118000000"
TOWNSHIPS = {
    "320118001000": ("甲街道", (WEST, SOUTH, MID_X, NORTH)),
    "320118002000": ("乙镇", (MID_X, SOUTH, EAST, NORTH)),
}
VILLAGES = {
    "320118001001": ("甲一社区居委会", "320118001000", (WEST, SOUTH, MID_X, MID_Y)),
    "320118001201": ("甲二村村委会", "320118001000", (WEST, MID_Y, MID_X, NORTH)),
    "320118002201": ("乙一村村委会", "320118002000", (MID_X, SOUTH, EAST, MID_Y)),
    "320118002202": ("乙二村村委会", "320118002000", (MID_X, MID_Y, EAST, NORTH)),
}


def tiny_grids() -> dict[str, tuple[str, str, tuple[float, float, float, float]]]:
    """Grid code -> (name, village code, bbox); the south-west village has three grids."""
    grids = {}
    for code, (name, _, (x0, y0, x1, y1)) in VILLAGES.items():
        if code == "320118001001":
            cuts = [x0, 118.92, 118.935, x1]
            for n in range(3):
                box = (cuts[n], y0, cuts[n + 1], y1)
                grids[f"{code}-G{n + 1:02d}"] = (f"{name}第{n + 1}网格", code, box)
        else:
            grids[f"{code}-G01"] = (f"{name}第1网格", code, (x0, y0, x1, y1))
    return grids


def _layer(rows: Mapping[str, tuple[str, str, tuple[float, ...]]], tier: str) -> dict[str, Any]:
    return feature_collection(
        feature(
            shapely.box(*box),
            {
                "code": code,
                "name": name,
                "tier": tier,
                "parent_code": parent,
                "geom_source": "synthetic",
            },
        )
        for code, (name, parent, box) in rows.items()
    )


def write_tiny_pack(path: Path) -> Path:
    """Write the tiny pack into a folder (created) and return it."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "pack.toml").write_text(
        'code = "320118"\nname = "测试县"\n\n[boundary]\nfile = "boundary.geojson"\n'
        'geom_source = "synthetic"\n\n[layers]\ntownships = "townships.geojson"\n'
        'villages = "villages.geojson"\ngrids = "grids.geojson"\n',
        encoding="utf-8",
    )
    write_collection(
        path / "boundary.geojson",
        feature_collection([feature(shapely.box(WEST, SOUTH, EAST, NORTH), {"code": COUNTY})]),
    )
    towns = {code: (name, COUNTY, box) for code, (name, box) in TOWNSHIPS.items()}
    write_collection(path / "townships.geojson", _layer(towns, "township"))
    write_collection(path / "villages.geojson", _layer(VILLAGES, "village"))
    write_collection(path / "grids.geojson", _layer(tiny_grids(), "grid"))
    return path
