"""Unit status, override, decision and roster rules: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.recommend import Capability
from geo.routing import TravelMode
from incidents.units import (
    DAY_SHIFT,
    NIGHT_SHIFT,
    OWN_REPORTS,
    UNIT_TYPES,
    ChangeCause,
    IllegalUnitMove,
    Roster,
    TaskReport,
    UnitNotAvailable,
    UnitRecord,
    UnitState,
    UnitStatus,
    UnitType,
    apply_roster,
    decide,
    dispatch,
    initial_state,
    make_unit,
    on_duty,
    on_task_report,
    recommendation_inputs,
    report,
    stand_down,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in China: the day shift
MIN = timedelta(minutes=1)


def fresh() -> UnitState:
    return initial_state("patrol-01-1", T0)


def dispatched(case_id: int = 7) -> UnitState:
    return dispatch(fresh(), case_id, T0, "duty-li")[0]


def test_every_unit_type_has_capabilities_a_mode_and_a_crew() -> None:
    """The ten types of the brief, each with defaults a recommendation can use."""
    assert set(UNIT_TYPES) == set(UnitType)
    assert all(spec.capabilities and spec.crew_size >= 1 for spec in UNIT_TYPES.values())
    assert UNIT_TYPES[UnitType.FIRE_ENGINE].capabilities >= {Capability.FIRE}
    assert UNIT_TYPES[UnitType.FOOT_PATROL].mode is TravelMode.FOOT
    unit = make_unit("amb-1", "急救01", UnitType.AMBULANCE, "320118", "救护车1号")
    assert unit.capabilities == {Capability.MEDICAL} and unit.mode is TravelMode.CAR


def test_an_available_unit_is_dispatched_with_the_rank_it_was_recommended_at() -> None:
    """Dispatch stamps the time, takes the case and records the recommendation followed."""
    state, change = dispatch(fresh(), 7, T0 + MIN, "duty-li", recommendation_rank=1)
    assert state.status is UnitStatus.DISPATCHED and state.case_id == 7
    assert state.dispatched_at == T0 + MIN and state.version == 2
    assert (change.before, change.after, change.cause) == (
        UnitStatus.AVAILABLE,
        UnitStatus.DISPATCHED,
        ChangeCause.DISPATCH,
    )
    assert change.recommendation_rank == 1 and not change.overridden


@pytest.mark.parametrize("status", [s for s in UnitStatus if s is not UnitStatus.AVAILABLE])
def test_a_unit_that_is_not_available_needs_an_override_reason(status: UnitStatus) -> None:
    """Without a reason (or a blank one) it is refused; with one, the override is recorded."""
    busy = UnitState("u", status, T0)
    for reason in (None, "", "   "):
        with pytest.raises(UnitNotAvailable):
            dispatch(busy, 9, T0, "duty-li", override_reason=reason)
    state, change = dispatch(busy, 9, T0, "duty-li", override_reason=" 唯一在附近 ")
    assert state.status is UnitStatus.DISPATCHED and state.case_id == 9
    assert change.overridden and change.reason == "唯一在附近" and change.before is status


def test_overriding_a_busy_unit_keeps_its_earlier_stamps() -> None:
    """The busy stamp survives the override: nothing is silently reset."""
    busy = report(fresh(), UnitStatus.BUSY, T0 + MIN, "unit:patrol-01-1")[0]
    state, _ = dispatch(busy, 9, T0 + 2 * MIN, "duty-li", override_reason="紧急")
    assert state.busy_at == T0 + MIN and state.available_at == T0


def test_a_rank_below_one_is_refused() -> None:
    """Recommendation ranks start at 1."""
    with pytest.raises(ValueError, match="rank"):
        dispatch(fresh(), 7, T0, "duty-li", recommendation_rank=0)


def test_the_unit_moves_along_its_task_by_its_own_reports() -> None:
    """Ack, arrival and completion move it; each milestone is stamped once, in order."""
    state = dispatched()
    actor = "unit:patrol-01-1"
    for n, what in enumerate(TaskReport, start=1):
        moved = on_task_report(state, what, 7, T0 + n * MIN, actor)
        assert moved is not None
        state = moved[0]
        assert moved[1].cause is ChangeCause.OWN_REPORT
    assert state.status is UnitStatus.RETURNING
    assert (state.en_route_at, state.on_scene_at, state.returning_at) == (
        T0 + MIN,
        T0 + 2 * MIN,
        T0 + 3 * MIN,
    )
    back, _ = report(state, UnitStatus.AVAILABLE, T0 + 4 * MIN, actor)
    assert back.status is UnitStatus.AVAILABLE and back.case_id is None


def test_a_report_on_another_case_or_out_of_order_does_not_move_the_unit() -> None:
    """Only the unit's current task moves it, and never backwards."""
    state = dispatched(case_id=7)
    assert on_task_report(state, TaskReport.ARRIVED, 8, T0, "unit:x") is None
    on_scene = on_task_report(state, TaskReport.ARRIVED, 7, T0, "unit:x")
    assert on_scene is not None
    assert on_task_report(on_scene[0], TaskReport.ACKNOWLEDGED, 7, T0, "unit:x") is None
    with pytest.raises(IllegalUnitMove, match="task is case #7"):
        report(state, UnitStatus.ON_SCENE, T0, "unit:x", case_id=8)


@given(st.sampled_from(list(UnitStatus)), st.sampled_from(list(UnitStatus)))
def test_own_reports_follow_the_table(before: UnitStatus, after: UnitStatus) -> None:
    """A unit's report is accepted exactly where OWN_REPORTS allows it."""
    state = UnitState("u", before, T0)
    allowed = after in OWN_REPORTS and before in OWN_REPORTS[after]
    if allowed:
        assert report(state, after, T0, "unit:u")[0].status is after
    else:
        with pytest.raises(IllegalUnitMove):
            report(state, after, T0, "unit:u")


def test_a_unit_on_a_task_is_not_available_until_it_says_so_or_someone_decides() -> None:
    """Available from on scene or dispatched: not by itself; by a decision with a reason."""
    state = dispatched()
    with pytest.raises(IllegalUnitMove):
        report(state, UnitStatus.AVAILABLE, T0, "unit:patrol-01-1")
    for reason in (None, " "):
        with pytest.raises(IllegalUnitMove, match="without a reason"):
            decide(state, UnitStatus.AVAILABLE, T0, "duty-li", reason)
    freed, change = decide(state, UnitStatus.AVAILABLE, T0, "duty-li", "误派，已撤回")
    assert freed.status is UnitStatus.AVAILABLE
    assert (change.cause, change.actor, change.reason) == (
        ChangeCause.DECISION,
        "duty-li",
        "误派，已撤回",
    )


def test_a_decision_cannot_dispatch_or_repeat_the_status() -> None:
    """Dispatching goes through dispatch (with its case); a no-op decision is refused."""
    with pytest.raises(IllegalUnitMove, match="dispatch it"):
        decide(fresh(), UnitStatus.DISPATCHED, T0, "duty-li", "x")
    with pytest.raises(IllegalUnitMove, match="already"):
        decide(fresh(), UnitStatus.AVAILABLE, T0, "duty-li", "x")


def test_changes_cannot_go_back_in_time() -> None:
    """A change stamped before the unit's last one is refused."""
    with pytest.raises(IllegalUnitMove, match="before its last change"):
        dispatch(fresh(), 7, T0 - MIN, "duty-li")


def test_standing_down_sends_the_unit_back_only_from_its_task() -> None:
    """撤回 of the unit's own case makes it returning; another case leaves it alone."""
    state = dispatched(case_id=7)
    assert stand_down(state, 8, T0, "duty-li", "另有任务") is None
    moved = stand_down(state, 7, T0, "duty-li", "另有任务")
    assert moved is not None and moved[0].status is UnitStatus.RETURNING
    with pytest.raises(IllegalUnitMove):
        stand_down(state, 7, T0, "duty-li", None)


def test_shifts_in_china_time_including_the_one_across_midnight() -> None:
    """Day 08–20 and night 20–08 (China time) cover every instant exactly once."""
    roster_day = Roster("u", (DAY_SHIFT,))
    roster_night = Roster("u", (NIGHT_SHIFT,))
    for hour in range(24):
        at = datetime(2026, 12, 1, hour, 30, tzinfo=UTC)
        local_hour = (hour + 8) % 24
        assert on_duty(roster_day, at) is (8 <= local_hour < 20)
        assert on_duty(roster_night, at) is not on_duty(roster_day, at)
    assert not on_duty(Roster("u", ()), T0)
    at = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 01:00 China, 2 December
    assert NIGHT_SHIFT.started(at) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_roster_takes_only_idle_units_off_duty_and_back() -> None:
    """Off at night, on in the day, each a recorded roster change; a unit on a task stays."""
    night = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 22:00 China
    roster = Roster("patrol-01-1", (DAY_SHIFT,))
    off = apply_roster(fresh(), roster, night)
    assert off is not None and off[0].status is UnitStatus.OFF_DUTY
    assert (off[1].cause, off[1].actor) == (ChangeCause.ROSTER, "system:roster")
    assert apply_roster(off[0], roster, night) is None
    on = apply_roster(off[0], roster, night + timedelta(hours=12))
    assert on is not None and on[0].status is UnitStatus.AVAILABLE
    assert apply_roster(dispatched(), roster, night) is None
    with pytest.raises(ValueError, match="roster of"):
        apply_roster(fresh(), Roster("other", (DAY_SHIFT,)), night)


def test_only_units_with_a_position_are_ranked_and_busy_ones_say_so() -> None:
    """The store's records plus Redis fixes become recommendation inputs with statuses."""
    unit = make_unit("patrol-01-1", "淳溪巡01", UnitType.PATROL_CAR, "320118001000", "巡逻车1号")
    other = make_unit("patrol-01-2", "淳溪巡02", UnitType.PATROL_CAR, "320118001000", "巡逻车2号")
    records = [
        UnitRecord(unit, "320118001000", UnitStatus.ON_SCENE, T0),
        UnitRecord(other, "320118001000", UnitStatus.AVAILABLE, T0),
    ]
    [position] = recommendation_inputs(records, {"patrol-01-1": (118.9, 31.3, T0)})
    assert position.unit_id == "patrol-01-1" and not position.available
    assert position.status == "on_scene" and position.mode is TravelMode.CAR
