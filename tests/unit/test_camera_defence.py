"""Camera defence read side: online rates, cameras that are down, cameras that see a point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from geo.cameras import Camera, CameraPlacement
from geo.coverage import CameraIndex
from geo.pack import load_demo_pack
from incidents.camera_defence import (
    CameraStatusSince,
    cameras_seeing,
    down_cameras,
    online_rate_by_placement,
    online_rate_by_township,
    statuses_by_camera,
)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOWN_A, TOWN_B = "320118001000", "320118002000"


def camera(code: str, town: str, placement: CameraPlacement, lon: float = 118.9) -> Camera:
    return Camera(code, f"点位{code}", placement, lon, 31.3, 90.0, 60.0, 100.0, town, True)


CAMERAS = [
    camera("a1", TOWN_A, CameraPlacement.POINT),
    camera("a2", TOWN_A, CameraPlacement.LINE),
    camera("a3", TOWN_A, CameraPlacement.AREA),
    camera("a4", TOWN_A, CameraPlacement.AREA),
    camera("b1", TOWN_B, CameraPlacement.POINT),
]
STATUSES = statuses_by_camera(
    [
        CameraStatusSince("a1", "online", NOW - timedelta(hours=3)),
        CameraStatusSince("a2", "alarm", NOW - timedelta(minutes=1)),
        CameraStatusSince("a3", "offline", NOW - timedelta(minutes=90)),
        CameraStatusSince("b1", "fault", NOW - timedelta(days=2)),
        CameraStatusSince("zz", "offline", NOW),  # not in the registry: not shown
    ]
)


def test_online_rate_per_township_counts_alarm_as_working_and_silence_as_not() -> None:
    """a1 online + a2 alarm of four (a4 never heard); b1 faulty."""
    rates = online_rate_by_township(CAMERAS, STATUSES)
    assert [(r.key, r.total, r.online, r.down, r.unknown, r.rate) for r in rates] == [
        (TOWN_A, 4, 2, 1, 1, 0.5),
        (TOWN_B, 1, 0, 1, 0, 0.0),
    ]


def test_online_rate_per_placement() -> None:
    rates = {r.key: (r.total, r.online) for r in online_rate_by_placement(CAMERAS, STATUSES)}
    assert rates == {"area": (2, 0), "line": (1, 1), "point": (2, 1)}


def test_down_cameras_longest_first_with_seconds_down() -> None:
    down = down_cameras(CAMERAS, STATUSES, NOW)
    assert [(d.camera_id, d.status, d.down_seconds) for d in down] == [
        ("b1", "fault", 2 * 86400),
        ("a3", "offline", 90 * 60),
    ]
    assert down[1].township_code == TOWN_A and down[1].name == "点位a3"


def test_views_are_plain_json_without_personal_fields() -> None:
    """What a screen receives: the registry's public fields and times, nothing else."""
    document = msgspec.json.decode(msgspec.json.encode(down_cameras(CAMERAS, STATUSES, NOW)[0]))
    assert set(document) == {
        "camera_id", "name", "placement", "township_code", "lon", "lat", "status", "since",
        "down_seconds",
    }  # fmt: skip


def test_cameras_seeing_a_case_nearest_first_with_status() -> None:
    """On the demo pack: every camera reported sees the point; working_only drops the rest."""
    pack = load_demo_pack()
    index = CameraIndex.from_pack(pack)
    target = next(c for c in pack.cameras if c.fov_deg < 360)
    lon, lat = target.lon + 1e-5, target.lat + 1e-5
    hits = index.seeing(lon, lat)
    assert hits, "a point beside a camera is seen by something"
    statuses = {hits[0].camera.code: CameraStatusSince(hits[0].camera.code, "offline", NOW)}
    sights = cameras_seeing(index, lon, lat, statuses)
    assert [s.camera_id for s in sights] == [h.camera.code for h in hits]
    assert [s.distance_m for s in sights] == sorted(s.distance_m for s in sights)
    assert sights[0].status == "offline"
    assert all(s.status is None for s in sights[1:])
    assert cameras_seeing(index, lon, lat, statuses, working_only=True) == []
