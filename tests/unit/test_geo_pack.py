"""County pack loading, layers and validation messages."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geo.pack import CountyPack, PackError, demo_pack_path, load_demo_pack, load_pack
from geo.tinypack import write_tiny_pack


def _edit_layer(path: Path, name: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
    file = path / f"{name}.geojson"
    data = json.loads(file.read_text(encoding="utf-8"))
    change(data["features"])
    file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _props(features: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["code"] == code)["properties"]


def _geom(features: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["code"] == code)["geometry"]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write_tiny_pack(tmp_path / "pack")


def test_demo_pack_has_the_real_townships_and_villages() -> None:
    """The demo pack holds the 8 real townships and 116 villages with NBS codes."""
    pack = load_demo_pack()
    assert (pack.code, pack.name) == ("320118", "高淳区")
    assert [t.name for t in pack.townships] == [
        "淳溪街道", "古柏街道", "漆桥街道", "固城街道", "东坝街道", "桠溪街道", "阳江镇", "砖墙镇",
    ]  # fmt: skip
    assert len(pack.villages) == 116
    assert all(re.fullmatch(r"\d{12}", v.code) for v in pack.villages)
    counts = {t.name: sum(v.parent_code == t.code for v in pack.villages) for t in pack.townships}
    assert counts["淳溪街道"] == 29 and counts["漆桥街道"] == 7


def test_demo_pack_drops_farm_and_prison_units() -> None:
    """Units 400-403 (farms, forest farm, prison) are not in the demo pack."""
    codes = {d.code for d in load_demo_pack().divisions()}
    assert not any(
        c.startswith(("320118400", "320118401", "320118402", "320118403")) for c in codes
    )


def test_demo_grids_are_about_half_a_kilometre() -> None:
    """Grids are coded <village>-Gnn and average roughly 0.25 km²."""
    pack = load_demo_pack()
    assert all(re.fullmatch(rf"{g.parent_code}-G\d\d", g.code) for g in pack.grids)
    mean_km2 = pack.boundary.area * 111.0 * 111.0 * 0.854 / len(pack.grids)
    assert 0.15 < mean_km2 < 0.4


def test_divisions_lists_parents_before_children() -> None:
    """divisions() yields the county first and every parent before its children."""
    seen: set[str] = set()
    divisions = list(load_demo_pack().divisions())
    assert divisions[0].tier == "county" and divisions[0].parent_code is None
    for d in divisions:
        assert d.parent_code is None or d.parent_code in seen
        seen.add(d.code)


def test_generated_geometry_is_labelled_synthetic() -> None:
    """Generated divisions are synthetic; the real boundary is not."""
    pack = load_demo_pack()
    assert not pack.county.synthetic
    assert all(d.synthetic for d in (*pack.townships, *pack.villages, *pack.grids))
    props = pack.layer_geojson("townships")["features"][0]["properties"]
    assert props["geom_source"] == "synthetic"
    boundary = pack.layer_geojson("boundary")["features"][0]["properties"]
    assert boundary["geom_source"] != "synthetic" and boundary["tier"] == "county"


@pytest.mark.parametrize("layer", ["boundary", "townships", "villages", "grids"])
def test_layer_geojson_is_rfc7946_with_six_decimals(layer: str) -> None:
    """Each layer exports as a FeatureCollection with rounded lon/lat coordinates."""
    collection = load_demo_pack().layer_geojson(layer)
    assert collection["type"] == "FeatureCollection"
    feature = collection["features"][-1]
    assert set(feature["properties"]) >= {"code", "name", "tier", "geom_source"}
    ring = feature["geometry"]["coordinates"][0]
    if feature["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    assert all(len(repr(c).split(".")[1]) <= 6 for point in ring for c in point)
    assert 118 < ring[0][0] < 120 and 31 < ring[0][1] < 32


def test_unknown_layer_is_a_key_error() -> None:
    """Asking for a layer that does not exist names the known ones."""
    with pytest.raises(KeyError, match="known: boundary"):
        load_demo_pack().layer_geojson("rivers")


def test_demo_pack_loads_within_a_second() -> None:
    """Loading (and validating) the demo pack from disk takes under a second."""
    started = time.perf_counter()
    pack = load_pack(demo_pack_path())
    assert time.perf_counter() - started < 1.0
    assert isinstance(pack, CountyPack)


def test_tiny_pack_loads(tiny: Path) -> None:
    """The hand-made tiny pack is valid."""
    pack = load_pack(tiny)
    assert [len(pack.townships), len(pack.villages), len(pack.grids)] == [2, 4, 6]


def test_missing_manifest(tmp_path: Path) -> None:
    """A folder without pack.toml says so."""
    with pytest.raises(PackError, match=r"pack\.toml.*no pack manifest"):
        load_pack(tmp_path)


def test_missing_layer_file(tiny: Path) -> None:
    """A layer file the manifest names but that is absent is reported by path."""
    (tiny / "villages.geojson").unlink()
    with pytest.raises(PackError, match=r"villages\.geojson: file not found"):
        load_pack(tiny)


def test_invalid_polygon_is_reported_with_code_and_reason(tiny: Path) -> None:
    """A self-intersecting polygon names its file, code and the GEOS reason."""
    bowtie = [[[118.9, 31.3], [118.95, 31.35], [118.95, 31.3], [118.9, 31.35], [118.9, 31.3]]]

    def change(features: list[dict[str, Any]]) -> None:
        _geom(features, "320118001001")["coordinates"] = bowtie

    _edit_layer(tiny, "villages", change)
    with pytest.raises(PackError, match=r"villages\.geojson.*code 320118001001.*Self-intersection"):
        load_pack(tiny)


def test_swapped_coordinates_are_out_of_range(tiny: Path) -> None:
    """Lat/lon swapped puts latitude above 90 and says so."""

    def change(features: list[dict[str, Any]]) -> None:
        geom = _geom(features, "320118002000")
        geom["coordinates"] = [[[y, x] for x, y in ring] for ring in geom["coordinates"]]

    _edit_layer(tiny, "townships", change)
    with pytest.raises(PackError, match=r"320118002000.*out of WGS-84 range.*swapped"):
        load_pack(tiny)


def test_village_code_must_match_its_township(tiny: Path) -> None:
    """A village whose code prefix differs from its parent's is rejected."""

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118002201")["parent_code"] = "320118001000"

    _edit_layer(tiny, "villages", change)
    with pytest.raises(PackError, match=r"village 320118002201.*prefix 320118001"):
        load_pack(tiny)


def test_village_parent_must_exist(tiny: Path) -> None:
    """A village pointing at an unknown township is rejected."""

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118002201")["parent_code"] = "320118009000"

    _edit_layer(tiny, "villages", change)
    with pytest.raises(PackError, match=r"parent_code 320118009000 is not a township"):
        load_pack(tiny)


def test_village_lying_in_another_township_is_rejected(tiny: Path) -> None:
    """A village drawn inside the wrong township is reported with both codes."""

    def change(features: list[dict[str, Any]]) -> None:
        west = _geom(features, "320118001201")
        _geom(features, "320118002202")["coordinates"] = west["coordinates"]

    _edit_layer(tiny, "villages", change)
    with pytest.raises(
        PackError, match=r"village 320118002202.*exactly one township.*is in: 320118001000"
    ):
        load_pack(tiny)


def test_village_half_outside_its_township_is_rejected(tiny: Path) -> None:
    """A village straddling two townships reports the share inside its parent."""

    def change(features: list[dict[str, Any]]) -> None:
        _geom(features, "320118001201")["coordinates"] = [
            [[118.9, 31.35], [118.98, 31.35], [118.98, 31.4], [118.9, 31.4], [118.9, 31.35]]
        ]

    _edit_layer(tiny, "villages", change)
    with pytest.raises(PackError, match=r"320118001201.*only 62\.5% of its area"):
        load_pack(tiny)


def test_duplicate_codes_are_rejected(tiny: Path) -> None:
    """Two features with one code are reported."""

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118001201-G01")["code"] = "320118001001-G01"

    _edit_layer(tiny, "grids", change)
    with pytest.raises(PackError, match=r"duplicate code 320118001001-G01"):
        load_pack(tiny)


def test_grid_code_format_is_checked(tiny: Path) -> None:
    """Grid codes must be <village>-Gnn."""

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118002202-G01")["code"] = "320118002202-7"

    _edit_layer(tiny, "grids", change)
    with pytest.raises(PackError, match=r"grid 320118002202-7.*'<12-digit village code>-Gnn'"):
        load_pack(tiny)


def test_township_code_must_belong_to_the_county(tiny: Path) -> None:
    """A township code from another county is rejected."""

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118002000")["code"] = "320117002000"

    _edit_layer(tiny, "townships", change)
    with pytest.raises(PackError, match=r"township 320117002000.*county code 320118"):
        load_pack(tiny)


def test_missing_property_is_named(tiny: Path) -> None:
    """A feature without a name says which property is missing."""

    def change(features: list[dict[str, Any]]) -> None:
        del _props(features, "320118001000")["name"]

    _edit_layer(tiny, "townships", change)
    with pytest.raises(PackError, match=r"feature 0 \(code 320118001000\): property 'name'"):
        load_pack(tiny)


def test_village_without_grids_is_rejected(tiny: Path) -> None:
    """Every village must be covered by at least one grid."""

    def change(features: list[dict[str, Any]]) -> None:
        features[:] = [f for f in features if f["properties"]["parent_code"] != "320118002202"]

    _edit_layer(tiny, "grids", change)
    with pytest.raises(PackError, match=r"villages without any grid: 320118002202"):
        load_pack(tiny)


def test_registry_name_mismatch_is_reported(tmp_path: Path) -> None:
    """A layer name that differs from the NBS registry is reported with both names."""
    pack = tmp_path / "320118"
    pack.mkdir()
    demo = demo_pack_path()
    for rel in ("pack.toml", "source/boundary/gaochun_320118_amap_wgs84.geojson"):
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack / rel).write_bytes((demo / rel).read_bytes())
    for rel in ("source/divisions", "layers"):
        (pack / rel).mkdir(parents=True, exist_ok=True)
        for file in (demo / rel).iterdir():
            (pack / rel / file.name).write_bytes(file.read_bytes())

    def change(features: list[dict[str, Any]]) -> None:
        _props(features, "320118001000")["name"] = "淳西街道"

    _edit_layer(pack / "layers", "townships", change)
    with pytest.raises(PackError, match=r"named '淳西街道' but the registry says '淳溪街道'"):
        load_pack(pack)
