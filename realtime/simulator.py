"""A small county feed for the demo: realistic reports written to the intake stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import redis.asyncio as aioredis
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from realtime.streams import DATA_FIELD, StreamNames

_CST = timezone(timedelta(hours=8))

# (channel, category, severity or None, summary); summaries are the kind a centre hears daily.
_TEMPLATES: tuple[tuple[str, str, int | None, str], ...] = (
    ("110", "public_security", 3, "{place}附近有人酒后滋事，与路人发生推搡"),
    ("110", "public_security", 2, "{place}发生打架斗殴，约{n}人，有人受伤"),
    ("110", "traffic", 3, "{place}路口两车相撞，无人员受伤，道路拥堵"),
    ("110", "traffic", 2, "{place}电动车与货车相撞，一人倒地"),
    ("12345", "dispute", None, "{place}邻里因噪音问题多次争吵，要求调解"),
    ("12345", "public_service", None, "{place}路灯损坏多日，夜间出行不便"),
    ("12345", "public_service", None, "{place}自来水停水超过一天，未见通知"),
    ("grid", "safety_production", 3, "网格巡查发现{place}一小作坊违规存放液化气钢瓶"),
    ("grid", "dispute", None, "网格员走访发现{place}两户因宅基地边界起纠纷"),
    ("grid", "special_population", 3, "网格员反映{place}独居老人多日未出门"),
    ("camera", "public_security", 3, "{place}监控点位发现可疑人员在车辆旁徘徊"),
    ("camera", "fire", 2, "{place}监控画面出现浓烟，疑似起火"),
    ("walk_in", "petition", None, "群众到窗口反映{place}征地补偿款未到位"),
    ("sos", "emergency", 2, "{place}一键求助：老人突发疾病倒地"),
    ("online", "public_service", None, "网上反映{place}垃圾清运不及时"),
    ("110", "fire", 2, "{place}一民房起火，有黑烟冒出"),
    ("12345", "safety_production", 3, "{place}工地夜间施工，脚手架不稳"),
)
_PLACES = ("村口", "菜市场", "学校门口", "老街", "工业园区", "圩区堤坝", "卫生院", "汽车站")
_SURNAMES = "王李张刘陈杨赵黄周吴孙邢胡朱高"


@dataclass(frozen=True, slots=True)
class Area:
    """A township to drop reports into: its name and polygon."""

    name: str
    geometry: BaseGeometry
    weight: float


def random_point(area: BaseGeometry, rng: random.Random) -> tuple[float, float]:
    """A uniformly random point inside a polygon (rejection sampling in its bounds)."""
    min_x, min_y, max_x, max_y = area.bounds
    for _ in range(1000):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if area.contains(Point(x, y)):
            return round(x, 6), round(y, 6)
    point = area.representative_point()
    return point.x, point.y


def make_report(
    areas: Sequence[Area], rng: random.Random, now: datetime, serial: int
) -> dict[str, Any]:
    """One plausible intake/1 document."""
    area = rng.choices(areas, weights=[a.weight for a in areas])[0]
    channel, category, severity, template = rng.choice(_TEMPLATES)
    lon, lat = random_point(area.geometry, rng)
    place = f"{area.name}{rng.choice(_PLACES)}"
    document: dict[str, Any] = {
        "schema": "intake/1",
        "source_id": f"sim-{channel}-{now:%Y%m%d%H%M%S}-{serial:06d}-{rng.randrange(10**6):06d}",
        "channel": channel,
        "category": category,
        "summary": template.format(place=place, n=rng.randint(3, 8)),
        "location": {"lon": lon, "lat": lat, "address": place},
        "reported_at": now.astimezone(_CST).isoformat(timespec="seconds"),
    }
    if severity is not None:
        document["severity"] = severity
    if channel in ("110", "12345", "sos", "walk_in") and rng.random() < 0.8:
        document["reporter"] = {
            "name": rng.choice(_SURNAMES) + rng.choice(("先生", "女士")),
            "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
        }
    return document


async def run_feed(
    redis: aioredis.Redis,
    names: StreamNames,
    areas: Sequence[Area],
    rate_per_second: float,
    stop: asyncio.Event,
    seed: int | None = None,
) -> int:
    """Write reports at about the given rate (Poisson arrivals) until stopped."""
    rng = random.Random(seed)
    serial = 0
    while not stop.is_set():
        document = make_report(areas, rng, datetime.now(_CST), serial)
        await redis.xadd(names.intake, {DATA_FIELD: json.dumps(document, ensure_ascii=False)})
        serial += 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=rng.expovariate(rate_per_second))
        except TimeoutError:
            continue
    return serial


@dataclass
class _Patrol:
    unit_id: str
    area: Area
    lon: float
    lat: float
    heading: float


def _step(patrol: _Patrol, rng: random.Random, metres: float) -> None:
    """Move a patrol about `metres` on a slowly turning heading, staying in its township."""
    for _ in range(8):
        heading = (patrol.heading + rng.gauss(0, 25)) % 360
        dlat = metres * math.cos(math.radians(heading)) / 111_320
        dlon = (
            metres
            * math.sin(math.radians(heading))
            / (111_320 * math.cos(math.radians(patrol.lat)))
        )
        lon, lat = patrol.lon + dlon, patrol.lat + dlat
        if patrol.area.geometry.contains(Point(lon, lat)):
            patrol.lon, patrol.lat, patrol.heading = lon, lat, heading
            return
        patrol.heading = (patrol.heading + 180) % 360  # turn back at the township edge


async def run_patrols(
    redis: aioredis.Redis,
    names: StreamNames,
    areas: Sequence[Area],
    units_per_area: int,
    every_seconds: float,
    stop: asyncio.Event,
    seed: int | None = None,
) -> int:
    """Patrol units driving around their townships, each reporting its position periodically."""
    rng = random.Random(seed)
    patrols = []
    for town_no, area in enumerate(areas, start=1):
        for n in range(1, units_per_area + 1):
            lon, lat = random_point(area.geometry, rng)
            patrols.append(
                _Patrol(f"patrol-{town_no:02d}-{n}", area, lon, lat, rng.uniform(0, 360))
            )
    fixes = 0
    while not stop.is_set():
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        async with redis.pipeline(transaction=False) as pipe:
            for patrol in patrols:
                speed_kmh = rng.uniform(15, 45)
                _step(patrol, rng, speed_kmh / 3.6 * every_seconds)
                fix = {
                    "unit_id": patrol.unit_id,
                    "lon": round(patrol.lon, 6),
                    "lat": round(patrol.lat, 6),
                    "at": now,
                    "speed": round(speed_kmh, 1),
                    "heading": round(patrol.heading),
                }
                pipe.xadd(names.positions, {DATA_FIELD: json.dumps(fix)}, maxlen=100_000)
            await pipe.execute()
        fixes += len(patrols)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
    return fixes
