"""County packs: a folder of data files describing one county, loaded and validated."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geo.cameras import Camera, CameraPlacement
from geo.geojson_io import feature, feature_collection
from geo.places import KeyPlace, PlaceKind
from geo.registry import Registry, county_code12, is_special_unit, read_registry
from geo.roads import Road, RoadClass

TIERS = ("county", "township", "village", "grid")
LAYERS = ("boundary", "townships", "villages", "grids")
EXTRA_LAYERS = ("roads", "places", "cameras")
# Roads may run a little outside a digitised boundary (about 300 m) before re-entering.
ROAD_BOUNDARY_SLACK_DEG = 0.003
SYNTHETIC = "synthetic"
# Share of a child's area that must lie inside its parent; the rest is tolerated as
# digitising noise along shared borders of real (non-synthetic) polygons.
MIN_SHARE_IN_PARENT = 0.99

_TOWNSHIP_CODE = re.compile(r"^\d{9}000$")
_VILLAGE_CODE = re.compile(r"^\d{12}$")
_GRID_CODE = re.compile(r"^(\d{12})-G(\d{2})$")


class PackError(ValueError):
    """A county pack is missing, malformed or inconsistent; the message says where."""


@dataclass(frozen=True)
class Division:
    """One node of the jurisdiction tree with its polygon (WGS-84 lon/lat)."""

    code: str
    name: str
    tier: str
    parent_code: str | None
    geometry: BaseGeometry
    synthetic: bool


@dataclass(frozen=True)
class CountyPack:
    """A loaded county: boundary and divisions down to grids."""

    code: str
    name: str
    boundary: BaseGeometry
    townships: tuple[Division, ...]
    villages: tuple[Division, ...]
    grids: tuple[Division, ...]
    county: Division
    path: Path
    geom_sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    roads: tuple[Road, ...] = ()
    places: tuple[KeyPlace, ...] = ()
    cameras: tuple[Camera, ...] = ()

    def divisions(self) -> Iterator[Division]:
        """Every division, parents before children: county, townships, villages, grids."""
        yield self.county
        yield from self.townships
        yield from self.villages
        yield from self.grids

    def layer_divisions(self, layer: str) -> tuple[Division, ...]:
        """The divisions of one layer name ("boundary" is the county itself)."""
        by_layer = {
            "boundary": (self.county,),
            "townships": self.townships,
            "villages": self.villages,
            "grids": self.grids,
        }
        if layer not in by_layer:
            raise KeyError(f"unknown layer {layer!r}; known: {', '.join(by_layer)}")
        return by_layer[layer]

    def layer_geojson(self, layer: str) -> dict[str, Any]:
        """An RFC 7946 FeatureCollection of one layer, coordinates rounded to 6 decimals.

        Layers: boundary, townships, villages, grids, roads, places, cameras.
        """
        if layer == "roads":
            return feature_collection(
                feature(
                    r.geometry,
                    {
                        "code": r.code,
                        "name": r.name,
                        "tier": "road",
                        "road_class": r.road_class.value,
                        "geom_source": SYNTHETIC if r.synthetic else "unknown",
                    },
                )
                for r in self.roads
            )
        if layer == "places":
            return feature_collection(
                feature(
                    shapely.Point(p.lon, p.lat),
                    {
                        "code": p.code,
                        "name": p.name,
                        "tier": "place",
                        "kind": p.kind.value,
                        "township_code": p.township_code,
                        "geom_source": SYNTHETIC if p.synthetic else "unknown",
                    },
                )
                for p in self.places
            )
        if layer == "cameras":
            return feature_collection(camera_feature(c) for c in self.cameras)
        return feature_collection(
            feature(
                d.geometry,
                {
                    "code": d.code,
                    "name": d.name,
                    "tier": d.tier,
                    "parent_code": d.parent_code,
                    "geom_source": self.geom_sources.get(d.code, SYNTHETIC),
                },
            )
            for d in self.layer_divisions(layer)
        )


def camera_feature(c: Camera) -> dict[str, Any]:
    """One camera as a GeoJSON Point feature."""
    return feature(
        shapely.Point(c.lon, c.lat),
        {
            "code": c.code,
            "name": c.name,
            "tier": "camera",
            "placement": c.placement.value,
            "heading_deg": c.heading_deg,
            "fov_deg": c.fov_deg,
            "range_m": c.range_m,
            "township_code": c.township_code,
            "geom_source": SYNTHETIC if c.synthetic else "unknown",
        },
    )


def demo_pack_path() -> Path:
    """The demo county pack (Gaochun, 320118) shipped in the repository."""
    return Path(__file__).resolve().parent.parent / "assets" / "county" / "320118"


@functools.cache
def load_demo_pack() -> CountyPack:
    """The demo pack, loaded once per process."""
    return load_pack(demo_pack_path())


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed pack.toml of a pack folder."""
    manifest_path = path / "pack.toml"
    try:
        with manifest_path.open("rb") as f:
            manifest = tomllib.load(f)
    except FileNotFoundError:
        raise PackError(f"{manifest_path}: no pack manifest (pack.toml) in this folder") from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{manifest_path}: not valid TOML: {exc}") from None
    for key in ("code", "name"):
        if not isinstance(manifest.get(key), str):
            raise PackError(f"{manifest_path}: missing string key {key!r}")
    for table, keys in (("boundary", ("file",)), ("layers", LAYERS[1:])):
        for key in keys:
            if not isinstance(manifest.get(table, {}).get(key), str):
                raise PackError(f"{manifest_path}: missing string key [{table}].{key}")
    return manifest


def pack_registry(path: Path, manifest: Mapping[str, Any], include_special: bool) -> Registry:
    """The NBS registry named in the manifest's [divisions] table."""
    files = manifest.get("divisions", {})
    try:
        return read_registry(
            path / files["areas"],
            path / files["townships"],
            path / files["villages"],
            include_special_units=include_special,
        )
    except (KeyError, OSError, ValueError) as exc:
        raise PackError(f"{path / 'pack.toml'}: [divisions] registry unreadable: {exc}") from None


def load_pack(path: Path, *, with_extras: bool = True) -> CountyPack:
    """Load a pack folder and check it; raises PackError saying what is wrong and where.

    with_extras=False skips roads, places and cameras (the generator uses it mid-way).
    """
    path = Path(path)
    manifest = read_manifest(path)
    code6 = manifest["code"]
    if not re.fullmatch(r"\d{6}", code6):
        raise PackError(f"{path / 'pack.toml'}: code {code6!r} is not a 6-digit county code")
    county_code = county_code12(code6)

    boundary_file = path / manifest["boundary"]["file"]
    boundary = _union_polygons(_read_collection(boundary_file), boundary_file)
    county = Division(county_code, manifest["name"], "county", None, boundary, synthetic=False)
    sources = {county_code: str(manifest["boundary"].get("geom_source", "unknown"))}

    layers = manifest["layers"]
    townships = _read_divisions(path / layers["townships"], "township", sources)
    villages = _read_divisions(path / layers["villages"], "village", sources)
    grids = _read_divisions(path / layers["grids"], "grid", sources)

    _check_codes(
        county, townships, villages, grids, path / layers["villages"], path / layers["grids"]
    )
    if "divisions" in manifest:
        special = any(is_special_unit(t.code) for t in townships)
        _check_registry(pack_registry(path, manifest, special), townships, villages, path)
    _check_nesting((county,), townships, path / layers["townships"])
    _check_nesting(townships, villages, path / layers["villages"])
    _check_nesting(villages, grids, path / layers["grids"])
    extras: dict[str, Any] = {}
    if with_extras:
        town_codes = {t.code for t in townships}
        for layer in EXTRA_LAYERS:
            if layer in layers:
                reader = {"roads": _read_roads, "places": _read_places, "cameras": _read_cameras}
                extras[layer] = reader[layer](path / layers[layer], boundary, town_codes)
    return CountyPack(
        code=code6,
        name=manifest["name"],
        boundary=boundary,
        townships=townships,
        villages=villages,
        grids=grids,
        county=county,
        path=path,
        geom_sources=sources,
        **extras,
    )


def _read_collection(path: Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON file (a bare geometry or Feature counts as one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PackError(f"{path}: expected a GeoJSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise PackError(f"{path}: FeatureCollection without a 'features' list")
        return features
    if kind == "Feature":
        return [data]
    if kind in ("Polygon", "MultiPolygon"):
        return [{"type": "Feature", "properties": {}, "geometry": data}]
    raise PackError(f"{path}: unsupported GeoJSON type {kind!r}")


def _polygon(geometry: Any, where: str) -> BaseGeometry:
    """A valid, non-empty WGS-84 (Multi)Polygon from a GeoJSON geometry object."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise PackError(f"{where}: geometry must be a Polygon or MultiPolygon, got {kind}")
    try:
        geom = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise PackError(f"{where}: malformed coordinates: {exc}") from None
    minx, miny, maxx, maxy = geom.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        raise PackError(
            f"{where}: coordinates out of WGS-84 range (lon -180..180, lat -90..90): "
            f"bounds {minx:.6f},{miny:.6f},{maxx:.6f},{maxy:.6f}; are lon and lat swapped?"
        )
    if not geom.is_valid:
        raise PackError(f"{where}: invalid polygon: {shapely.is_valid_reason(geom)}")
    if geom.is_empty or geom.area <= 0:
        raise PackError(f"{where}: polygon is empty or has zero area")
    return geom


def _union_polygons(features: list[dict[str, Any]], path: Path) -> BaseGeometry:
    parts = [_polygon(f.get("geometry"), f"{path}: feature {i}") for i, f in enumerate(features)]
    if not parts:
        raise PackError(f"{path}: no boundary polygon")
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _read_divisions(path: Path, tier: str, sources: dict[str, str]) -> tuple[Division, ...]:
    """The divisions of one layer file, sorted by code, with their geom_source recorded."""
    divisions = []
    seen: set[str] = set()
    for i, feat in enumerate(_read_collection(path)):
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(props, dict):
            raise PackError(f"{path}: feature {i}: no properties object")
        code = str(props.get("code"))
        where = f"{path}: feature {i} (code {code})"
        for key in ("code", "name", "geom_source"):
            if not isinstance(props.get(key), str) or not props[key]:
                raise PackError(f"{where}: property {key!r} missing or not a non-empty string")
        if props.get("tier", tier) != tier:
            raise PackError(f"{where}: tier {props.get('tier')!r} in a {tier} layer")
        parent = props.get("parent_code")
        if not isinstance(parent, str):
            raise PackError(f"{where}: property 'parent_code' missing or not a string")
        if code in seen:
            raise PackError(f"{where}: duplicate code {code}")
        seen.add(code)
        geom = _polygon(feat.get("geometry"), where)
        sources[code] = props["geom_source"]
        divisions.append(
            Division(code, props["name"], tier, parent, geom, props["geom_source"] == SYNTHETIC)
        )
    if not divisions:
        raise PackError(f"{path}: no {tier} features")
    return tuple(sorted(divisions, key=lambda d: d.code))


def _check_codes(
    county: Division,
    townships: tuple[Division, ...],
    villages: tuple[Division, ...],
    grids: tuple[Division, ...],
    village_path: Path,
    grid_path: Path,
) -> None:
    """Codes follow the NBS scheme and each names an existing parent consistent with it."""
    for t in townships:
        if not _TOWNSHIP_CODE.match(t.code) or t.code[:6] != county.code[:6]:
            raise PackError(
                f"township {t.code} ({t.name}): code must be 12 digits, start with the county "
                f"code {county.code[:6]} and end in 000"
            )
        if t.parent_code != county.code:
            raise PackError(
                f"township {t.code} ({t.name}): parent_code {t.parent_code} is not the county "
                f"{county.code}"
            )
    township_codes = {t.code for t in townships}
    for v in villages:
        where = f"{village_path}: village {v.code} ({v.name})"
        if not _VILLAGE_CODE.match(v.code) or v.code.endswith("000"):
            raise PackError(f"{where}: code must be 12 digits not ending in 000")
        if v.parent_code not in township_codes:
            raise PackError(f"{where}: parent_code {v.parent_code} is not a township in the pack")
        if v.code[:9] != v.parent_code[:9]:
            raise PackError(
                f"{where}: code does not start with its township's prefix {v.parent_code[:9]}"
            )
    village_codes = {v.code for v in villages}
    with_grids = set()
    for g in grids:
        where = f"{grid_path}: grid {g.code} ({g.name})"
        match = _GRID_CODE.match(g.code)
        if not match:
            raise PackError(f"{where}: code must be '<12-digit village code>-Gnn'")
        if g.parent_code not in village_codes:
            raise PackError(f"{where}: parent_code {g.parent_code} is not a village in the pack")
        if match.group(1) != g.parent_code:
            raise PackError(f"{where}: code does not start with its parent_code {g.parent_code}")
        with_grids.add(g.parent_code)
    missing = sorted(village_codes - with_grids)
    if missing:
        raise PackError(f"{grid_path}: villages without any grid: {', '.join(missing[:5])}")


def _check_registry(
    registry: Registry, townships: tuple[Division, ...], villages: tuple[Division, ...], path: Path
) -> None:
    """Layer codes and names match the official registry, and no registered village is missing."""
    official = {e.code: e for e in (*registry.townships, *registry.villages)}
    for d in (*townships, *villages):
        entry = official.get(d.code)
        if entry is None:
            raise PackError(f"{path}: {d.tier} {d.code} ({d.name}) is not in the NBS registry")
        if entry.name != d.name:
            raise PackError(
                f"{path}: {d.tier} {d.code} is named {d.name!r} "
                f"but the registry says {entry.name!r}"
            )
    present = {v.code for v in villages}
    absent = [e for e in registry.villages if e.code not in present]
    if absent:
        names = ", ".join(f"{e.code} {e.name}" for e in absent[:5])
        raise PackError(f"{path}: registered villages without a polygon: {names}")


def _check_nesting(
    parents: tuple[Division, ...], children: tuple[Division, ...], path: Path
) -> None:
    """Each child lies in its parent and its inner point lies in no other parent."""
    by_code = {p.code: p for p in parents}
    tree = shapely.STRtree([p.geometry for p in parents])
    for child in children:
        parent = by_code.get(child.parent_code or "")
        if parent is None:
            raise PackError(
                f"{path}: {child.tier} {child.code}: parent {child.parent_code} missing"
            )
        inner = child.geometry.representative_point()
        hits = sorted(parents[i].code for i in tree.query(inner, predicate="intersects"))
        if hits != [parent.code]:
            raise PackError(
                f"{path}: {child.tier} {child.code} ({child.name}) must lie in exactly one "
                f"{parent.tier}, its parent {parent.code}; its inner point "
                f"{inner.x:.6f},{inner.y:.6f} is in: {', '.join(hits) or 'none'}"
            )
        inside = shapely.intersection(child.geometry, parent.geometry).area / child.geometry.area
        if inside < MIN_SHARE_IN_PARENT:
            raise PackError(
                f"{path}: {child.tier} {child.code} ({child.name}): only {inside:.1%} of its area "
                f"lies in its parent {parent.code} ({parent.name})"
            )


def _check_unique(path: Path, codes: list[str]) -> None:
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise PackError(f"{path}: feature {i}: duplicate code {code}")
        seen.add(code)


def _feature_props(path: Path, i: int, feat: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    props = feat.get("properties") if isinstance(feat, dict) else None
    if not isinstance(props, dict):
        raise PackError(f"{path}: feature {i}: no properties object")
    for key in keys:
        if key not in props:
            raise PackError(f"{path}: feature {i} (code {props.get('code')}): no property {key!r}")
    return props


def _point_lonlat(
    path: Path, i: int, feat: dict[str, Any], county: BaseGeometry
) -> tuple[float, float]:
    geometry = feat.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise PackError(f"{path}: feature {i}: geometry must be a Point")
    lon, lat = (float(v) for v in geometry["coordinates"][:2])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise PackError(f"{path}: feature {i}: point {lon},{lat} out of WGS-84 range")
    if not shapely.intersects_xy(county, lon, lat):
        raise PackError(f"{path}: feature {i}: point {lon},{lat} lies outside the county")
    return lon, lat


def _read_roads(path: Path, county: BaseGeometry, _: set[str]) -> tuple[Road, ...]:
    """Road LineStrings with a known class, inside the county (with a little slack)."""
    allowed = county.buffer(ROAD_BOUNDARY_SLACK_DEG)
    roads = []
    for i, feat in enumerate(_read_collection(path)):
        props = _feature_props(path, i, feat, ("code", "name", "road_class", "geom_source"))
        try:
            road_class = RoadClass(props["road_class"])
        except ValueError:
            known = ", ".join(c.value for c in RoadClass)
            raise PackError(
                f"{path}: feature {i} (code {props['code']}): road_class "
                f"{props['road_class']!r} is not one of {known}"
            ) from None
        geometry = feat["geometry"]
        if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
            raise PackError(f"{path}: feature {i} (code {props['code']}): must be a LineString")
        line = shapely.geometry.shape(geometry)
        if line.length <= 0 or not allowed.covers(line):
            raise PackError(
                f"{path}: feature {i} (code {props['code']}): road is empty or leaves the county"
            )
        roads.append(
            Road(props["code"], props["name"], road_class, line, props["geom_source"] == SYNTHETIC)
        )
    _check_unique(path, [r.code for r in roads])
    return tuple(roads)


def _read_places(path: Path, county: BaseGeometry, towns: set[str]) -> tuple[KeyPlace, ...]:
    """Key places: points in the county with a known kind and township."""
    places = []
    keys = ("code", "name", "kind", "township_code", "geom_source")
    for i, feat in enumerate(_read_collection(path)):
        props = _feature_props(path, i, feat, keys)
        lon, lat = _point_lonlat(path, i, feat, county)
        if props["township_code"] not in towns:
            raise PackError(
                f"{path}: feature {i} (code {props['code']}): township_code "
                f"{props['township_code']} is not a township in the pack"
            )
        try:
            kind = PlaceKind(props["kind"])
        except ValueError:
            raise PackError(
                f"{path}: feature {i} (code {props['code']}): unknown kind {props['kind']!r}"
            ) from None
        places.append(
            KeyPlace(
                props["code"],
                props["name"],
                kind,
                lon,
                lat,
                props["township_code"],
                props["geom_source"] == SYNTHETIC,
            )
        )
    _check_unique(path, [p.code for p in places])
    return tuple(places)


def _read_cameras(path: Path, county: BaseGeometry, towns: set[str]) -> tuple[Camera, ...]:
    """Cameras: 20-digit codes, points in the county, sane heading / field of view / range."""
    cameras = []
    keys = ("code", "name", "placement", "heading_deg", "fov_deg", "range_m", "township_code")
    shapely.prepare(county)
    for i, feat in enumerate(_read_collection(path)):
        props = _feature_props(path, i, feat, keys)
        where = f"{path}: feature {i} (code {props['code']})"
        if not re.fullmatch(r"\d{20}", str(props["code"])):
            raise PackError(f"{where}: camera code must be a 20-digit GB/T 28181 device id")
        lon, lat = _point_lonlat(path, i, feat, county)
        heading, fov, reach = (float(props[k]) for k in ("heading_deg", "fov_deg", "range_m"))
        if not (0 <= heading < 360 and 0 < fov <= 360 and reach > 0):
            raise PackError(
                f"{where}: needs 0 <= heading_deg < 360, 0 < fov_deg <= 360, range_m > 0; "
                f"got {heading}, {fov}, {reach}"
            )
        if props["township_code"] not in towns:
            raise PackError(f"{where}: township_code {props['township_code']} not in the pack")
        cameras.append(
            Camera(
                props["code"],
                props["name"],
                CameraPlacement(props["placement"]),
                lon,
                lat,
                heading,
                fov,
                reach,
                props["township_code"],
                props.get("geom_source") == SYNTHETIC,
            )
        )
    _check_unique(path, [c.code for c in cameras])
    return tuple(cameras)
