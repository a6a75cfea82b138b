"""What screens are sent of a case event: what changed, not the whole case (screen_form)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import msgspec

from incidents.views import CaseView, view_changes
from realtime.fanout import Client, Viewer, catch_up, fan_out
from realtime.screen_form import screen_event

CHUNXI = "320118001000"
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
VIEW = CaseView(
    id=42, case_no="320118-20261203-0042", channel="110", category="dispute", severity=3,
    summary="楼下有人争吵" * 20, address="淳溪街道 宝塔路", lon=118.87, lat=31.32,
    inside_county=True, township_code=CHUNXI, township_name="淳溪街道",
    village_code=None, village_name=None, grid_code=None, step="intake", status="open",
    owning_tier="county", owner=None, report_count=1, deadline_at=AT + timedelta(hours=1),
    version=1, reported_at=AT, opened_at=AT,
)  # fmt: skip


def stream_entry(changes: dict[str, object] | None, **event: object) -> bytes:
    """An events-stream entry as the case store publishes it."""
    document: dict[str, object] = {
        "event_id": 7, "schema": "event/1", "type": "case.accepted", "case_id": 42,
        "case_no": VIEW.case_no, "seq": 2, "version": 2, "at": "2026-12-03T09:01:00Z",
        "actor": "duty.county", "reason": None, "step_before": "intake", "step_after": "dispatch",
        **event, "case": msgspec.to_builtins(VIEW),
    }  # fmt: skip
    if changes is not None:
        document["changes"] = changes
    return json.dumps(document, ensure_ascii=False).encode()


def test_view_changes_names_exactly_the_fields_that_differ() -> None:
    """Accepting a case changes its step, owner and version: those, with their new values."""
    after = msgspec.structs.replace(VIEW, step="dispatch", owner="duty.county", version=2)
    assert view_changes(VIEW, after) == {"step": "dispatch", "owner": "duty.county", "version": 2}
    assert view_changes(VIEW, VIEW) == {}


def test_a_screen_gets_who_what_when_and_the_changed_fields_only() -> None:
    """The short form drops the case view and the envelope's other members."""
    entry = stream_entry({"step": "dispatch", "owner": "duty.county", "version": 2})
    short = json.loads(screen_event(entry))
    assert short == {
        "type": "case.accepted",
        "at": "2026-12-03T09:01:00Z",
        "actor": "duty.county",
        "case_id": 42,
        "changes": {"step": "dispatch", "owner": "duty.county", "version": 2},
    }
    assert len(screen_event(entry)) < 200 < len(entry) // 5


def test_a_case_new_to_the_screens_comes_with_its_whole_view_and_nothing_else() -> None:
    """No `changes` (an opened case): the whole `case`, not the event's own copy of the report."""
    entry = stream_entry(None, type="case.opened", summary=VIEW.summary, reporter={"name": "王**"})
    short = json.loads(screen_event(entry))
    assert set(short) == {"type", "at", "actor", "case_id", "case"}
    assert short["case"] == msgspec.to_builtins(VIEW)


def test_events_about_no_one_case_and_malformed_bytes_pass_unchanged() -> None:
    """Unit, camera and system events are read whole by screens; junk is left to the router."""
    unit = json.dumps({"type": "unit.status_changed", "unit_id": "car-1", "after": "busy"}).encode()
    for raw in (unit, b"{not json", b"[1,2]"):
        assert screen_event(raw) == raw


def test_screens_get_the_short_form_and_a_unit_terminal_the_whole_case() -> None:
    """Live fan-out and resume both: a terminal shows the case it is sent to."""
    entry = stream_entry({"version": 2}, unit_id="car-1")
    screen = Client(Viewer("320118"), batch=False, limit=10, live=True)
    terminal = Client(Viewer("", unit_id="car-1"), batch=False, limit=10, live=True)
    writes, _ = fan_out([screen, terminal], [("5-0", entry)], lambda _: True)
    sent = {w.clients[0].viewer.unit_id: json.loads(w.messages[0])["event"] for w in writes}
    assert "case" not in sent[None] and sent[None]["changes"] == {"version": 2}
    assert sent["car-1"]["case"]["summary"] == VIEW.summary
    for viewer, whole in ((Viewer("320118"), False), (Viewer("", unit_id="car-1"), True)):
        found = catch_up(viewer, "4-0", "1-0", [("5-0", entry)], replay_limit=10)
        assert found is not None
        event = json.loads(bytes(found[0].deltas[0].event))
        assert ("case" in event) is whole
