"""The case panel's later actions and 周边: which are offered, why not, and what the lists say."""

from __future__ import annotations

from datetime import timedelta

from dashboard.commands import build, errors_of
from dashboard.panels.row_moves import parse_row, row_move
from dashboard.presenters.around import (
    distance_words,
    nearest_units,
    seeing_cameras,
    with_etas,
)
from dashboard.presenters.case_panel import action_states, stand_down_actions, unlink_actions
from incidents.access import Decision
from incidents.camera_defence import CameraSight
from incidents.case import Location
from incidents.commands import Dispatch, LinkReports, RequestForces, StandDown
from incidents.lifecycle import Move
from incidents.units import UnitRecord, UnitStatus, UnitType, make_unit
from incidents.vocabulary import Step
from tests.unit.lifecycle_fixtures import T0, Driver, drive_to, new_case, report, unit

ALLOWED = Decision(True)
ANALYST = Decision(False, "your role may not act on cases")
ZH = "zh-CN"


def _why(driver: Driver, actor: str = "duty-a") -> dict[Move, str]:
    return {s.move: s.why_not for s in action_states(driver.case, ALLOWED, actor, ZH, driver.now)}


def test_merge_is_offered_before_dispatch_and_more_forces_only_once_units_are_out() -> None:
    """合并 at intake and report, 请求增援 at dispatch and handling; elsewhere the step says no."""
    intake = _why(new_case())
    assert intake[Move.MERGE_INTO] == ""
    assert intake[Move.REQUEST_FORCES] == "当前环节（统一受理）不允许此操作"
    dispatched = _why(drive_to(new_case(), Step.DISPATCH))
    assert dispatched[Move.REQUEST_FORCES] == ""
    assert dispatched[Move.MERGE_INTO] == "当前环节（指挥派遣）不允许此操作"


def test_each_unit_out_on_the_case_may_be_stood_down_and_the_role_refusal_shows() -> None:
    """撤回 per active assignment; an analyst sees it disabled with the role's words."""
    driver = drive_to(new_case(), Step.DISPATCH)
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-2"),)))
    actions = stand_down_actions(driver.case, ALLOWED, "duty-a", ZH, driver.now)
    assert {a.key for a in actions.values()} == {"car-1", "car-2"}
    assert all(a.why_not == "" and a.label == "撤回力量" for a in actions.values())
    refused = stand_down_actions(driver.case, ANALYST, "ana", ZH, driver.now)
    assert {a.why_not for a in refused.values()} == {"您的角色无权处置事件"}
    driver.do(StandDown(actor="duty-a", reason="警力调整", unit_id="car-2"))
    after = stand_down_actions(driver.case, ALLOWED, "duty-a", ZH, driver.now)
    assert [a.key for a in after.values()] == ["car-1"]


def test_a_linked_report_may_be_split_off_but_not_the_one_that_opened_the_case() -> None:
    """拆分 per report: the opening report disabled with the lifecycle's reason in words."""
    driver = new_case()
    later = report("12345-20261126-000202", reported_at=T0 + timedelta(minutes=3))
    driver.do(LinkReports(actor="duty-a", reports=(later,)))
    ids = [driver.case.source_id, later.source_id]
    actions = unlink_actions(driver.case, ids, ALLOWED, "duty-a", ZH, driver.now)
    assert actions[driver.case.source_id].why_not == "首报报告不能拆分"
    assert actions[later.source_id].why_not == ""
    english = unlink_actions(driver.case, ids, ALLOWED, "duty-a", "en", driver.now)
    assert english[driver.case.source_id].why_not == (
        "the report that opened the case cannot be split off"
    )


def test_the_dialogs_of_the_new_actions_name_what_is_missing_next_to_the_field() -> None:
    """Stand-down needs a reason, more forces a 'needed' text, a merge a case number."""
    assert build(Move.STAND_DOWN, {"unit": "car-1"}, "duty-a", ZH).errors == {
        "reason": "请填写原因"
    }
    stood = build(Move.STAND_DOWN, {"unit": "car-1", "reason": " 已处置 "}, "duty-a", ZH)
    assert stood.command == StandDown(actor="duty-a", reason="已处置", unit_id="car-1")
    assert build(Move.REQUEST_FORCES, {"needed": "  "}, "duty-a", ZH).errors == {
        "needed": "请说明需要什么力量"
    }
    asked = build(Move.REQUEST_FORCES, {"needed": "消防车一辆", "unit": ""}, "duty-a", ZH)
    assert asked.command == RequestForces(actor="duty-a", needed="消防车一辆", unit_id=None)
    assert errors_of(Move.MERGE_INTO, {"target": ""}, ZH) == {"target": "请填写要合并到的事件编号"}
    assert errors_of(Move.MERGE_INTO, {"target": "320118-20261126-0001"}, ZH) == {}
    assert errors_of(Move.UNLINK_REPORT, {}, ZH) == {"reason": "请填写原因"}


def test_a_row_buttons_move_name_carries_any_id_whole() -> None:
    """Ids with colons, quotes or Chinese survive the button's move name."""
    name = row_move(Move.UNLINK_REPORT, 'web:"x"：1', "老街")
    assert parse_row(name) == (Move.UNLINK_REPORT, 'web:"x"：1', "老街")
    assert parse_row("dispatch:[]") is None and parse_row("accept") is None


def _record(unit_id: str, status: UnitStatus = UnitStatus.AVAILABLE) -> UnitRecord:
    unit_ = make_unit(unit_id, unit_id, UnitType.PATROL_CAR, "320118001", f"{unit_id}号车")
    return UnitRecord(unit_, "320118001", status, T0)


def test_around_lists_the_nearest_units_busy_ones_too_and_leaves_out_unplaced_ones() -> None:
    """Nearest first by straight line; a busy unit is flagged; no position, not listed."""
    here = Location(118.8747, 31.3246)
    records = [
        _record("far"),
        _record("busy", UnitStatus.ON_SCENE),
        _record("near"),
        _record("nowhere"),
    ]
    positions = {
        "far": (118.8947, 31.3246, T0),
        "busy": (118.8767, 31.3246, T0),
        "near": (118.8750, 31.3246, T0),
    }
    rows = nearest_units(here.lon, here.lat, records, positions, ZH, limit=2)
    assert [r.unit_id for r in rows] == ["near", "busy"]
    assert rows[0].type_words == "巡逻警车" and rows[0].status_words == "可派遣"
    assert rows[1].busy and rows[1].status_words == "在现场"
    assert 25 < rows[0].distance_m < 35
    timed = with_etas(rows, {"busy": 170.0}, ZH)
    assert timed[0].eta_words == "" and timed[1].eta_words == "车程约3分钟"
    assert distance_words(rows[0].distance_m, ZH) == "28 米"
    assert distance_words(1840, "en") == "1.8 km"


def test_around_says_each_cameras_status_and_marks_the_ones_that_do_not_work() -> None:
    """Online, fault and never-heard-from cameras, in words; only working ones unmarked."""
    town = "320118001000"
    sights = [
        CameraSight("32011800001320000001", "老街口", "point", town, 20.0, 90, 60, "online"),
        CameraSight("32011800001320000002", "桥头", "line", town, 40.0, 90, 60, "fault"),
        CameraSight("32011800001320000003", "村口", "area", town, 60.0, 90, 60, None),
    ]
    rows = seeing_cameras(sights, ZH)
    assert [(r.status_words, r.down) for r in rows] == [
        ("在线", False),
        ("故障", True),
        ("状态未知", True),
    ]
    assert seeing_cameras(sights, "en", limit=1)[0].status_words == "online"
