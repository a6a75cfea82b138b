"""Point -> township / village / grid lookup."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.locate import Locator, Placement
from geo.pack import CountyPack, load_demo_pack, load_pack
from geo.tinypack import MID_X, MID_Y, write_tiny_pack

# The locations of the shared sample intake reports (intake-valid.jsonl), last one outside.
SAMPLE_REPORT_POINTS = [
    (118.8747, 31.3246), (118.8751, 31.3243), (118.8921, 31.3365), (118.7602, 31.3401),
    (119.0523, 31.3912), (119.1014, 31.3921), (118.9803, 31.301), (118.9142, 31.2788),
    (118.9551, 31.3527), (118.8436, 31.2967), (118.887, 31.329), (118.7969, 32.0603),
]  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> tuple[CountyPack, Locator]:
    pack = load_demo_pack()
    return pack, Locator.from_pack(pack)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Locator:
    return Locator.from_pack(load_pack(write_tiny_pack(tmp_path_factory.mktemp("tiny"))))


def test_old_street_is_in_chunxi(demo: tuple[CountyPack, Locator]) -> None:
    """高淳老街 (118.8747, 31.3246) lies in 淳溪街道 with a village and grid."""
    place = demo[1].locate(118.8747, 31.3246)
    assert place.inside and place.township_name == "淳溪街道"
    assert place.village_code is not None and place.village_code.startswith("320118001")
    assert place.grid_code is not None and place.grid_code.startswith(place.village_code + "-G")


@pytest.mark.parametrize(
    ("lon", "lat", "township"),
    [
        (118.8921, 31.3365, "淳溪街道"),
        (118.7602, 31.3401, "阳江镇"),
        (119.1014, 31.3921, "桠溪街道"),
        (118.8436, 31.2967, "砖墙镇"),
    ],
)
def test_sample_addresses_land_in_their_townships(
    demo: tuple[CountyPack, Locator], lon: float, lat: float, township: str
) -> None:
    """Report locations whose address names a township fall in that township."""
    assert demo[1].locate(lon, lat).township_name == township


def test_point_outside_county_is_flagged_with_nearest_township(
    demo: tuple[CountyPack, Locator],
) -> None:
    """Nanjing city centre is outside; its nearest township is the northernmost, 漆桥."""
    place = demo[1].locate(118.7969, 32.0603)
    assert not place.inside
    assert place.township_name == "漆桥街道"
    assert (place.village_code, place.village_name, place.grid_code) == (None, None, None)


def test_point_just_outside_gets_the_adjacent_township(demo: tuple[CountyPack, Locator]) -> None:
    """A point 1 km west of the western tip is nearest to 阳江镇."""
    pack, locator = demo
    minx = pack.boundary.bounds[0]
    tip = min(pack.boundary.exterior.coords, key=lambda c: c[0])
    place = locator.locate(minx - 0.01, tip[1])
    assert not place.inside and place.township_name == "阳江镇"


def test_shared_border_goes_to_lowest_code(tiny: Locator) -> None:
    """A point on the township border belongs to the lowest-code grid touching it."""
    on_border = tiny.locate(MID_X, 31.375)
    assert on_border.grid_code == "320118001201-G01"
    assert on_border.township_code == "320118001000"


def test_four_way_corner_goes_to_lowest_code(tiny: Locator) -> None:
    """The centre point, shared by four villages, goes to the lowest grid code."""
    assert tiny.locate(MID_X, MID_Y).grid_code == "320118001001-G03"


def test_grid_border_inside_a_village(tiny: Locator) -> None:
    """The border between G01 and G02 of one village resolves to G01, each time."""
    answers = {tiny.locate(118.92, 31.32).grid_code for _ in range(3)}
    assert answers == {"320118001001-G01"}


def test_county_boundary_counts_as_inside(tiny: Locator) -> None:
    """A point exactly on the county boundary is inside."""
    assert tiny.locate(118.9, 31.33).inside


def test_outside_tiny_county_picks_nearest_side(tiny: Locator) -> None:
    """East of the square is nearest the eastern township, west the western."""
    assert tiny.locate(119.05, 31.33).township_code == "320118002000"
    assert tiny.locate(118.80, 31.33).township_code == "320118001000"


def test_non_finite_coordinates_are_rejected(tiny: Locator) -> None:
    """NaN and infinity are errors, not silent placements."""
    with pytest.raises(ValueError, match="finite"):
        tiny.locate(math.nan, 31.3)
    with pytest.raises(ValueError, match="finite"):
        tiny.locate_many([118.9, math.inf], [31.3, 31.3])


def test_locate_many_matches_locate(demo: tuple[CountyPack, Locator]) -> None:
    """The batch answers equal the single answers, in order."""
    pack, locator = demo
    minx, miny, maxx, maxy = pack.boundary.bounds
    lons = [minx + (maxx - minx) * i / 97 for i in range(98)] * 3
    lats = [miny + (maxy - miny) * ((i * 37) % 101) / 100 for i in range(len(lons))]
    assert locator.locate_many(lons, lats) == [
        locator.locate(x, y) for x, y in zip(lons, lats, strict=True)
    ]


def test_placement_is_immutable() -> None:
    """Placements are frozen values."""
    place = Placement(False, "320118001000", "淳溪街道", None, None, None)
    with pytest.raises(AttributeError):
        place.inside = True  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(118.66, 119.26, allow_nan=False),
    lat=st.floats(31.19, 31.52, allow_nan=False),
)
def test_lookup_agrees_with_brute_force(
    demo: tuple[CountyPack, Locator], lon: float, lat: float
) -> None:
    """The index gives the same grid as testing every grid polygon (lowest code wins)."""
    pack, locator = demo
    point = shapely.Point(lon, lat)
    hits = sorted(g.code for g in pack.grids if g.geometry.intersects(point))
    place = locator.locate(lon, lat)
    assert place.grid_code == (hits[0] if hits else None)
    assert place.inside == bool(hits)


def test_every_valid_sample_report_is_placed(demo: tuple[CountyPack, Locator]) -> None:
    """All sample intake locations get a placement; exactly one is outside the county."""
    places = [demo[1].locate(lon, lat) for lon, lat in SAMPLE_REPORT_POINTS]
    assert sum(not p.inside for p in places) == 1
    assert not demo[1].locate(*SAMPLE_REPORT_POINTS[-1]).inside
