"""Generate a pack's synthetic township, village and grid polygons: `python -m geo.packgen DIR`."""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.camera_variants import cameras_for_pack
from geo.geojson_io import feature, feature_collection, write_collection
from geo.pack import (
    SYNTHETIC,
    PackError,
    _read_collection,
    _union_polygons,
    load_pack,
    pack_registry,
    read_manifest,
)
from geo.partition import (
    FloatArray,
    fit_power_weights,
    kmeans_centres,
    lattice_points,
    power_labels,
    voronoi_cells,
)
from geo.places import PlaceKind, PlaceSpec, generate_places, place_specs_for_township
from geo.projection import LocalProjection, projection_for
from geo.registry import RegistryEntry
from geo.roads import RoadNode, generate_roads, inner_point

# Snap generated vertices to the 6-decimal grid the files are written with, so what is
# validated here is exactly what the loader reads back.
GRID_SIZE_DEG = 1e-6
MAX_GRIDS_PER_VILLAGE = 99


@dataclass(frozen=True, slots=True)
class GeneratedDivision:
    """A generated polygon with the registry entry it belongs to."""

    code: str
    name: str
    tier: str
    parent_code: str
    geometry: BaseGeometry


def _short_name(name: str) -> str:
    """'凤岭社区居委会' -> '凤岭社区', '花山村委会' -> '花山村' (for grid names)."""
    for suffix in ("居委会", "委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_community(entry: RegistryEntry) -> bool:
    """Urban communities (社区居委会) as opposed to rural villages (村委会)."""
    return "社区" in entry.name


def _seat_points(value: Any) -> list[list[float]]:
    """A [lon, lat] seat or a list of them (the first is the seat, the rest extend the cell)."""
    return [value] if isinstance(value[0], int | float) else list(value)


def _snap(geom: BaseGeometry) -> BaseGeometry:
    return shapely.set_precision(geom, GRID_SIZE_DEG)


def _order_villages(
    villages: Sequence[RegistryEntry], centres: FloatArray, seat: FloatArray
) -> list[RegistryEntry]:
    """The village for each cluster centre: communities (社区) take the centres nearest the seat."""
    communities = [v for v in villages if _is_community(v)]
    rural = [v for v in villages if not _is_community(v)]
    by_distance = np.argsort(((centres - seat) ** 2).sum(axis=1), kind="stable")
    ordered: list[RegistryEntry | None] = [None] * len(villages)
    for entry, idx in zip([*communities, *rural], by_distance, strict=True):
        ordered[int(idx)] = entry
    return [e for e in ordered if e is not None]


def _grid_cells(
    village: BaseGeometry, proj: LocalProjection, cfg: dict[str, Any], rng: np.random.Generator
) -> list[BaseGeometry]:
    """A village cut into grids of about the target size, in reading order (north-west first)."""
    area_km = proj.geometry_to_km(village)
    count = int(np.clip(round(area_km.area / cfg["grid_target_km2"]), 1, MAX_GRIDS_PER_VILLAGE))
    if count == 1:
        return [village]
    spacing = cfg["lattice_m"] / 1000 / 2
    points = lattice_points(area_km, spacing)
    while len(points) < count * 4:
        spacing /= 2
        points = lattice_points(area_km, spacing)
    centres = kmeans_centres(points, count, rng)
    # Rows of one grid height, west to east inside a row: stable, human-readable numbering.
    row = np.floor(-centres[:, 1] / np.sqrt(cfg["grid_target_km2"]))
    order = np.lexsort((centres[:, 0], row))
    cells = voronoi_cells(centres[order], area_km)
    return [_snap(proj.geometry_to_deg(c)) for c in cells]


def generate(pack_dir: Path) -> dict[str, list[GeneratedDivision]]:
    """Compute the synthetic layers for a pack folder from its generator.toml."""
    manifest = read_manifest(pack_dir)
    with (pack_dir / "generator.toml").open("rb") as f:
        cfg = tomllib.load(f)
    registry = pack_registry(pack_dir, manifest, cfg.get("include_special_units", False))
    boundary_file = pack_dir / manifest["boundary"]["file"]
    boundary = _union_polygons(_read_collection(boundary_file), boundary_file)
    proj = projection_for(boundary)
    boundary_km = proj.geometry_to_km(boundary)
    points = lattice_points(boundary_km, cfg["lattice_m"] / 1000)

    towns = registry.townships
    missing = [t.code for t in towns if t.code not in cfg["seats"]]
    if missing:
        raise PackError(f"{pack_dir / 'generator.toml'}: no [seats] entry for {missing}")
    seat_lists = [_seat_points(cfg["seats"][t.code]) for t in towns]
    groups = np.array([i for i, pts in enumerate(seat_lists) for _ in pts], dtype=np.intp)
    sites_deg = np.array([p for pts in seat_lists for p in pts], dtype=float)
    sites = np.column_stack(proj.to_km(sites_deg[:, 0], sites_deg[:, 1]))
    seats = sites[[groups.tolist().index(i) for i in range(len(towns))]]
    villages_of = {t.code: [v for v in registry.villages if v.parent_code == t.code] for t in towns}
    factor = float(cfg.get("community_area_factor", 1.0))
    counts = np.array(
        [
            max(sum(factor if _is_community(v) else 1.0 for v in villages_of[t.code]), 1.0)
            for t in towns
        ]
    )
    weights = fit_power_weights(points, sites, groups, counts / counts.sum(), boundary_km.area)
    labels = power_labels(points, sites, groups, weights)

    village_sites: list[FloatArray] = []
    village_entries: list[RegistryEntry] = []
    for i, town in enumerate(towns):
        members = villages_of[town.code]
        rng = np.random.default_rng([cfg["seed"], int(town.code)])
        centres = kmeans_centres(points[labels == i], len(members), rng)
        village_entries.extend(_order_villages(members, centres, seats[i]))
        village_sites.extend(centres)
    cells_km = voronoi_cells(np.array(village_sites), boundary_km)
    villages = [
        GeneratedDivision(
            v.code, v.name, "village", str(v.parent_code), _snap(proj.geometry_to_deg(c))
        )
        for v, c in zip(village_entries, cells_km, strict=True)
    ]
    townships = [
        GeneratedDivision(
            t.code,
            t.name,
            "township",
            registry.county.code,
            _snap(
                shapely.coverage_union_all(
                    [v.geometry for v in villages if v.parent_code == t.code]
                )
            ),
        )
        for t in towns
    ]
    grids = []
    for v in sorted(villages, key=lambda d: d.code):
        rng = np.random.default_rng([cfg["seed"], int(v.code)])
        for n, cell in enumerate(_grid_cells(v.geometry, proj, cfg, rng), start=1):
            name = f"{_short_name(v.name)}第{n}网格"
            grids.append(GeneratedDivision(f"{v.code}-G{n:02d}", name, "grid", v.code, cell))
    _check_anchors(cfg, townships, pack_dir)
    return {
        "townships": townships,
        "villages": sorted(villages, key=lambda d: d.code),
        "grids": grids,
    }


def _check_anchors(cfg: dict[str, Any], townships: list[GeneratedDivision], pack_dir: Path) -> None:
    """Every anchor point falls in the township the generator file says."""
    for anchor in cfg.get("anchors", []):
        got = [
            t.code
            for t in townships
            if t.geometry.covers(shapely.Point(anchor["lon"], anchor["lat"]))
        ]
        if got != [anchor["township"]]:
            raise PackError(
                f"{pack_dir / 'generator.toml'}: anchor {anchor['name']} "
                f"({anchor['lon']},{anchor['lat']}) should be in {anchor['township']} "
                f"but falls in {got or 'no township'}; move the seats"
            )


def write_layers(pack_dir: Path, layers: dict[str, list[GeneratedDivision]]) -> None:
    """Write each generated layer to the file the manifest names for it."""
    manifest = read_manifest(pack_dir)
    for layer, divisions in layers.items():
        target = pack_dir / manifest["layers"][layer]
        target.parent.mkdir(parents=True, exist_ok=True)
        write_collection(
            target,
            feature_collection(
                feature(
                    d.geometry,
                    {
                        "code": d.code,
                        "name": d.name,
                        "tier": d.tier,
                        "parent_code": d.parent_code,
                        "geom_source": SYNTHETIC,
                    },
                )
                for d in divisions
            ),
        )


def generate_extras(pack_dir: Path) -> dict[str, Any]:
    """Roads, key places and cameras for a pack whose division layers are written."""
    with (pack_dir / "generator.toml").open("rb") as f:
        cfg = tomllib.load(f)
    pack = load_pack(pack_dir, with_extras=False)
    proj = projection_for(pack.boundary)
    seats: dict[str, tuple[float, float]] = {}
    for town in pack.townships:
        lon, lat = _seat_points(cfg["seats"][town.code])[0]
        if not town.geometry.contains(shapely.Point(lon, lat)):
            inner = inner_point(town.geometry)
            lon, lat = inner.x, inner.y
        seats[town.code] = (lon, lat)
    nodes = [RoadNode(t.code, t.name, *seats[t.code], t.code, True) for t in pack.townships]
    for v in pack.villages:
        inner = inner_point(v.geometry)
        nodes.append(RoadNode(v.code, v.name, inner.x, inner.y, str(v.parent_code), False))
    roads = generate_roads(nodes, pack.boundary, proj)

    specs = []
    for t in pack.townships:
        specs += place_specs_for_township(
            t.code, t.name, seats[t.code], t.geometry, t.name.endswith("街道")
        )
    for extra in cfg.get("places", []):
        host = next(
            (
                t
                for t in pack.townships
                if t.geometry.covers(shapely.Point(extra["lon"], extra["lat"]))
            ),
            None,
        )
        if host is None:
            raise PackError(
                f"{pack_dir / 'generator.toml'}: place {extra['name']} is outside the county"
            )
        spread = float(extra.get("spread_km", 0.5))
        specs.append(
            PlaceSpec(
                extra["name"],
                PlaceKind(extra["kind"]),
                host.code,
                extra["lon"],
                extra["lat"],
                host.geometry,
                spread,
            )
        )
    places = generate_places(specs, proj, np.random.default_rng([cfg["seed"], 1]))

    staged = replace(pack, roads=roads, places=places)
    cameras = cameras_for_pack(staged, int(cfg.get("cameras", 5000)), int(cfg["seed"]))
    return {"roads": roads, "places": places, "cameras": cameras}


def write_extras(pack_dir: Path, extras: dict[str, Any]) -> None:
    """Write the roads, places and cameras layers where the manifest says."""
    manifest = read_manifest(pack_dir)
    staged = replace(
        load_pack(pack_dir, with_extras=False),
        roads=extras["roads"],
        places=extras["places"],
        cameras=extras["cameras"],
    )
    for layer in ("roads", "places", "cameras"):
        write_collection(pack_dir / manifest["layers"][layer], staged.layer_geojson(layer))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: regenerate, write and re-load the pack to prove it validates."""
    parser = argparse.ArgumentParser(prog="python -m geo.packgen", description=__doc__)
    parser.add_argument("pack_dir", type=Path, help="pack folder, e.g. assets/county/320118")
    args = parser.parse_args(argv)
    try:
        layers = generate(args.pack_dir)
        write_layers(args.pack_dir, layers)
        write_extras(args.pack_dir, generate_extras(args.pack_dir))
        pack = load_pack(args.pack_dir)
    except PackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    proj = projection_for(pack.boundary)
    for t in pack.townships:
        n_v = sum(v.parent_code == t.code for v in pack.villages)
        area = proj.geometry_to_km(t.geometry).area
        print(f"{t.code} {t.name}: {n_v} villages, {area:.1f} km²")
    print(
        f"{len(pack.townships)} townships, {len(pack.villages)} villages, {len(pack.grids)} grids, "
        f"{len(pack.roads)} road sections, {len(pack.places)} key places, "
        f"{len(pack.cameras)} cameras"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
