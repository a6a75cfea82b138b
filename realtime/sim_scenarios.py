"""Scenarios on demand: a burst of related, escalating reports and camera alarms at one place.

Each is written so that the case it forms would trigger its emergency plan: a chemical
leak is safety_production then emergency with 危化品/泄漏 in the text, a polder flood is
emergency with 圩区/漫堤, a crowd is mass_incident. Reports come from several channels
within metres of each other, so they merge into one case that escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from incidents.vocabulary import Category, Channel
from realtime.sim_cameras import CameraNetwork, CameraOut
from realtime.sim_places import HotSpot, SpotKind
from realtime.sim_reports import Draft, ReportFeed


class Scenario(StrEnum):
    """The scenarios `--scenario` accepts."""

    CHEMICAL_LEAK = "chemical-leak"
    POLDER_FLOOD = "polder-flood"
    CROWD = "crowd"


@dataclass(frozen=True, slots=True)
class Call:
    """One report of a scenario: minutes after the start, how, what, how severe."""

    minute: float
    channel: Channel
    category: Category
    severity: int
    summary: str


@dataclass(frozen=True, slots=True)
class CameraCall:
    """A camera alarm of a scenario."""

    minute: float
    kind: str
    severity: int
    summary: str


@dataclass(frozen=True, slots=True)
class ScenarioItem:
    """Something a running scenario sends, at a simulated moment."""

    sim_at: datetime
    draft: Draft | None = None
    camera: CameraOut | None = None


_SCRIPTS: dict[Scenario, tuple[Sequence[Call], Sequence[CameraCall]]] = {
    Scenario.CHEMICAL_LEAK: (
        (
            Call(
                0,
                Channel.GRID,
                Category.SAFETY_PRODUCTION,
                3,
                "{p}厂区内有刺鼻气味，疑似危化品泄漏",
            ),
            Call(
                2,
                Channel.POLICE_110,
                Category.SAFETY_PRODUCTION,
                2,
                "{p}危化品储罐泄漏，有黄色烟雾飘出",
            ),
            Call(
                3,
                Channel.HOTLINE_12345,
                Category.SAFETY_PRODUCTION,
                2,
                "{p}附近闻到刺鼻气味，担心化学品泄漏",
            ),
            Call(
                5,
                Channel.POLICE_110,
                Category.EMERGENCY,
                1,
                "{p}危化品泄漏，多名工人头晕呕吐，需紧急疏散",
            ),
            Call(6, Channel.SOS, Category.EMERGENCY, 1, "{p}一键求助：泄漏气体扩散，有人晕倒"),
            Call(
                8,
                Channel.POLICE_110,
                Category.SAFETY_PRODUCTION,
                1,
                "{p}泄漏点未控制，气味向居民区扩散",
            ),
            Call(
                11,
                Channel.HOTLINE_12345,
                Category.EMERGENCY,
                2,
                "{p}周边居民询问是否需要撤离，危化品泄漏",
            ),
        ),
        (
            CameraCall(4, "smoke", 2, "{p}监控画面出现黄色烟雾，疑似危化品泄漏"),
            CameraCall(9, "smoke", 1, "{p}监控画面烟雾扩散"),
        ),
    ),
    Scenario.POLDER_FLOOD: (
        (
            Call(0, Channel.GRID, Category.EMERGENCY, 3, "{p}圩堤出现渗水，外河水位持续上涨"),
            Call(3, Channel.POLICE_110, Category.EMERGENCY, 2, "{p}圩区堤坝漫堤，圩内农田被淹"),
            Call(5, Channel.HOTLINE_12345, Category.EMERGENCY, 2, "{p}圩区进水，道路被淹无法通行"),
            Call(7, Channel.SOS, Category.EMERGENCY, 1, "{p}一键求助：圩区漫堤，老人被困家中"),
            Call(9, Channel.POLICE_110, Category.EMERGENCY, 1, "{p}漫堤处出现决口，需紧急转移群众"),
            Call(
                12,
                Channel.GRID,
                Category.EMERGENCY,
                1,
                "{p}网格员报告：圩区漫堤险情扩大，已组织村民撤离",
            ),
        ),
        (
            CameraCall(4, "flood", 2, "{p}监控画面显示圩堤漫水"),
            CameraCall(10, "flood", 1, "{p}监控画面显示圩内大面积积水"),
        ),
    ),
    Scenario.CROWD: (
        (
            Call(
                0,
                Channel.POLICE_110,
                Category.MASS_INCIDENT,
                3,
                "{p}聚集约三十人，情绪激动，讨要说法",
            ),
            Call(
                3,
                Channel.HOTLINE_12345,
                Category.MASS_INCIDENT,
                2,
                "{p}聚集人员增至百余人，堵塞道路",
            ),
            Call(5, Channel.GRID, Category.MASS_INCIDENT, 2, "{p}网格员报告：群体聚集，有人拉横幅"),
            Call(
                7,
                Channel.POLICE_110,
                Category.MASS_INCIDENT,
                1,
                "{p}聚集人群与工作人员发生推搡冲突",
            ),
            Call(
                10, Channel.POLICE_110, Category.MASS_INCIDENT, 1, "{p}群体性事件升级，现场秩序失控"
            ),
        ),
        (
            CameraCall(2, "crowd", 3, "{p}监控点位检测到人员聚集"),
            CameraCall(8, "crowd", 1, "{p}监控点位检测到大规模人员聚集"),
        ),
    ),
}
SCENARIO_RADIUS_M = 60.0


def scenario_place(scenario: Scenario, spots: Sequence[HotSpot]) -> HotSpot:
    """Where a scenario happens: a chemical plant, a polder, the busiest market or the seat."""
    wanted = {
        Scenario.CHEMICAL_LEAK: (SpotKind.INDUSTRIAL,),
        Scenario.POLDER_FLOOD: (SpotKind.POLDER,),
        Scenario.CROWD: (SpotKind.COUNTY_SEAT, SpotKind.MARKET),
    }[scenario]
    candidates = [s for s in spots if s.kind in wanted]
    if scenario is Scenario.CHEMICAL_LEAK:
        # A plant rather than the whole park, when the pack has one.
        candidates = [s for s in candidates if "化工" in s.name] or candidates
    if not candidates:
        raise ValueError(f"the county pack has no place for the {scenario} scenario")
    return candidates[0]


def scenario_items(
    scenario: Scenario,
    start: datetime,
    spots: Sequence[HotSpot],
    feed: ReportFeed,
    cameras: CameraNetwork,
) -> list[ScenarioItem]:
    """Everything a scenario sends, in time order, from its start."""
    place = scenario_place(scenario, spots)
    calls, camera_calls = _SCRIPTS[scenario]
    event_key = f"scenario:{scenario}:{start.isoformat()}"
    items: list[ScenarioItem] = []
    for call in calls:
        at = start + timedelta(minutes=call.minute)
        draft = feed.scenario_call(
            at,
            place,
            call.channel,
            call.category,
            call.severity,
            call.summary.format(p=place.name),
            event_key,
            SCENARIO_RADIUS_M,
        )
        items.append(ScenarioItem(at, draft=draft))
    near = cameras.nearest(place.lon, place.lat, len(camera_calls))
    for camera, alarm_call in zip(near, camera_calls, strict=False):
        at = start + timedelta(minutes=alarm_call.minute)
        alarm = cameras.alarm(
            camera.code,
            alarm_call.kind,
            alarm_call.summary.format(p=place.name),
            alarm_call.severity,
        )
        items.append(ScenarioItem(at, camera=alarm))
    items.sort(key=lambda item: item.sim_at)
    return items
