"""The command-centre web app: one page, the live map beside the live queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dash_ag_grid as dag
import dash_leaflet as dl
from dash import Dash, dcc, html
from fastapi import FastAPI

from dashboard import ids
from dashboard.http_guard import CSRF_COOKIE
from dashboard.i18n import browser_words, county_title, pick_lang, role_name, text
from dashboard.panels import intake_form, register_panels
from dashboard.panels.cameras import CAMERAS_PATH, UNITS_PATH, add_camera_routes
from dashboard.presenters.camera_layer import CAMERA_STATUSES
from dashboard.presenters.map_view import view_bounds
from dashboard.presenters.queue import ROW_ID, grid_options, queue_columns
from dashboard.services import Services
from dashboard.sign_in import callback_request
from incidents.access import Action, Principal, Role, decide

WEB_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "web"


@dataclass(frozen=True, slots=True)
class MapLayers:
    """Static GeoJSON layers of the county pack (RFC 7946 FeatureCollections)."""

    boundary: dict[str, Any]
    townships: dict[str, Any]
    center: tuple[float, float]  # lat, lon
    bounds: tuple[tuple[float, float], tuple[float, float]]  # (south, west), (north, east)


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """What the page needs to know about the deployment."""

    county_name: str
    scope: str
    ws_port: int
    tile_url: str | None = None
    # The live protocol's message types and field names (`browser_description()` of
    # realtime.live_protocol, handed in by the composition root): the browser code reads them.
    protocol: Mapping[str, Any] = field(default_factory=dict)
    # Where the browser fetches villages, grids and key places (layer → same-origin path).
    map_layers: Mapping[str, str] = field(default_factory=dict)


def _label_townships(layer: dict[str, Any]) -> dict[str, Any]:
    """Township names as hover labels (dash-leaflet binds `properties.tooltip`)."""
    features = []
    for feature in layer.get("features", []):
        props = dict(feature.get("properties") or {})
        props["tooltip"] = props.get("name", "")
        features.append({**feature, "properties": props})
    return {**layer, "features": features}


def _map(layers: MapLayers, config: DashboardConfig, jurisdiction: str | None) -> dl.Map:
    children: list[Any] = []
    if config.tile_url:
        children.append(dl.TileLayer(url=config.tile_url))
    children += [
        dl.GeoJSON(
            id=ids.TOWNSHIP_LAYER,
            data=_label_townships(layers.townships),
            style={"color": "#5b7fa6", "weight": 1, "fillColor": "#16324f", "fillOpacity": 0.35},
        ),
        dl.GeoJSON(
            id=ids.BOUNDARY_LAYER,
            data=layers.boundary,
            style={"color": "#7fd4ff", "weight": 3, "fill": False},
            interactive=False,
        ),
    ]
    # Fitted to the viewer's township (or the county) at whatever size the screen is (a fixed
    # zoom left the county a small island on a 4K wall), in fractional zoom steps so it fills
    # the map. Only the first view: after that the view stays where the user puts it.
    fit = view_bounds(layers.townships, layers.bounds, jurisdiction)
    return dl.Map(
        id=ids.LIVE_MAP,
        bounds=[list(corner) for corner in fit],
        boundsOptions={"padding": [16, 16]},
        zoomSnap=0.1,
        zoomDelta=0.5,
        minZoom=8,
        # Nothing on the server reads the viewport; tracking it sent a prop update on every pan
        # and, with bounds but no center given, threw in dash-leaflet on the first moveend.
        trackViewport=False,
        children=children,
        className="live-map",
        style={"background": "#0b1a2a"},
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is looking, as the page shows them: name, role, jurisdiction, the form token."""

    username: str
    role: str
    jurisdiction: str
    csrf: str


def _sign_out(lang: str, who: SignedIn) -> html.Form:
    """The user's name and a sign-out button (a form: it ends the session on the server)."""
    return html.Form(
        action=f"/logout?lang={lang}",
        method="post",
        children=[
            html.Span(f"{who.username} · {role_name(lang, who.role)}", className="user"),
            dcc.Input(type="hidden", name="csrf", value=who.csrf),
            html.Button(text(lang, "logout"), type="submit", className="signout"),
        ],
    )


def _legend(lang: str) -> html.Div:
    """The map's legend, always shown: severity colours, step outlines, unit and camera states."""

    def entry(swatch: str, label: str) -> html.Li:
        return html.Li([html.Span(className=f"swatch {swatch}"), html.Span(label)])

    severities = [entry(f"sev-{n}", browser_words(lang)["severity"][str(n)]) for n in (1, 2, 3, 4)]
    steps = browser_words(lang)["step"]
    return html.Div(
        id=ids.MAP_LEGEND,
        className="map-legend",
        children=[
            html.H3(text(lang, "legend")),
            html.H4(text(lang, "legend_severity")),
            html.Ul(severities),
            html.H4(text(lang, "legend_steps")),
            html.Ul([entry(f"step-{code}", name) for code, name in steps.items()]),
            html.H4(text(lang, "legend_units")),
            html.Ul(
                [
                    entry("unit-available", text(lang, "unit_available")),
                    entry("unit-busy", text(lang, "unit_busy")),
                    entry("unit-off", text(lang, "unit_off")),
                    entry("unit-stale", text(lang, "unit_stale")),
                    entry("unit-fire", text(lang, "unit_kind_fire")),
                    entry("unit-medical", text(lang, "unit_kind_medical")),
                    entry("unit-civil", text(lang, "unit_kind_civil")),
                ]
            ),
            html.H4(text(lang, "legend_cameras")),
            html.Ul([entry(f"camera-{s}", text(lang, f"camera_{s}")) for s in CAMERA_STATUSES]),
            html.H4(text(lang, "legend_hotspots")),
            html.Ul([entry(f"hot-{n}", text(lang, f"hot_{n}")) for n in (1, 3, 6)]),
        ],
    )


def _layer_toggles(lang: str) -> html.Div:
    """One switch per live layer (the browser shows and hides the layer; pressed: shown)."""
    return html.Div(
        id=ids.LAYER_TOGGLES,
        className="layer-toggles",
        children=[
            _toggle(text(lang, f"layer_{name}"), name)
            for name in ("cases", "units", "cameras", "hotspots", "divisions", "places")
        ],
    )


def _toggle(label: str, layer: str) -> html.Button:
    # data-* props are wildcard attributes, which the component's type stubs do not know.
    attributes: dict[str, Any] = {"data-layer": layer}
    return html.Button(label, className="toggle on", **attributes)


def _queue(lang: str) -> html.Aside:
    """The queue of open cases: a grid whose rows the live socket adds, moves and removes."""
    return html.Aside(
        className="queue-panel",
        children=[
            html.Div(
                className="queue-head",
                children=[
                    html.H2(
                        [
                            text(lang, "live_queue"),
                            html.Span("0", id=ids.QUEUE_COUNT, className="count"),
                        ]
                    ),
                    html.Button(
                        text(lang, "overdue_only"), id=ids.QUEUE_OVERDUE_ONLY, className="toggle"
                    ),
                    html.Button(
                        text(lang, "mine_only"), id=ids.QUEUE_MINE_ONLY, className="toggle"
                    ),
                ],
            ),
            # No rowData prop and never fed by a callback: rowData through Dash would re-send
            # every row per change; the browser applies row transactions instead. Even an
            # empty list costs: with rowData set, dash-ag-grid copies every row into the
            # virtualRowData prop on each transaction (10,000 rows per new case, measured).
            dag.AgGrid(
                id=ids.QUEUE,
                columnDefs=queue_columns(lang),
                getRowId=ROW_ID,
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions=grid_options(),
                # Widths are proportions: the columns fill the panel at 1080p and on a 4K wall.
                columnSize="responsiveSizeToFit",
                className="queue-grid",
                style={"height": "100%", "width": "100%"},
            ),
        ],
    )


# The pages a role may open from the console, by the action that opens them (the pages check
# again on the server: a link is a convenience, never the control).
_NAV: tuple[tuple[Action, str, str], ...] = (
    (Action.VIEW_WALL, "/wall", "wall_title"),
    (Action.ACT_ON_CASE, "/overdue", "wall_overdue_page"),
    (Action.EXPORT, "/export/queue.csv", "export_queue_link"),
    (Action.VIEW_AUDIT, "/audit", "audit_title"),
    (Action.VIEW_TRENDS, "/trends", "trends_title"),
    (Action.MANAGE_USERS, "/admin", "admin_title"),
)


def _may(who: SignedIn | None, action: Action) -> bool:
    """Whether the signed-in user's role may take `action` in their own scope."""
    if who is None:
        return False
    try:
        principal = Principal(who.username, Role(who.role), who.jurisdiction)
    except ValueError:
        return False
    return decide(principal, action, None, datetime.now(UTC)).allowed


def _nav(lang: str, who: SignedIn) -> list[Any]:
    """The intake button and the links to the other pages this user's role may open."""
    try:
        principal = Principal(who.username, Role(who.role), who.jurisdiction)
    except ValueError:
        return []
    now = datetime.now(UTC)

    def may(action: Action) -> bool:
        return decide(principal, action, None, now).allowed

    items: list[Any] = [intake_form.opener(lang)] if may(Action.INTAKE_REPORT) else []
    items += [
        html.A(text(lang, words), href=f"{path}?lang={lang}", className="nav-link")
        for action, path, words in _NAV
        if may(action)
    ]
    return items


def live_config(lang: str, config: DashboardConfig, who: SignedIn | None) -> dict[str, Any]:
    """What the console's browser code is told: socket, scope, words, protocol, element ids."""
    return {
        "ws_port": config.ws_port,
        # The live feed a user may ask for is their own jurisdiction (the gateway checks).
        "scope": who.jurisdiction if who is not None else config.scope,
        "user": who.username if who is not None else None,
        "lang": lang,
        "words": browser_words(lang),
        "protocol": dict(config.protocol),
        "ids": ids.described(),
        # Read once by assets/web/live_cameras.js (same origin, the session decides the scope);
        # not offered to a role the route would refuse (an auditor, an administrator), whose
        # page would otherwise log a 403 and leave a refusal on the trail at every load.
        "cameras_url": CAMERAS_PATH if _may(who, Action.VIEW_CASES) else None,
        "units_url": UNITS_PATH if _may(who, Action.VIEW_CASES) else None,
        # Geography fetched after the first paint (dashboard.map_layers).
        "map_layers": dict(config.map_layers),
    }


def page(
    lang: str, layers: MapLayers, config: DashboardConfig, who: SignedIn | None = None
) -> html.Div:
    """The duty console in one language, scoped to who is looking."""
    other = "en" if lang == "zh-CN" else "zh-CN"
    live = live_config(lang, config, who)
    # data-ag-theme-mode: AG Grid's built-in theme follows it into its dark colours.
    theme: dict[str, Any] = {"data-ag-theme-mode": "dark"}
    return html.Div(
        className="console",
        lang=lang,
        **theme,
        children=[
            html.Header(
                className="topbar",
                children=[
                    html.Div(
                        className="brand",
                        children=[
                            html.Span(text(lang, "product"), className="product"),
                            html.Span(county_title(lang, config.scope, config.county_name)),
                        ],
                    ),
                    html.Span(text(lang, "link_connecting"), id=ids.LINK_STATUS, className="link"),
                    html.Span(id=ids.CLOCK, className="clock"),
                    html.A(text(lang, "switch_lang"), href=f"?lang={other}", className="lang"),
                    *(_nav(lang, who) if who is not None else []),
                    *([_sign_out(lang, who)] if who is not None else []),
                ],
            ),
            html.Div(id=ids.DEGRADED_BANNER, className="degraded", hidden=True, role="alert"),
            html.Main(
                className="body",
                children=[
                    html.Section(
                        className="map-panel",
                        children=[
                            _map(layers, config, who.jurisdiction if who else None),
                            _legend(lang),
                            _layer_toggles(lang),
                        ],
                    ),
                    _queue(lang),
                    # The opened case (filled by dashboard.panels when a row or marker is
                    # clicked: the browser sets SELECTED_CASE).
                    html.Section(id=ids.CASE_PANEL, className="case-panel", hidden=True),
                ],
            ),
            dcc.Store(id=ids.SELECTED_CASE),
            _config_holder(json.dumps(live)),
        ],
    )


def _config_holder(config_json: str) -> html.Div:
    """The hidden element the live script reads its configuration from."""
    # data-* props are wildcard attributes, which the component's type stubs do not know.
    attributes: dict[str, Any] = {"data-config": config_json}
    return html.Div(id=ids.LIVE_CONFIG, hidden=True, **attributes)


def signed_in(app: Dash) -> SignedIn | None:
    """Who sent the request being handled, as the session gate found them."""
    session, raw = callback_request(app)
    if session is None:
        return None
    return SignedIn(
        session.username, session.role, session.jurisdiction, raw.cookies.get(CSRF_COOKIE, "")
    )


BOOT_ID = "pingan-boot"  # the index's JSON block holding the viewer's live configuration


class _ConsoleDash(Dash):
    """Dash whose index page carries the signed-in viewer's live configuration.

    The browser opens its socket while the page's scripts start, not after the layout
    callback: the snapshot is being built while React and the grid boot (first paint).
    """

    boot: Callable[[], dict[str, Any] | None] = staticmethod(lambda: None)

    def interpolate_index(
        self,
        metas: str = "",
        title: str = "",
        css: str = "",
        config: str = "",
        scripts: str = "",
        app_entry: str = "",
        favicon: str = "",
        renderer: str = "",
    ) -> str:
        """The index HTML with the viewer's configuration as a JSON data block (not a script)."""
        index: str = super().interpolate_index(  # type: ignore[no-untyped-call]  # Dash's is untyped
            metas, title, css, config, scripts, app_entry, favicon, renderer
        )
        data = self.boot()
        if data is None:
            return index
        # "<" escaped inside the JSON strings: no text can close the block or open a tag.
        blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
        block = f'<script id="{BOOT_ID}" type="application/json">{blob}</script>'
        return index.replace("</head>", block + "</head>", 1)


def create_app(
    layers: MapLayers, config: DashboardConfig, services: Services | None = None
) -> Dash:
    """Build the Dash app (FastAPI backend); the caller serves `app.server`."""
    # The framework's interactive API docs are not served: the centre publishes no API there.
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app = _ConsoleDash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash 4's stubs predate its FastAPI backend
        assets_folder=str(WEB_ASSETS),
        serve_locally=True,
        title="平安指挥",
        update_title=None,  # type: ignore[arg-type]  # None is documented: no title while updating
        suppress_callback_exceptions=True,
    )

    def layout() -> html.Div:
        """The whole console in the layout response: no callback round trip before it shows.

        Switching the language is a link, a full page load: nothing redraws the page later.
        """
        try:
            _, raw = callback_request(app)
        except RuntimeError:  # Dash checks the layout once at start, outside any request
            raw = None
        body = None
        if raw is not None:
            # The layout is fetched by the page; its address (same origin) holds ?lang=.
            referer = urlsplit(raw.headers.get("referer", "")).query
            lang = (parse_qs(referer).get("lang") or [""])[0] or None
            body = page(pick_lang(lang), layers, config, signed_in(app))
        return html.Div([dcc.Location(id=ids.URL), html.Div(body, id=ids.PAGE)])

    app.layout = layout

    def boot() -> dict[str, Any] | None:
        _, raw = callback_request(app)
        who = signed_in(app)
        if raw is None or who is None:
            return None
        return live_config(pick_lang(raw.query_params.get("lang")), config, who)

    app.boot = boot  # per app: the composition's config

    register_panels(app, services)
    if services is not None:
        add_camera_routes(server, services.pool_of)
    return app
