"""Simulated cameras: keepalives, outages (silence, then back online), faults and alarms.

Keepalives follow the wall clock (GB/T 28181: every 60 s), because the server judges a
camera offline by missed keepalives against its own clock; outages and alarms follow the
simulated clock, like everything else that happens in the shift. Pure: time is passed in.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from geo.cameras import Camera

KEEPALIVE_SECONDS = 60.0


class CameraNotice(StrEnum):
    """Why a camera message was sent."""

    KEEPALIVE = "keepalive"
    BACK_ONLINE = "back_online"
    FAULT = "fault"
    ALARM = "alarm"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm a camera raises (kinds as realtime.cameras.ALARM_CATEGORY knows them)."""

    kind: str
    summary: str
    severity: int
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class CameraOut:
    """One message for the cameras stream."""

    camera_id: str
    notice: CameraNotice
    alarm: Alarm | None = None

    @property
    def status(self) -> str:
        """The GB/T 28181-shaped status the message carries."""
        match self.notice:
            case CameraNotice.FAULT:
                return "fault"
            case CameraNotice.ALARM:
                return "alarm"
        return "online"


def encode_camera(message: CameraOut, stamped_at: datetime) -> bytes:
    """The `data` of a cameras stream entry, stamped at a moment."""
    doc: dict[str, object] = {
        "camera_id": message.camera_id,
        "status": message.status,
        "at": stamped_at.isoformat(timespec="milliseconds"),
    }
    if message.alarm is not None:
        a = message.alarm
        doc["alarm"] = {
            "kind": a.kind,
            "summary": a.summary,
            "severity": a.severity,
            "lon": a.lon,
            "lat": a.lat,
        }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def alarm_source_id(camera_id: str, stamped_at: datetime) -> str:
    """The source_id the cameras worker gives the intake report of an alarm."""
    return f"camera:{camera_id}:{int(stamped_at.timestamp() * 1000)}"


# Everyday alarms: (kind, summary, severity, weight).
_ALARMS: Sequence[tuple[str, str, int, float]] = (
    ("loitering", "{name}监控点位发现可疑人员徘徊", 3, 4),
    ("intrusion", "{name}监控点位周界入侵报警", 3, 3),
    ("traffic", "{name}监控点位检测到交通事故", 3, 2),
    ("fight", "{name}监控点位检测到人员打斗", 2, 1),
    ("smoke", "{name}监控画面出现浓烟，疑似起火", 2, 1),
    ("crowd", "{name}监控点位检测到人员聚集", 3, 0.5),
)


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """How often cameras fail and alarm (per simulated time)."""

    outages_per_camera_day: float = 0.1
    outage_median_minutes: float = 25.0
    fault_share: float = 0.2  # outages the camera itself reports as a fault before going quiet
    alarms_per_hour: float = 3.0  # county-wide


class CameraNetwork:
    """The pack's cameras as a simulated network."""

    def __init__(
        self,
        cameras: Sequence[Camera],
        settings: CameraSettings,
        rng: random.Random,
        start: datetime | None = None,
    ) -> None:
        """Keepalive phases are spread over the minute so the stream sees a steady rate.

        `start`: the simulated moment outages and alarms are drawn from (default: the
        first `due` call).
        """
        self._cameras = list(cameras)
        self._settings = settings
        self._rng = rng
        self._by_id = {c.code: c for c in self._cameras}
        self._keepalives = [(rng.uniform(0, KEEPALIVE_SECONDS), c.code) for c in self._cameras]
        heapq.heapify(self._keepalives)
        self._down_until: dict[str, datetime] = {}
        self._next_outage: datetime | None = None
        self._next_alarm: datetime | None = None
        self._start = start
        self._wall_origin: float | None = None

    @property
    def offline(self) -> frozenset[str]:
        """Cameras silent right now."""
        return frozenset(self._down_until)

    def due(self, sim_now: datetime, wall_now: float) -> list[CameraOut]:
        """What the network sends up to these moments (wall seconds are monotonic)."""
        out: list[CameraOut] = []
        if not self._cameras:
            return out
        if self._wall_origin is None:
            self._wall_origin = wall_now
        self._outages(sim_now, out)
        self._alarms(sim_now, out)
        for camera_id, back_at in list(self._down_until.items()):
            if back_at <= sim_now:
                del self._down_until[camera_id]
                out.append(CameraOut(camera_id, CameraNotice.BACK_ONLINE))
        elapsed = wall_now - self._wall_origin
        while self._keepalives and self._keepalives[0][0] <= elapsed:
            at, camera_id = heapq.heappop(self._keepalives)
            heapq.heappush(self._keepalives, (at + KEEPALIVE_SECONDS, camera_id))
            if camera_id not in self._down_until:  # a camera that is down says nothing
                out.append(CameraOut(camera_id, CameraNotice.KEEPALIVE))
        return out

    def _outages(self, sim_now: datetime, out: list[CameraOut]) -> None:
        per_second = self._settings.outages_per_camera_day * len(self._cameras) / 86_400
        if per_second <= 0:
            return
        if self._next_outage is None:
            begin = self._start or sim_now
            self._next_outage = begin + timedelta(seconds=self._rng.expovariate(per_second))
        while self._next_outage <= sim_now:
            camera = self._rng.choice(self._cameras)
            minutes = self._settings.outage_median_minutes * math.exp(self._rng.gauss(0, 0.6))
            if camera.code not in self._down_until:
                self._down_until[camera.code] = self._next_outage + timedelta(minutes=minutes)
                if self._rng.random() < self._settings.fault_share:
                    out.append(CameraOut(camera.code, CameraNotice.FAULT))
            self._next_outage += timedelta(seconds=self._rng.expovariate(per_second))

    def _alarms(self, sim_now: datetime, out: list[CameraOut]) -> None:
        per_second = self._settings.alarms_per_hour / 3600
        if per_second <= 0:
            return
        if self._next_alarm is None:
            begin = self._start or sim_now
            self._next_alarm = begin + timedelta(seconds=self._rng.expovariate(per_second))
        while self._next_alarm <= sim_now:
            camera = self._rng.choice(self._cameras)
            kind, summary, severity, _ = self._rng.choices(
                _ALARMS, weights=[a[3] for a in _ALARMS]
            )[0]
            if camera.code not in self._down_until:
                out.append(
                    self.alarm(camera.code, kind, summary.format(name=camera.name), severity)
                )
            self._next_alarm += timedelta(seconds=self._rng.expovariate(per_second))

    def alarm(self, camera_id: str, kind: str, summary: str, severity: int) -> CameraOut:
        """An alarm raised by one camera, placed at the camera."""
        camera = self._by_id[camera_id]
        return CameraOut(
            camera_id,
            CameraNotice.ALARM,
            Alarm(kind, summary, severity, camera.lon, camera.lat),
        )

    def nearest(self, lon: float, lat: float, count: int) -> list[Camera]:
        """The cameras closest to a point (for a scenario's alarms)."""
        scale = math.cos(math.radians(lat))
        return sorted(
            self._cameras, key=lambda c: ((c.lon - lon) * scale) ** 2 + (c.lat - lat) ** 2
        )[:count]
