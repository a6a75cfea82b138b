"""周边 in the case panel: the nearest units and the cameras that see the case's place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from dashboard.i18n import text
from dashboard.panels import dispatch
from dashboard.presenters import around as show
from dashboard.services import Services
from geo.cameras import Camera
from geo.coverage import CameraIndex
from geo.pack import load_demo_pack
from geo.recommend import recommend
from incidents.camera_defence import cameras_seeing
from incidents.store import guarded
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller
from incidents.units import recommendation_inputs
from incidents.views import CaseView


async def section(
    conn: Conn, services: Services, caller: Caller, view: CaseView, lang: str, now: datetime
) -> list[Any]:
    """The heading and both lists, from what the caller's jurisdiction holds."""
    index: CameraIndex | None = None  # over the caller's cameras, built once they are read

    def seeing(cameras: list[Camera]) -> list[str]:
        # Only the cameras whose sector holds the case need their status read.
        nonlocal index
        index = CameraIndex.from_pack(load_demo_pack(), cameras)
        return [hit.camera.code for hit in index.seeing(view.lon, view.lat)]

    around = await guarded.around_case(conn, caller, view.id, now, seeing)
    positions = await services.positions_of()
    units = show.nearest_units(view.lon, view.lat, around.units, positions, lang)
    near_ids = {u.unit_id for u in units}
    inputs = [p for p in recommendation_inputs(around.units, positions) if p.unit_id in near_ids]
    # Road times for these few units only: every unit, busy or not, whatever it can do.
    ranked = recommend(
        await dispatch.router(),
        view.lon,
        view.lat,
        inputs,
        now,
        k=len(inputs),
        include_unavailable=True,
    )
    units = show.with_etas(units, {r.unit_id: r.eta_s for r in ranked}, lang)
    sights = [] if index is None else cameras_seeing(index, view.lon, view.lat, around.statuses)
    cameras = show.seeing_cameras(sights, lang)
    return render(units, cameras, lang)


def render(units: list[show.NearUnit], cameras: list[show.SeeingCamera], lang: str) -> list[Any]:
    """The 周边 section: names, codes and statuses always as text."""
    unit_items = [
        html.Li(
            [
                html.Span(u.name, className="name"),
                html.Span(u.type_words, className="type"),
                html.Span(u.status_words, className="status"),
                html.Span(show.distance_words(u.distance_m, lang), className="distance"),
                html.Span(u.eta_words, className="eta") if u.eta_words else None,
            ],
            className="near-unit" + (" busy" if u.busy else ""),
        )
        for u in units
    ] or [html.Li(text(lang, "around_no_units"), className="none")]
    camera_items = [
        html.Li(
            [
                html.Span(c.code, className="code"),
                html.Span(c.name, className="name"),
                html.Span(c.status_words, className="status"),
                html.Span(show.distance_words(c.distance_m, lang), className="distance"),
            ],
            className="near-camera" + (" down" if c.down else ""),
        )
        for c in cameras
    ] or [html.Li(text(lang, "around_no_cameras"), className="none")]
    return [
        html.H3(text(lang, "around_title")),
        html.Div(
            [
                html.H4(text(lang, "around_units")),
                html.Ul(unit_items, className="around-units"),
                html.H4(text(lang, "around_cameras")),
                html.Ul(camera_items, className="around-cameras"),
            ],
            className="around",
        ),
    ]
