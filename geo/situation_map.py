"""Situation maps (态势图) exported as ONE self-contained HTML file that needs no network.

folium's defaults pull Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; this module
drops all of them, draws with Leaflet alone (circle markers, GeoJSON, a plain-HTML
legend) and inlines the vendored Leaflet JS and CSS, its images as data: URIs.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import folium
import shapely
from branca.element import Figure

from geo.cameras import Camera
from geo.pack import CountyPack, camera_feature

VENDOR_LEAFLET = Path(__file__).resolve().parent.parent / "assets" / "vendor" / "leaflet"
# On a whole-county map, cameras are drawn only if there are at most this many (a
# 20,000-camera county would make the file heavy); a case map shows those near the case.
MAX_CAMERAS_DRAWN = 6000
CASE_MAP_CAMERA_RADIUS_DEG = 0.01

CAMERA_STATUS_COLOURS = {
    "online": "#2e7d32",
    "offline": "#9e9e9e",
    "fault": "#f9a825",
    "alarm": "#c62828",
}
UNIT_COLOUR = "#1565c0"
CASE_COLOURS = {1: "#b71c1c", 2: "#e53935", 3: "#fb8c00", 4: "#fdd835"}
SEVERITY_ZH = {1: "Ⅰ级（特别重大）", 2: "Ⅱ级（重大）", 3: "Ⅲ级（较大）", 4: "Ⅳ级（一般）"}


@dataclass(frozen=True, slots=True)
class MapCase:
    """A case to draw: where, a label (untrusted text, escaped here) and severity 1-4."""

    case_id: str
    label: str
    lon: float
    lat: float
    severity: int = 4


@dataclass(frozen=True, slots=True)
class MapUnit:
    """A unit to draw: where, a label and its status in words."""

    unit_id: str
    label: str
    lon: float
    lat: float
    status: str = ""


class OfflineMap(folium.Map):
    """A folium Map that references no outside script or stylesheet."""

    def __init__(self, **kwargs: Any) -> None:
        """A folium Map with the CDN script and stylesheet lists emptied."""
        super().__init__(**kwargs)
        self.default_js = []
        self.default_css = []


def _text(value: str) -> str:
    """Escape untrusted text for HTML that folium places inside a JS template literal."""
    return html.escape(value).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


@cache
def _leaflet_inline() -> str:
    """Leaflet's CSS and JS as <style>/<script>, its images turned into data: URIs."""
    css = (VENDOR_LEAFLET / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        png = (VENDOR_LEAFLET / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    js = (VENDOR_LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    # A literal "</script>" inside the library would end the inline block early.
    js = js.replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{js}</script>"


def _legend(title: str, at: datetime | None, counts: Mapping[str, int]) -> str:
    rows = [
        ("#b71c1c", "事件（颜色按等级）", counts["cases"]),
        ("#6a1b9a", "重点场所", counts["places"]),
        (UNIT_COLOUR, "处置力量", counts["units"]),
        (CAMERA_STATUS_COLOURS["online"], "监控点位（在线）", counts["online"]),
        (
            CAMERA_STATUS_COLOURS["offline"],
            "监控点位（离线/故障/报警另色）",
            counts["other_cameras"],
        ),
    ]
    items = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
        f'background:{colour};margin-right:6px"></span>{_text(label)} {n}</div>'
        for colour, label, n in rows
    )
    when = f"<div>时间：{_text(at.isoformat(timespec='minutes'))}</div>" if at else ""
    return (
        '<div id="situation-legend" style="position:fixed;bottom:56px;left:10px;z-index:1000;'
        "background:rgba(255,255,255,.92);padding:8px 10px;border:1px solid #999;"
        f'font:13px sans-serif;line-height:1.6"><b>{_text(title)}</b>{when}{items}'
        '<div style="color:#666">乡镇、村、网格边界为示意（synthetic）</div></div>'
    )


def situation_map_html(
    pack: CountyPack,
    *,
    cases: Sequence[MapCase] = (),
    units: Sequence[MapUnit] = (),
    cameras: Sequence[Camera] | None = None,
    camera_status: Mapping[str, str] | None = None,
    focus: tuple[float, float] | None = None,
    title: str | None = None,
    at: datetime | None = None,
) -> str:
    """The situation map of a county (or of a case when `focus` is given) as one HTML page.

    camera_status maps camera code -> online|offline|fault|alarm (missing: online).
    """
    status = camera_status or {}
    all_cameras = pack.cameras if cameras is None else cameras
    if focus is not None:
        fx, fy = focus
        shown = [
            c
            for c in all_cameras
            if abs(c.lon - fx) <= CASE_MAP_CAMERA_RADIUS_DEG
            and abs(c.lat - fy) <= CASE_MAP_CAMERA_RADIUS_DEG
        ]
    else:
        shown = list(all_cameras) if len(all_cameras) <= MAX_CAMERAS_DRAWN else []
    minx, miny, maxx, maxy = pack.boundary.bounds
    fmap = OfflineMap(
        location=[focus[1], focus[0]] if focus else [(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15 if focus else 11,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    root = fmap.get_root()
    if not isinstance(root, Figure):
        raise TypeError("folium map without a Figure root")
    root.header.add_child(folium.Element(_leaflet_inline()))

    folium.GeoJson(
        pack.layer_geojson("boundary"),
        name="区界",
        style_function=lambda _: {"color": "#000", "weight": 3, "fill": False},
    ).add_to(fmap)
    folium.GeoJson(
        pack.layer_geojson("townships"),
        name="乡镇（街道）",
        style_function=lambda _: {"color": "#444", "weight": 1.5, "fillOpacity": 0.03},
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["乡镇"]),
    ).add_to(fmap)
    if focus is not None:
        folium.GeoJson(
            pack.layer_geojson("grids"),
            name="网格",
            style_function=lambda _: {"color": "#888", "weight": 0.5, "fill": False},
        ).add_to(fmap)

    folium.GeoJson(
        pack.layer_geojson("roads"),
        name="道路",
        style_function=lambda f: {
            "color": "#e65100" if f["properties"]["road_class"] == "arterial" else "#8d6e63",
            "weight": 2.5 if f["properties"]["road_class"] == "arterial" else 1,
        },
    ).add_to(fmap)
    place_layer = folium.FeatureGroup(name="重点场所").add_to(fmap)
    for place in pack.places:
        if focus is None or (
            abs(place.lon - focus[0]) <= CASE_MAP_CAMERA_RADIUS_DEG * 3
            and abs(place.lat - focus[1]) <= CASE_MAP_CAMERA_RADIUS_DEG * 3
        ):
            folium.CircleMarker(
                [place.lat, place.lon],
                radius=5,
                color="#6a1b9a",
                fill=True,
                fill_opacity=0.7,
                tooltip=_text(place.name),
            ).add_to(place_layer)
    if shown:
        # One GeoJSON layer keeps thousands of cameras compact (one marker call each would
        # add ~600 bytes of script per camera).
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "name": _text(c.name),
                            "status": status.get(c.code, "online"),
                        },
                        "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                    }
                    for c in shown
                ],
            },
            name="监控点位",
            marker=folium.CircleMarker(radius=2, weight=1, fill=True, fill_opacity=0.8),
            style_function=lambda f: {
                "color": CAMERA_STATUS_COLOURS.get(f["properties"]["status"], "#000")
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "status"], aliases=["监控", "状态"]),
        ).add_to(fmap)
    unit_layer = folium.FeatureGroup(name="处置力量").add_to(fmap)
    for unit in units:
        folium.CircleMarker(
            [unit.lat, unit.lon],
            radius=7,
            color=UNIT_COLOUR,
            fill=True,
            fill_opacity=0.9,
            tooltip=_text(f"{unit.label} {unit.status}".strip()),
        ).add_to(unit_layer)
    case_layer = folium.FeatureGroup(name="事件").add_to(fmap)
    for case in cases:
        severity = case.severity if case.severity in CASE_COLOURS else 4
        folium.CircleMarker(
            [case.lat, case.lon],
            radius=9,
            color="#000",
            weight=1,
            fill=True,
            fill_color=CASE_COLOURS[severity],
            fill_opacity=0.95,
            # A tooltip, not a popup: folium's popups need jQuery, which is not inlined.
            tooltip=f"{_text(case.case_id)} {SEVERITY_ZH[severity]}<br>{_text(case.label)}",
        ).add_to(case_layer)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if focus is None:
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])

    counts = {
        "cases": len(cases),
        "places": len(pack.places),
        "units": len(units),
        "online": sum(status.get(c.code, "online") == "online" for c in shown),
        "other_cameras": sum(status.get(c.code, "online") != "online" for c in shown),
    }
    heading = title or (f"{pack.name}案件态势图" if focus else f"{pack.name}全域态势图")
    root.html.add_child(folium.Element(_legend(heading, at, counts)))
    page = root.render()
    # Anything that would make the browser fetch: script src, stylesheet links, CSS url().
    outside = re.findall(
        r"""<script[^>]*\ssrc=["']?[^"'\s>]+|<link[^>]*\shref=["']?https?:[^"'\s>]+|"""
        r"""url\(["']?(?:https?:)?//[^)]+\)""",
        page,
    )
    if outside:
        raise RuntimeError(f"situation map would load outside resources: {outside[:3]}")
    return page


def write_situation_map(path: Path, pack: CountyPack, **kwargs: Any) -> Path:
    """Write situation_map_html(pack, **kwargs) to a file and return its path."""
    path.write_text(situation_map_html(pack, **kwargs), encoding="utf-8")
    return path


def cameras_geojson(cameras: Sequence[Camera]) -> dict[str, Any]:
    """Any camera set (e.g. the 20,000 variant) as an RFC 7946 FeatureCollection."""
    return {"type": "FeatureCollection", "features": [camera_feature(c) for c in cameras]}


def point_in_county(pack: CountyPack, lon: float, lat: float) -> bool:
    """Whether a point lies in (or on) the county boundary."""
    return bool(shapely.intersects_xy(pack.boundary, lon, lat))
