"""The console map's camera layer as the browser loads it: compact rows, statuses, legend."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dashboard import ids
from dashboard.app import DashboardConfig, MapLayers, SignedIn, _layer_toggles, _legend, page
from dashboard.i18n import LANGS, text
from dashboard.panels.cameras import CAMERAS_PATH
from dashboard.presenters.camera_layer import (
    CAMERA_FIELDS,
    CAMERA_STATUSES,
    camera_layer,
    camera_rows,
)
from incidents.store.camera_store import CameraMarker

SINCE = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)


def test_a_marker_becomes_one_row_in_field_order() -> None:
    """Code, rounded position, status, since (ISO) and name, in CAMERA_FIELDS order."""
    marker = CameraMarker("3201180001", "老街<script>", 118.87654321, 31.12345678, "fault", SINCE)
    [row] = camera_rows([marker])
    assert dict(zip(CAMERA_FIELDS, row, strict=True)) == {
        "code": "3201180001",
        "lon": 118.876543,
        "lat": 31.123457,
        "status": "fault",
        "since": "2026-11-26T13:05:00+00:00",
        "name": "老街<script>",  # untrusted text travels as it is; the browser shows it as text
    }


def test_a_camera_never_heard_from_or_with_an_unknown_status_is_sent_without_one() -> None:
    """No history gives null status and since; a status outside the four is not passed on."""
    silent = CameraMarker("a", "A", 118.0, 31.0, None, None)
    odd = CameraMarker("b", "B", 118.0, 31.0, "rebooting", SINCE)
    rows = camera_rows([silent, odd])
    status, since = CAMERA_FIELDS.index("status"), CAMERA_FIELDS.index("since")
    assert [r[status] for r in rows] == [None, None]
    assert rows[0][since] is None


def test_the_body_names_its_fields_once() -> None:
    """The route's body: the field names, then one row per marker, in the order given."""
    markers = [CameraMarker(c, c, 118.0, 31.0, "online", SINCE) for c in ("x2", "x1")]
    body = camera_layer(markers)
    assert body["fields"] == list(CAMERA_FIELDS)
    assert [r[0] for r in body["rows"]] == ["x2", "x1"]


def test_the_legend_and_the_switches_name_every_camera_status_in_both_languages() -> None:
    """One legend entry per status (alarm last) and a camera switch, in words, not keys."""
    assert CAMERA_STATUSES[-1] == "alarm"
    for lang in LANGS:
        legend = str(_legend(lang))
        for status in CAMERA_STATUSES:
            assert f"camera-{status}" in legend
            assert text(lang, f"camera_{status}") in legend
        assert text(lang, "legend_cameras") in legend
        toggles = str(_layer_toggles(lang))
        assert "data-layer='cameras'" in toggles and text(lang, "layer_cameras") in toggles


def _embedded_config(role: str) -> dict[str, object]:
    empty = {"type": "FeatureCollection", "features": []}
    layers = MapLayers(empty, empty, (31.3, 118.9), ((31.2, 118.7), (31.5, 119.2)))
    who = SignedIn("someone", role, "320118000000", "form-token")
    layout = page("zh-CN", layers, DashboardConfig("高淳区", "320118", 8765), who)
    (holder,) = [n for n in layout.children if getattr(n, "id", None) == ids.LIVE_CONFIG]
    config: dict[str, object] = json.loads(holder.to_plotly_json()["props"]["data-config"])
    return config


def test_only_a_role_that_may_view_cases_is_told_where_the_cameras_are() -> None:
    """A duty officer's page names the route; an auditor's does not (the route would refuse)."""
    assert _embedded_config("county_duty_officer")["cameras_url"] == CAMERAS_PATH
    assert _embedded_config("township_coordinator")["cameras_url"] == CAMERAS_PATH
    assert _embedded_config("auditor")["cameras_url"] is None
    assert _embedded_config("administrator")["cameras_url"] is None
