"""Simulated intake reports: daily and weekly rhythm, hot spots, repeat callers, bad entries.

Pure: every draw comes from the generator's own `random.Random`, and time is passed in, so
one seed gives the same reports in the same order. Drafts become intake/1 bytes only in
`encode`, stamped with the time the caller chooses.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, TypeVar

from incidents.vocabulary import Category, Channel
from realtime.sim_places import HotSpot, SpotKind, scatter

CHINA = timezone(timedelta(hours=8))  # no daylight saving in China
K = TypeVar("K")

# Relative report volume by local hour: quiet small hours, a morning peak as markets and
# offices open, a lull at lunch, the evening peak (disputes, drinking, traffic).
_HOURLY = (
    0.30, 0.22, 0.18, 0.16, 0.18, 0.30, 0.55, 0.95, 1.40, 1.60, 1.50, 1.30,
    1.05, 1.10, 1.20, 1.25, 1.30, 1.45, 1.60, 1.75, 1.65, 1.30, 0.90, 0.55,
)  # fmt: skip
# Monday .. Sunday: weekends bring more disputes and more people at markets and the lake.
_WEEKLY = (1.00, 0.95, 0.95, 0.97, 1.05, 1.10, 1.08)
_HOURLY_MEAN = sum(_HOURLY) / len(_HOURLY)
_WEEKLY_MEAN = sum(_WEEKLY) / len(_WEEKLY)
PEAK_INTENSITY = max(_HOURLY) / _HOURLY_MEAN * max(_WEEKLY) / _WEEKLY_MEAN


def intensity(at: datetime) -> float:
    """Report volume at a moment relative to the week's average (mean 1 over a week)."""
    local = at.astimezone(CHINA)
    hour = local.hour + local.minute / 60
    low = int(hour) % 24
    share = hour - int(hour)
    # Interpolated between hours so the rate has no steps on the hour.
    hourly = _HOURLY[low] * (1 - share) + _HOURLY[(low + 1) % 24] * share
    return hourly / _HOURLY_MEAN * _WEEKLY[local.weekday()] / _WEEKLY_MEAN


class DraftKind(StrEnum):
    """Why a report was made: a first call, a repeat about the same event, a bad entry."""

    FIRST = "first"
    REPEAT = "repeat"
    MALFORMED = "malformed"
    DISCOVERY = "discovery"
    SCENARIO = "scenario"


class Malformed(StrEnum):
    """The ways a simulated entry breaks the intake contract."""

    WRONG_SCHEMA = "wrong_schema"
    MISSING_FIELD = "missing_field"
    BAD_TIME = "bad_time"
    SEVERITY_OUT_OF_RANGE = "severity_out_of_range"
    INVALID_JSON = "invalid_json"


@dataclass(frozen=True, slots=True)
class Reporter:
    """A synthetic caller."""

    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Draft:
    """One report before it is stamped and encoded."""

    source_id: str
    kind: DraftKind
    channel: Channel
    category: Category
    summary: str
    lon: float
    lat: float
    address: str
    sim_at: datetime
    severity: int | None = None
    reporter: Reporter | None = None
    malformed: Malformed | None = None
    event_key: str = ""  # the same for every call about one event (first call's source_id)


# Which categories each kind of place produces, and how often.
_CATEGORY_MIX: Mapping[SpotKind, Mapping[Category, float]] = {
    SpotKind.COUNTY_SEAT: {
        Category.PUBLIC_SECURITY: 4,
        Category.TRAFFIC: 3,
        Category.DISPUTE: 3,
        Category.PUBLIC_SERVICE: 4,
        Category.PETITION: 1,
        Category.FIRE: 0.5,
        Category.SPECIAL_POPULATION: 0.5,
        Category.EMERGENCY: 0.5,
    },
    SpotKind.MARKET: {
        Category.DISPUTE: 4,
        Category.PUBLIC_SECURITY: 3,
        Category.PUBLIC_SERVICE: 2,
        Category.TRAFFIC: 1,
    },
    SpotKind.INDUSTRIAL: {
        Category.SAFETY_PRODUCTION: 4,
        Category.FIRE: 1,
        Category.DISPUTE: 2,  # wage arrears
        Category.TRAFFIC: 1,
    },
    SpotKind.POLDER: {
        Category.EMERGENCY: 1.5,
        Category.DISPUTE: 2,
        Category.PUBLIC_SERVICE: 1,
        Category.SAFETY_PRODUCTION: 0.5,
    },
    SpotKind.TOWNSHIP_SEAT: {
        Category.PUBLIC_SECURITY: 2,
        Category.DISPUTE: 2,
        Category.PUBLIC_SERVICE: 2,
        Category.PETITION: 1,
        Category.TRAFFIC: 1,
    },
    SpotKind.VILLAGE: {
        Category.DISPUTE: 4,
        Category.PUBLIC_SERVICE: 2,
        Category.SPECIAL_POPULATION: 1,
        Category.PUBLIC_SECURITY: 1,
        Category.FIRE: 0.5,
        Category.SAFETY_PRODUCTION: 0.5,
    },
}
# Which channel a citizen uses for each category.
_CHANNEL_MIX: Mapping[Category, Mapping[Channel, float]] = {
    Category.PUBLIC_SECURITY: {Channel.POLICE_110: 6, Channel.CAMERA: 1, Channel.SOS: 0.5},
    Category.TRAFFIC: {Channel.POLICE_110: 6, Channel.HOTLINE_12345: 1, Channel.CAMERA: 1},
    Category.FIRE: {Channel.POLICE_110: 5, Channel.SOS: 1, Channel.CAMERA: 1},
    Category.DISPUTE: {
        Channel.HOTLINE_12345: 3,
        Channel.POLICE_110: 2,
        Channel.GRID: 2,
        Channel.WALK_IN: 1,
    },
    Category.PUBLIC_SERVICE: {Channel.HOTLINE_12345: 5, Channel.ONLINE: 3, Channel.GRID: 1},
    Category.PETITION: {Channel.PETITION: 3, Channel.WALK_IN: 2, Channel.ONLINE: 1},
    Category.SAFETY_PRODUCTION: {
        Channel.GRID: 3,
        Channel.HOTLINE_12345: 2,
        Channel.POLICE_110: 1,
    },
    Category.EMERGENCY: {Channel.POLICE_110: 3, Channel.SOS: 3, Channel.HOTLINE_12345: 1},
    Category.SPECIAL_POPULATION: {Channel.GRID: 4, Channel.HOTLINE_12345: 1},
    Category.MASS_INCIDENT: {Channel.POLICE_110: 3, Channel.CAMERA: 1, Channel.GRID: 1},
    Category.OTHER: {Channel.HOTLINE_12345: 1},
}
# (severity or None for the category default, summary); {place} is where it happens.
_SUMMARIES: Mapping[Category, Sequence[tuple[int | None, str]]] = {
    Category.PUBLIC_SECURITY: (
        (3, "{place}有人酒后滋事，与路人发生推搡"),
        (2, "{place}发生打架斗殴，约{n}人，有人受伤"),
        (3, "{place}有可疑人员撬电动车锁"),
        (3, "{place}一商铺夜间被盗，卷帘门被撬"),
    ),
    Category.TRAFFIC: (
        (3, "{place}路口两车相撞，无人员受伤，道路拥堵"),
        (2, "{place}电动车与货车相撞，一人倒地"),
        (3, "{place}大货车违停占道，造成拥堵"),
    ),
    Category.FIRE: (
        (2, "{place}一民房起火，有黑烟冒出"),
        (3, "{place}路边垃圾堆起火"),
    ),
    Category.DISPUTE: (
        (None, "{place}邻里因噪音问题多次争吵，要求调解"),
        (None, "{place}两户因宅基地边界起纠纷，情绪激动"),
        (None, "{place}摊主与顾客因缺斤短两发生争执"),
        (None, "{place}工人讨要拖欠工资，与老板争吵"),
    ),
    Category.PUBLIC_SERVICE: (
        (None, "{place}路灯损坏多日，夜间出行不便"),
        (None, "{place}自来水停水超过一天，未见通知"),
        (None, "{place}垃圾清运不及时，气味难闻"),
        (None, "{place}窨井盖缺失，存在安全隐患"),
    ),
    Category.PETITION: (
        (None, "群众反映{place}征地补偿款未到位"),
        (None, "群众反映{place}拆迁安置房迟迟未交付"),
    ),
    Category.SAFETY_PRODUCTION: (
        (3, "{place}一小作坊违规存放液化气钢瓶"),
        (3, "{place}工地夜间施工，脚手架不稳"),
        (3, "{place}企业仓库消防通道被堵"),
    ),
    Category.EMERGENCY: (
        (2, "{place}一键求助：老人突发疾病倒地"),
        (2, "{place}有人落水，正在呼救"),
    ),
    Category.SPECIAL_POPULATION: (
        (3, "{place}独居老人多日未出门，电话无人接听"),
        (3, "{place}一名精神障碍患者情绪异常，在路边游荡"),
    ),
    Category.MASS_INCIDENT: ((2, "{place}聚集约{n}十人，情绪激动"),),
    Category.OTHER: ((None, "{place}有群众咨询事项"),),
}
# What a grid worker finds on the round (channel grid).
_DISCOVERIES: Sequence[tuple[Category, int | None, str]] = (
    (Category.SAFETY_PRODUCTION, 3, "网格巡查发现{place}一小作坊违规存放液化气钢瓶"),
    (Category.DISPUTE, None, "网格员走访发现{place}两户因宅基地边界起纠纷"),
    (Category.SPECIAL_POPULATION, 3, "网格员反映{place}独居老人多日未出门"),
    (Category.PUBLIC_SERVICE, None, "网格员巡查发现{place}道路塌陷一处"),
    (Category.SAFETY_PRODUCTION, 3, "网格员发现{place}电动车在楼道内充电"),
)
_SPOT_PLACES: Mapping[SpotKind, Sequence[str]] = {
    SpotKind.COUNTY_SEAT: ("老街", "宝塔路", "汽车站", "人民医院门口", "商业步行街", "小区门口"),
    SpotKind.MARKET: ("门口", "水产区", "停车场"),
    SpotKind.INDUSTRIAL: ("厂区门口", "仓库", "宿舍区"),
    SpotKind.POLDER: ("堤坝", "排涝站", "圩内农田"),
    SpotKind.TOWNSHIP_SEAT: ("附近", "集镇街道", "中心路口"),
    SpotKind.VILLAGE: ("村口", "文化广场", "小桥边", "老年活动室"),
}
_SURNAMES = "王李张刘陈杨赵黄周吴孙徐胡朱高邢孔魏芮"
_GIVEN = "建国明华丽娟军伟芳勇敏静强磊洋艳杰涛"
_PHONE_HEADS = ("139", "158", "177", "186", "135", "152")
_CITIZEN_CHANNELS = frozenset(
    {Channel.POLICE_110, Channel.HOTLINE_12345, Channel.SOS, Channel.WALK_IN, Channel.PETITION}
)
# A repeat caller is a different person about the same event, minutes later, close by.
REPEAT_RADIUS_M = 40.0
REPEAT_WITHIN = timedelta(minutes=8)


def place_name(spot: HotSpot) -> str:
    """The spot's name as people say it ('北固村村委会' -> '北固村')."""
    for suffix in ("村委会", "居委会", "办事处", "人民政府"):
        if spot.name.endswith(suffix):
            return spot.name[: -len(suffix)]
    return spot.name


def synthetic_reporter(rng: random.Random) -> Reporter:
    """A made-up name and an 11-digit mobile number."""
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    phone = rng.choice(_PHONE_HEADS) + f"{rng.randrange(10**8):08d}"
    return Reporter(name, phone)


def _weighted(rng: random.Random, mix: Mapping[K, float]) -> K:
    keys = list(mix)
    return rng.choices(keys, weights=[mix[k] for k in keys])[0]


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """How the report feed behaves."""

    tag: str  # part of every source_id: one tag + serial is one report, idempotently
    repeat_share: float = 0.15  # first calls that bring 1-4 more callers
    malformed_share: float = 0.02
    hot_spot_share: float = 0.7  # the rest fall on villages anywhere
    rhythm: bool = True  # False: a flat rate (a load generator wants the rate it asked for)


class ReportFeed:
    """Draws reports: arrivals at a rhythm-shaped rate, repeats, malformed entries."""

    def __init__(
        self,
        spots: Sequence[HotSpot],
        settings: FeedSettings,
        rng: random.Random,
        start: datetime | None = None,
    ) -> None:
        """`spots` from sim_places.hot_spots; `rng` is the feed's own.

        `start` is when arrivals begin (default: the first `due` call), so the arrivals of
        a seed do not shift with the moment the first tick happens to run.
        """
        if not spots:
            raise ValueError("the report feed needs at least one hot spot")
        self._rng = rng
        self._settings = settings
        self._hot = [s for s in spots if s.kind is not SpotKind.VILLAGE] or list(spots)
        self._villages = [s for s in spots if s.kind is SpotKind.VILLAGE] or list(spots)
        self._serial = 0
        self._repeats: list[tuple[datetime, int, Draft]] = []
        self._next_arrival: datetime | None = start

    def _source_id(self) -> str:
        self._serial += 1
        return f"sim-{self._settings.tag}-{self._serial:08d}"

    def due(self, sim_now: datetime, rate_per_sim_second: float) -> list[Draft]:
        """Every report whose simulated time has come, in time order.

        Arrivals are a Poisson process thinned by `intensity`, so the rate follows the day
        and the week; `rate_per_sim_second` is the weekly mean. Zero means no arrivals
        (scheduled repeat calls still come).
        """
        out: list[Draft] = []
        if rate_per_sim_second > 0:
            peak_share = PEAK_INTENSITY if self._settings.rhythm else 1.0
            peak = rate_per_sim_second * peak_share
            if self._next_arrival is None:
                self._next_arrival = sim_now
            while self._next_arrival <= sim_now:
                at = self._next_arrival
                share = intensity(at) if self._settings.rhythm else 1.0
                if self._rng.random() < share / peak_share:
                    out.extend(self._arrival(at))
                self._next_arrival = at + timedelta(seconds=self._rng.expovariate(peak))
        else:
            self._next_arrival = None
        while self._repeats and self._repeats[0][0] <= sim_now:
            out.append(heapq.heappop(self._repeats)[2])
        out.sort(key=lambda d: d.sim_at)
        return out

    def _arrival(self, at: datetime) -> list[Draft]:
        if self._rng.random() < self._settings.malformed_share:
            return [self.malformed(at)]
        return [self.first_call(at)]

    def pick_spot(self) -> HotSpot:
        """A hot spot (by weight) most of the time, else any village."""
        pool = self._hot if self._rng.random() < self._settings.hot_spot_share else self._villages
        return self._rng.choices(pool, weights=[s.weight for s in pool])[0]

    def first_call(
        self, at: datetime, spot: HotSpot | None = None, *, callers: bool = True
    ) -> Draft:
        """A new event's first report; may schedule repeat callers about it."""
        spot = spot or self.pick_spot()
        category = _weighted(self._rng, _CATEGORY_MIX[spot.kind])
        channel = _weighted(self._rng, _CHANNEL_MIX[category])
        severity, template = self._rng.choice(_SUMMARIES[category])
        sub_place = self._rng.choice(_SPOT_PLACES[spot.kind])
        address = f"{place_name(spot)}{sub_place}"
        lon, lat = scatter(spot.lon, spot.lat, spot.radius_m, self._rng)
        source_id = self._source_id()
        draft = Draft(
            source_id=source_id,
            kind=DraftKind.FIRST,
            channel=channel,
            category=category,
            summary=template.format(place=address, n=self._rng.randint(3, 9)),
            lon=lon,
            lat=lat,
            address=address,
            sim_at=at,
            severity=severity,
            reporter=self._reporter_for(channel),
            event_key=source_id,
        )
        if callers and self._rng.random() < self._settings.repeat_share:
            self._schedule_repeats(draft)
        return draft

    def _reporter_for(self, channel: Channel) -> Reporter | None:
        if channel in _CITIZEN_CHANNELS and self._rng.random() < 0.85:
            return synthetic_reporter(self._rng)
        return None

    def _schedule_repeats(self, first: Draft) -> None:
        for _ in range(self._rng.randint(1, 4)):
            after = timedelta(seconds=self._rng.uniform(20, REPEAT_WITHIN.total_seconds()))
            channel = self._rng.choice((first.channel, Channel.POLICE_110, Channel.HOTLINE_12345))
            lon, lat = scatter(first.lon, first.lat, REPEAT_RADIUS_M, self._rng)
            repeat = replace(
                first,
                source_id=self._source_id(),
                kind=DraftKind.REPEAT,
                channel=channel,
                lon=lon,
                lat=lat,
                sim_at=first.sim_at + after,
                reporter=self._reporter_for(channel),
            )
            heapq.heappush(self._repeats, (repeat.sim_at, self._serial, repeat))

    def malformed(self, at: datetime) -> Draft:
        """A report that breaks the contract in one of the ways intake must dead-letter."""
        base = replace(self.first_call(at, callers=False), kind=DraftKind.MALFORMED)
        return replace(base, malformed=self._rng.choice(list(Malformed)))

    def discovery(self, at: datetime, lon: float, lat: float, address: str) -> Draft:
        """What a grid worker on the round reports from where they stand (channel grid)."""
        category, severity, template = self._rng.choice(_DISCOVERIES)
        source_id = self._source_id()
        return Draft(
            source_id=source_id,
            kind=DraftKind.DISCOVERY,
            channel=Channel.GRID,
            category=category,
            summary=template.format(place=address),
            lon=round(lon, 6),
            lat=round(lat, 6),
            address=address,
            sim_at=at,
            severity=severity,
            event_key=source_id,
        )

    def scenario_call(
        self,
        at: datetime,
        spot: HotSpot,
        channel: Channel,
        category: Category,
        severity: int,
        summary: str,
        event_key: str,
        radius_m: float,
    ) -> Draft:
        """One report of a scenario's burst: given what, near the scenario's place."""
        lon, lat = scatter(spot.lon, spot.lat, radius_m, self._rng)
        return Draft(
            source_id=self._source_id(),
            kind=DraftKind.SCENARIO,
            channel=channel,
            category=category,
            summary=summary,
            lon=lon,
            lat=lat,
            address=place_name(spot),
            sim_at=at,
            severity=severity,
            reporter=self._reporter_for(channel),
            event_key=event_key,
        )


def document(draft: Draft, stamped_at: datetime) -> dict[str, Any]:
    """The intake/1 document of a well-formed draft, reported at `stamped_at`."""
    out: dict[str, Any] = {
        "schema": "intake/1",
        "source_id": draft.source_id,
        "channel": draft.channel.value,
        "category": draft.category.value,
        "summary": draft.summary,
        "location": {"lon": draft.lon, "lat": draft.lat, "address": draft.address},
        "reported_at": stamped_at.astimezone(CHINA).isoformat(timespec="seconds"),
    }
    if draft.severity is not None:
        out["severity"] = draft.severity
    if draft.reporter is not None:
        out["reporter"] = {"name": draft.reporter.name, "phone": draft.reporter.phone}
    return out


def encode(draft: Draft, stamped_at: datetime) -> bytes:
    """The bytes of the intake entry's `data` field (broken on purpose for malformed drafts)."""
    doc = document(draft, stamped_at)
    match draft.malformed:
        case None:
            pass
        case Malformed.WRONG_SCHEMA:
            doc["schema"] = "intake/0"
        case Malformed.MISSING_FIELD:
            del doc["location"]
        case Malformed.BAD_TIME:
            doc["reported_at"] = stamped_at.strftime("%Y/%m/%d %H:%M")  # no offset, not RFC 3339
        case Malformed.SEVERITY_OUT_OF_RANGE:
            doc["severity"] = 7
        case Malformed.INVALID_JSON:
            raw = json.dumps(doc, ensure_ascii=False).encode("utf-8")
            return raw[: math.ceil(len(raw) * 0.6)]  # cut off mid-document, as a dropped line
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
