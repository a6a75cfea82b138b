"""Adapt the geography's point lookup to the jurisdiction path a case records."""

from __future__ import annotations

from geo.locate import Locator
from geo.pack import CountyPack
from incidents.reports import JurisdictionPath
from realtime.ingest import Locate


def locate_in(pack: CountyPack) -> Locate:
    """A function placing a WGS-84 point in the pack's jurisdiction tree."""
    locator = Locator.from_pack(pack)
    county = pack.code

    def locate(lon: float, lat: float) -> JurisdictionPath:
        place = locator.locate(lon, lat)
        return JurisdictionPath(
            county_code=county,
            inside_county=place.inside,
            township_code=place.township_code,
            township_name=place.township_name,
            village_code=place.village_code,
            village_name=place.village_name,
            grid_code=place.grid_code,
        )

    return locate
