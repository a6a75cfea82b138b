"""Adapt the geography's point lookup to the jurisdiction a case records."""

from __future__ import annotations

from collections.abc import Sequence

from geo.locate import Locator, Placement
from geo.pack import CountyPack
from incidents.case import Jurisdiction
from incidents.reports import Located
from incidents.views import PlaceNames


class CountyLocate:
    """Places WGS-84 points in one county's jurisdiction tree, one at a time or in batches."""

    def __init__(self, pack: CountyPack) -> None:
        self._locator = Locator.from_pack(pack)
        self._county = pack.code
        # A placement is one of a few thousand shared objects: build each answer once.
        self._answers: dict[int, tuple[Placement, Located]] = {}

    def __call__(self, lon: float, lat: float) -> Located:
        """Where one point lies."""
        return self._answer(self._locator.locate(lon, lat))

    def many(self, lons: Sequence[float], lats: Sequence[float]) -> list[Located]:
        """Where many points lie, in order (one vectorised lookup)."""
        return [self._answer(p) for p in self._locator.locate_many(lons, lats)]

    def _answer(self, place: Placement) -> Located:
        cached = self._answers.get(id(place))
        if cached is not None and cached[0] is place:
            return cached[1]
        located = Located(
            Jurisdiction(
                county_code=self._county,
                township_code=place.township_code,
                village_code=place.village_code,
                grid_code=place.grid_code,
                inside_county=place.inside,
            ),
            PlaceNames(place.township_name, place.village_name),
        )
        if len(self._answers) < 100_000:  # outside points make new placements; bound the cache
            self._answers[id(place)] = (place, located)
        return located


def locate_in(pack: CountyPack) -> CountyLocate:
    """A callable placing a WGS-84 point in the pack's jurisdiction tree."""
    return CountyLocate(pack)
