"""The bridge's translation of wvp-GB28181-pro messages, and the keepalive notice's stamp."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from realtime.camera_bridge import (
    BridgeRejected,
    add_arguments,
    alarm_entry,
    main,
    parse_alarm,
    parse_device_status,
    parse_gps,
)
from realtime.camera_keepalive import offline_notice
from realtime.cameras import ALARM_CATEGORY

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "camera", "action"),
    [
        (b"34020000001320000001 ON", "34020000001320000001", "ON"),
        (b"34020000001180000001:34020000001320000002 OFF", "34020000001320000002", "OFF"),
        (b"  34020000001320000001 DELETE\n", "34020000001320000001", "DELETE"),
    ],
)
def test_device_status_text(text: bytes, camera: str, action: str) -> None:
    status = parse_device_status(text)
    assert (status.camera_id, status.action) == (camera, action)


@pytest.mark.parametrize(
    "text",
    [b"ON", b"3402 on", b"3402:ON", b"3402 ON extra", b"34\x1b02 ON", b"a:b:c ON", b"x" * 5000],
)
def test_device_status_refusals(text: bytes) -> None:
    with pytest.raises(BridgeRejected):
        parse_device_status(text)


@pytest.mark.parametrize(
    ("method", "kind", "category"),
    [
        ((5, 6), "intrusion", "public_security"),
        ((5, 8), "loitering", "public_security"),
        ((5, 10), "crowd", "mass_incident"),
        ((5, 7), "traffic", "traffic"),
        ((1, None), "phone", "public_security"),
        ((4, None), "gps", "public_security"),
    ],
)
def test_alarm_kinds_and_the_category_they_open(
    method: tuple[int, int | None], kind: str, category: str
) -> None:
    message = {"gbId": "34020000001320000001", "alarmSn": method[0], "alarmType": method[1]}
    entry = alarm_entry(parse_alarm(msgspec.json.encode(message)), NOW)
    document = msgspec.json.decode(entry[b"data"])
    assert document["status"] == "alarm"
    assert document["alarm"]["kind"] == kind
    assert ALARM_CATEGORY.get(kind, "public_security") == category


@pytest.mark.parametrize("method", [(2, 1), (2, 3), (2, 4), (2, 5), (5, 11), (6, 1), (6, 2)])
def test_broken_camera_alarms_are_faults_not_cases(method: tuple[int, int]) -> None:
    message = {"gbId": "34020000001320000001", "alarmSn": method[0], "alarmType": method[1]}
    document = msgspec.json.decode(
        alarm_entry(parse_alarm(msgspec.json.encode(message)), NOW)[b"data"]
    )
    assert document["status"] == "fault"
    assert set(document) == {"camera_id", "status", "at"}  # no alarm: nothing to open a case


def test_priority_out_of_range_is_refused() -> None:
    with pytest.raises(BridgeRejected, match="invalid alarm"):
        parse_alarm(b'{"gbId": "3402", "alarmSn": 5, "alarmPriority": 9}')


def test_gps_time_with_an_offset_is_kept_and_a_stale_one_refused() -> None:
    fix = parse_gps(
        b'{"id": "3402", "lng": 118.9, "lat": 31.3, "time": "2026-11-26T07:59:00Z"}', NOW
    )
    assert fix.at == NOW - timedelta(minutes=1)
    assert fix.speed is None and fix.heading is None
    with pytest.raises(BridgeRejected, match="implausible"):
        parse_gps(b'{"id": "3402", "lng": 118.9, "lat": 31.3, "time": "2026-11-20T08:00:00"}', NOW)


def test_offline_notice_is_stamped_at_the_deadline_but_never_a_day_old() -> None:
    timeout = timedelta(minutes=3)
    heard = NOW - timedelta(minutes=10)
    recent = msgspec.json.decode(offline_notice("c", int(heard.timestamp() * 1000), NOW, timeout))
    assert datetime.fromisoformat(recent["at"]) == heard + timeout
    long_ago = NOW - timedelta(days=3)
    old = msgspec.json.decode(offline_notice("c", int(long_ago.timestamp() * 1000), NOW, timeout))
    assert datetime.fromisoformat(old["at"]) == NOW - timedelta(hours=23)


def test_the_command_line_needs_the_platforms_redis_and_defaults_to_wvps_channels() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--source-redis", "redis://video:6379/0"])
    assert (args.device_channel, args.alarm_channel, args.gps_channel) == (
        "device",
        "alarm",
        "VM_MSG_GPS",
    )
    with pytest.raises(SystemExit):
        main([])
