"""Hot spots per grid and per hexagon, with change against the previous window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from geo.hotspots import CasePoint, HexGrid, HotSpot, grid_hotspots, hex_hotspots
from geo.locate import Locator
from geo.pack import load_demo_pack
from geo.projection import projection_for

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OLD_STREET = (118.8747, 31.3246)
YANGJIANG = (118.7602, 31.3401)


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator.from_pack(load_demo_pack())


def _cases(point: tuple[float, float], n: int, days_ago: float) -> list[CasePoint]:
    return [CasePoint(*point, END - timedelta(days=days_ago, minutes=k)) for k in range(n)]


def test_grid_counts_and_change(locator: Locator) -> None:
    """Counts per grid in the window, against the window before, busiest first."""
    cases = (
        _cases(OLD_STREET, 5, 0.5)
        + _cases(OLD_STREET, 2, 1.5)
        + _cases(YANGJIANG, 1, 0.2)
        + _cases(YANGJIANG, 4, 1.2)
        + _cases(OLD_STREET, 9, 5)  # older than both windows
        + [CasePoint(118.7969, 32.0603, END - timedelta(hours=1))]  # outside the county
    )
    spots = grid_hotspots(locator, cases, END, DAY)
    old_grid = locator.locate(*OLD_STREET).grid_code
    yj_grid = locator.locate(*YANGJIANG).grid_code
    assert spots == [HotSpot(str(old_grid), 5, 2), HotSpot(str(yj_grid), 1, 4)]
    assert spots[0].change == 3 and spots[0].change_ratio == pytest.approx(1.5)
    assert spots[1].change == -3


def test_window_edges(locator: Locator) -> None:
    """A case exactly at window_end is excluded; exactly at the start is included."""
    cases = [CasePoint(*OLD_STREET, END), CasePoint(*OLD_STREET, END - DAY)]
    (spot,) = grid_hotspots(locator, cases, END, DAY)
    assert (spot.count, spot.previous) == (1, 0)
    assert spot.change_ratio is None


def test_new_cells_and_vanished_cells_both_listed(locator: Locator) -> None:
    """A cell with cases only in the previous window is listed with count 0."""
    spots = grid_hotspots(locator, _cases(YANGJIANG, 3, 1.5), END, DAY)
    assert [(s.count, s.previous) for s in spots] == [(0, 3)]


def test_hexagon_keys_contain_their_points() -> None:
    """Every point lies in (or on) the hexagon of its key."""
    pack = load_demo_pack()
    hexes = HexGrid(projection_for(pack.boundary), 500.0)
    rng = np.random.default_rng(7)
    lons = rng.uniform(118.75, 119.15, 500)
    lats = rng.uniform(31.25, 31.45, 500)
    for key, x, y in zip(hexes.keys(lons, lats), lons, lats, strict=True):
        assert hexes.polygon(key).buffer(1e-9).contains(shapely.Point(x, y))


def test_hexagon_area_matches_size() -> None:
    """A 500 m hexagon covers 3√3/2 x 0.5² ≈ 0.65 km²."""
    proj = projection_for(load_demo_pack().boundary)
    hexagon = HexGrid(proj, 500.0).polygon("3,-2")
    area_km2 = proj.geometry_to_km(hexagon).area
    assert area_km2 == pytest.approx(3 * 3**0.5 / 2 * 0.25, rel=1e-6)


def test_hex_hotspots_count_per_cell() -> None:
    """Hexagon hot spots count the same cases as grids do, keyed by hexagon."""
    proj = projection_for(load_demo_pack().boundary)
    hexes = HexGrid(proj, 500.0)
    spots = hex_hotspots(hexes, _cases(OLD_STREET, 4, 0.1) + _cases(OLD_STREET, 1, 1.1), END, DAY)
    (key,) = hexes.keys(np.array([OLD_STREET[0]]), np.array([OLD_STREET[1]]))
    assert spots == [HotSpot(key, 4, 1)]


def test_window_must_be_positive(locator: Locator) -> None:
    """A zero window is an error."""
    with pytest.raises(ValueError, match="positive"):
        grid_hotspots(locator, [], END, timedelta(0))
