"""Adapt the geography's point lookup to the jurisdiction a case records."""

from __future__ import annotations

from geo.locate import Locator
from geo.pack import CountyPack
from incidents.case import Jurisdiction
from incidents.reports import Located
from incidents.views import PlaceNames
from realtime.ingest import Locate


def locate_in(pack: CountyPack) -> Locate:
    """A function placing a WGS-84 point in the pack's jurisdiction tree."""
    locator = Locator.from_pack(pack)
    county = pack.code

    def locate(lon: float, lat: float) -> Located:
        place = locator.locate(lon, lat)
        jurisdiction = Jurisdiction(
            county_code=county,
            township_code=place.township_code,
            village_code=place.village_code,
            grid_code=place.grid_code,
            inside_county=place.inside,
        )
        return Located(jurisdiction, PlaceNames(place.township_name, place.village_name))

    return locate
