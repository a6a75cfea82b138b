"""What the case panel shows and offers, given a case: words, masking, actions and their reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from dashboard.commands import build
from dashboard.presenters.case_panel import (
    action_states,
    facts,
    masked_reporter,
    reason_words,
    reporter_words,
    stale_words,
    timeline_rows,
)
from dashboard.presenters.dispatch import dispatch_rows
from geo.recommend import Recommendation
from incidents.access import Decision, owned_elsewhere
from incidents.commands import Dispatch, EvaluateAndArchive, HandDown, Reject
from incidents.lifecycle import Move
from incidents.store.queries import CaseDetail, timeline_of
from incidents.units import UnitRecord, UnitStatus, UnitType, make_unit
from incidents.views import PlaceNames, case_view
from incidents.vocabulary import Step, Tier
from tests.unit.lifecycle_fixtures import T0, Driver, drive_to, new_case, unit

ALLOWED = Decision(True)
ZH = "zh-CN"


def _states(driver: Driver, actor: str, may: Decision = ALLOWED, lang: str = ZH) -> dict[Move, str]:
    states = action_states(driver.case, may, actor, lang, driver.now)
    return {state.move: state.why_not for state in states}


def _detail(driver: Driver) -> CaseDetail:
    view = case_view(driver.case, PlaceNames("淳溪街道", "南漪社区居委会"))
    return CaseDetail(view, timeline_of(driver.log), [], [])


def test_at_intake_accept_and_reject_are_offered_and_the_rest_say_why_not() -> None:
    states = _states(new_case(), "duty-a")
    assert states[Move.ACCEPT] == "" and states[Move.REJECT] == ""
    assert states[Move.ESCALATE] == "县级已是最高层级"
    assert states[Move.VERIFY_PASS] == "当前环节（统一受理）不允许此操作"
    assert states[Move.HAND_OVER] == "当前环节（统一受理）不允许此操作"


def test_a_township_case_may_be_escalated_and_handed_down_to_a_village() -> None:
    states = _states(new_case(owning_tier=Tier.TOWNSHIP), "town-a")
    assert states[Move.ESCALATE] == ""
    assert states[Move.HAND_DOWN] == ""


def test_only_the_owner_hands_over_and_a_handler_may_not_verify() -> None:
    driver = drive_to(new_case(), Step.REPORT)  # duty-a accepted: the owner
    assert _states(driver, "duty-b")[Move.HAND_OVER] == "只有首问责任人才能移交"
    assert _states(driver, "duty-a")[Move.HAND_OVER] == ""
    driver = drive_to(driver, Step.VERIFY)  # field-1 reported completion
    assert (
        _states(driver, "field-1")[Move.VERIFY_PASS] == "办理人不能核查自己办理的事件，须由他人核查"
    )
    assert _states(driver, "verifier")[Move.VERIFY_PASS] == ""
    assert _states(driver, "verifier")[Move.VERIFY_FAIL] == ""


def test_the_role_or_the_owner_refusal_shows_on_moves_the_lifecycle_allows() -> None:
    driver = new_case()
    analyst = _states(driver, "ana", Decision(False, "your role may not act on cases"))
    assert analyst[Move.ACCEPT] == "您的角色无权处置事件"
    # The lifecycle's reason comes first: it is true whoever asks.
    assert analyst[Move.VERIFY_PASS] == "当前环节（统一受理）不允许此操作"
    township = _states(driver, "town", Decision(False, owned_elsewhere("county")))
    assert township[Move.REJECT] == "该事件由县（区）办理，您只能查看"
    english = _states(driver, "town", Decision(False, owned_elsewhere("county")), "en")
    assert english[Move.REJECT] == "the case is owned by the county: you may only view it"


def test_an_archived_case_offers_nothing() -> None:
    driver = drive_to(new_case(), Step.ARCHIVE)
    driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=None, reason="联系不上报告人"))
    assert set(_states(driver, "duty-a").values()) == {"事件已结束"}


def test_the_timeline_says_who_did_what_and_why_in_words() -> None:
    driver = drive_to(new_case(), Step.REPORT)
    driver.do(HandDown(actor="duty-a", to_tier=Tier.TOWNSHIP, reason="属地化解"))
    driver = drive_to(driver, Step.ARCHIVE)
    rows = timeline_rows(timeline_of(driver.log), ZH)
    whats = [row.what for row in rows]
    assert whats[0] == "立案" and rows[0].who == "系统"
    assert whats[1] == "受理，成为首问责任人" and rows[1].who == "duty-a"
    assert whats[2] == "交办至乡镇（街道）；原因：属地化解"
    assert "派遣 car-1" in whats and "car-1 到场" in whats and "核查通过" in whats
    assert rows[0].at == "11-26 21:14"  # China time
    english = [row.what for row in timeline_rows(timeline_of(driver.log), "en")]
    assert english[2] == "Handed down to the township; Reason: 属地化解"


def test_the_timeline_names_units_where_their_names_are_known() -> None:
    """Acknowledge, arrival, feedback and stand-down carry only an id: the panel says the name."""
    driver = drive_to(new_case(), Step.ARCHIVE)
    named = [
        row.what for row in timeline_rows(timeline_of(driver.log), ZH, {"car-1": "淳溪巡逻1组"})
    ]
    assert "淳溪巡逻1组 签收" in named and "淳溪巡逻1组 到场" in named
    assert "淳溪巡逻1组 反馈：已调解" in named
    assert "car-1 到场" in [row.what for row in timeline_rows(timeline_of(driver.log), ZH)]


def test_the_panel_shows_the_reporter_masked_and_nowhere_in_full() -> None:
    detail = _detail(new_case())
    reporter = masked_reporter(detail)
    assert reporter_words(reporter, ZH) == "王** 139****4567"
    shown = " ".join(value for _, value in facts(detail.case, ZH))
    shown += " ".join(row.what for row in timeline_rows(detail.timeline, ZH))
    assert "13951234567" not in shown and "王先生" not in shown


def test_facts_name_the_place_step_and_owner() -> None:
    shown = dict(facts(_detail(drive_to(new_case(), Step.REPORT)).case, ZH))
    assert shown["位置"] == "淳溪街道 / 南漪社区居委会 / 320118001002-03"
    assert shown["环节"] == "发现上报"
    assert shown["首问责任人"] == "duty-a"
    assert shown["类别"] == "治安" and shown["等级"] == "Ⅱ级"


def test_a_stale_edit_names_who_and_when_in_china_time() -> None:
    at = datetime(2026, 11, 26, 13, 14, 5, tzinfo=UTC)
    assert stale_words("duty-b", at, ZH) == "此事件已被 duty-b 于 21:14 修改，请刷新"
    assert stale_words("duty-b", at, "en") == "This case was changed by duty-b at 21:14; reload it"


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("outside your jurisdiction", "不在您的辖区内"),
        ("your role may not reveal personal data", "您的角色无权查看个人信息"),
        ("a reason is required", "必须填写原因"),
        ("something new the rules say", "不符合办理规则（something new the rules say）"),
    ],
)
def test_refusals_read_in_chinese(reason: str, words: str) -> None:
    assert reason_words(reason, ZH) == words


def test_the_dialog_asks_for_what_each_move_needs_next_to_the_field() -> None:
    assert build(Move.REJECT, {"reason": "  "}, "duty-a", ZH).errors == {"reason": "请填写原因"}
    missing = build(Move.HAND_DOWN, {"reason": "属地"}, "duty-a", ZH).errors
    assert missing == {"to_tier": "请选择目标层级"}
    assert build(Move.HAND_DOWN, {"reason": "属地", "to_tier": "county"}, "d", ZH).errors
    unevaluated = build(Move.EVALUATE_AND_ARCHIVE, {}, "duty-a", ZH).errors
    assert unevaluated == {"reason": "未取得满意度评价时请填写原因"}
    made = build(Move.REJECT, {"reason": " 重复报警 "}, "duty-a", ZH).command
    assert made == Reject(actor="duty-a", reason="重复报警")
    down = build(Move.HAND_DOWN, {"reason": "属地", "to_tier": "village"}, "duty-a", ZH).command
    assert down == HandDown(actor="duty-a", reason="属地", to_tier=Tier.VILLAGE)


def _rec(unit_id: str, *, available: bool = True, same: bool = True) -> Recommendation:
    return Recommendation(unit_id, f"{unit_id}号车", 185.0, 1.94, False, same, "", available)


def _records(*busy: str) -> dict[str, UnitRecord]:
    out = {}
    for unit_id in ("car-1", "car-2"):
        unit = make_unit(unit_id, unit_id, UnitType.PATROL_CAR, "320118001", f"{unit_id}号车")
        status = UnitStatus.DISPATCHED if unit_id in busy else UnitStatus.AVAILABLE
        out[unit_id] = UnitRecord(unit, "320118001", status, T0)
    return out


def test_dispatch_rows_give_the_estimate_status_and_why_a_unit_cannot_be_sent() -> None:
    driver = drive_to(new_case(), Step.REPORT)
    rows = dispatch_rows(
        [_rec("car-2"), _rec("car-9", available=False)],
        _records(),
        driver.case,
        "duty-a",
        "",
        ZH,
        driver.now,
    )
    assert rows[0].rank == 1 and rows[0].why_not == "" and rows[0].status == "可派遣"
    assert rows[0].line.startswith("约 3 分钟 · 1.9 公里 · ")
    assert rows[0].reason == "本辖区"
    assert "须填写改派原因" in rows[1].reason and not rows[1].available
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-2"),)))
    again = dispatch_rows(
        [_rec("car-2")], _records("car-2"), driver.case, "duty-a", "", ZH, driver.now
    )
    assert again[0].why_not == "已在处置此事件" and again[0].status == "已派出"
    at_intake = new_case()
    early = dispatch_rows(
        [_rec("car-1")], _records(), at_intake.case, "duty-a", "", ZH, at_intake.now
    )
    assert early[0].why_not == "当前环节（统一受理）不允许此操作"
    refused = dispatch_rows(
        [_rec("car-1")], _records(), driver.case, "ana", "您的角色无权派遣力量", ZH, driver.now
    )
    assert refused[0].why_not == "您的角色无权派遣力量"


def test_plans_show_proposals_not_running_and_each_step_state() -> None:
    from datetime import timedelta

    from dashboard.presenters.plans import active_plans, proposals
    from incidents.plan_library import load_library
    from incidents.plans import PlanStatus, PlanStepView, PlanView, StepState

    fire = load_library()["residential-fire"]
    steps = (
        PlanStepView(1, "核实", "county_duty_officer", T0, StepState.DONE, False, T0, "duty-a"),
        PlanStepView(2, "调派", "county_duty_officer", T0, StepState.OVERDUE, True, None, None),
        PlanStepView(
            3, "疏散", "grid_worker", T0 + timedelta(hours=1), StepState.PENDING, False, None, None
        ),
    )
    view = PlanView(
        7,
        fire.plan_id,
        fire.name,
        42,
        "no",
        None,
        2,
        PlanStatus.ACTIVE,
        "duty-a",
        T0,
        None,
        steps,
        (),
    )
    assert proposals([fire], [view]) == []
    assert proposals([fire], []) == [(fire.plan_id, fire.name)]
    [shown] = active_plans([view], ZH)
    assert [s.state_words for s in shown.steps] == ["已完成", "已超时", "待办"]
    assert shown.steps[2].role == "网格员" and shown.steps[2].due == "11-26 22:14"
    assert shown.progress == "已完成 1/3 步" and shown.level_words == "Ⅱ级"
    assert shown.can_raise and shown.can_lower


def test_the_queue_csv_masks_sensitive_addresses_and_defuses_formulas() -> None:
    import csv
    import io

    from dashboard.presenters.exports import queue_csv
    from incidents.vocabulary import Category

    plain = _detail(new_case()).case
    petition = _detail(new_case(category=Category.PETITION, case_id=43)).case
    formula = msgspec.structs.replace(plain, summary='=HYPERLINK("http://x")', id=44)
    text_out = queue_csv([plain, petition, formula], ZH)
    assert text_out.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text_out.lstrip("\ufeff"))))
    assert rows[0][0] == "事件编号" and rows[0][-1] == "事件简述"
    assert rows[1][6] == "淳溪街道 高淳老街东段" and rows[1][1] == "治安"
    assert rows[2][6] != "淳溪街道 高淳老街东段" and "***" in rows[2][6]
    assert rows[3][-1].startswith("'=")
    assert "13951234567" not in text_out and "王" not in text_out.replace("王**", "")


def test_a_force_package_takes_the_best_available_of_each_type_and_says_what_is_short() -> None:
    from dashboard.presenters.dispatch import fill_package
    from incidents.plans import ForceRequest

    records = _records("car-2")
    engine = make_unit("fire-1", "fire-1", UnitType.FIRE_ENGINE, "320118", "消防1号")
    records["fire-1"] = UnitRecord(engine, None, UnitStatus.AVAILABLE, T0)
    ranked = [_rec("fire-1"), _rec("car-2", available=False), _rec("car-1")]
    driver = drive_to(new_case(), Step.REPORT)
    wanted = (ForceRequest("patrol_car", 2), ForceRequest("fire_engine", 2))
    filled = fill_package(wanted, ranked, records, driver.case)
    assert [(rec.unit_id, rank) for rec, rank in filled.picks] == [("car-1", 3), ("fire-1", 1)]
    assert filled.short == (("patrol_car", 1), ("fire_engine", 1))
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-1"),)))
    again = fill_package(wanted, ranked, records, driver.case)
    assert [rec.unit_id for rec, _ in again.picks] == ["fire-1"], "car-1 already counts"
