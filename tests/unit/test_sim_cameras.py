"""Simulated cameras: keepalives every minute, silence while down, alarms that decode."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from geo.pack import load_demo_pack
from realtime.cameras import decode_camera
from realtime.sim_cameras import (
    KEEPALIVE_SECONDS,
    CameraNetwork,
    CameraNotice,
    CameraSettings,
    encode_camera,
)
from realtime.streams import DATA_FIELD

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_every_camera_keeps_alive_once_a_minute_of_wall_time_except_while_down() -> None:
    """Over ten wall minutes each up camera sends ten keepalives; a down one sends none."""
    cameras = load_demo_pack().cameras[:300]
    settings = CameraSettings(outages_per_camera_day=1, outage_median_minutes=120)
    network = CameraNetwork(cameras, settings, random.Random(3))
    sent: list = []
    down_at_some_point: set[str] = set()
    for second in range(1, 601):
        # 60x: ten wall minutes are ten simulated hours.
        sent += network.due(START + timedelta(seconds=second * 60), float(second))
        down_at_some_point |= network.offline
    keepalives = Counter(m.camera_id for m in sent if m.notice is CameraNotice.KEEPALIVE)
    always_up = {c.code for c in cameras} - down_at_some_point
    per_window = 600 / KEEPALIVE_SECONDS  # the first one falls anywhere in the first minute
    assert always_up and all(per_window - 1 <= keepalives[c] <= per_window for c in always_up)
    assert down_at_some_point
    assert sum(keepalives[c] for c in down_at_some_point) < 8 * len(down_at_some_point)
    back = {m.camera_id for m in sent if m.notice is CameraNotice.BACK_ONLINE}
    assert back and back <= down_at_some_point


def test_messages_decode_on_the_cameras_contract_and_alarms_carry_a_place() -> None:
    """Keepalives, faults and alarms all pass realtime.cameras validation."""
    settings = CameraSettings(outages_per_camera_day=5, alarms_per_hour=60)
    network = CameraNetwork(load_demo_pack().cameras[:500], settings, random.Random(8))
    sent = []
    for second in range(1, 121):
        sent += network.due(START + timedelta(seconds=second * 60), float(second))
    notices = Counter(m.notice for m in sent)
    assert notices[CameraNotice.ALARM] > 20 and notices[CameraNotice.FAULT] > 0
    now = START + timedelta(minutes=1)
    for message in sent:
        status = decode_camera({DATA_FIELD: encode_camera(message, now)}, now)
        assert status.status == message.status
        if message.alarm is not None:
            assert status.alarm is not None and status.alarm.lon is not None


def test_the_same_seed_gives_the_same_network_history() -> None:
    """Reproducible from the seed."""

    def history(seed: int) -> list:
        network = CameraNetwork(
            load_demo_pack().cameras[:200], CameraSettings(alarms_per_hour=30), random.Random(seed)
        )
        out = []
        for second in range(1, 200):
            out += network.due(START + timedelta(seconds=second * 60), float(second))
        return out

    assert history(1) == history(1) != history(2)
