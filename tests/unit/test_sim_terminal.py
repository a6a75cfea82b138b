"""The simulated terminal's protocol core: numbering, confirmation, resending, task events."""

from __future__ import annotations

from realtime.sim_terminal import TerminalOutbox, tasks_in, terminal_id_for
from realtime.sim_units import TaskOut, TaskStep
from realtime.terminals import Hello


def test_messages_are_numbered_confirmed_and_resent_after_a_gap() -> None:
    """Seq grows by one; accepted ones leave the outbox; a gap resends the rest in order."""
    outbox = TerminalOutbox()
    outbox.welcome(0)
    for step in (TaskStep.ACK, TaskStep.ARRIVAL):
        outbox.add(TaskOut("car-1", step, 42))
    outbox.add(TaskOut("car-1", TaskStep.FEEDBACK, 42, "已处置", True))
    assert [m["seq"] for m in outbox.pending] == [1, 2, 3]
    assert outbox.pending[2] == {
        "type": "feedback",
        "seq": 3,
        "case_id": 42,
        "text": "已处置",
        "completed": True,
    }
    assert outbox.answer("accepted", 1) == []
    assert [m["seq"] for m in outbox.answer("gap", 1)] == [2, 3]
    assert outbox.answer("duplicate", 3) == []
    assert outbox.pending == [] and outbox.confirmed_steps == [
        ("ack", 42),
        ("arrival", 42),
        ("feedback", 42),
    ]


def test_a_reconnect_resends_what_the_server_lacks_and_follows_an_older_terminal() -> None:
    """Welcome's last_seq confirms what arrived; a fresh outbox continues after it."""
    outbox = TerminalOutbox()
    assert outbox.welcome(0) == []
    outbox.add(TaskOut("car-1", TaskStep.ACK, 5))
    outbox.add(TaskOut("car-1", TaskStep.ARRIVAL, 5))
    assert [m["seq"] for m in outbox.welcome(1)] == [2]  # the link dropped after seq 1
    fresh = TerminalOutbox()
    fresh.add(TaskOut("car-1", TaskStep.ACK, 6))
    assert [m["seq"] for m in fresh.welcome(17)] == [18]
    assert fresh.add(TaskOut("car-1", TaskStep.ARRIVAL, 6))["seq"] == 19


def test_dispatches_for_the_unit_are_found_in_snapshots_and_deltas() -> None:
    """Tasks snapshot (dispatched only) and case.dispatched deltas naming this unit."""
    snapshot = {
        "type": "tasks",
        "tasks": [
            {"case_id": 1, "status": "dispatched", "lon": 118.9, "lat": 31.3, "category": "fire"},
            {"case_id": 2, "status": "arrived", "lon": 118.9, "lat": 31.3, "category": "fire"},
        ],
    }
    assert [t.case_id for t in tasks_in(snapshot, "car-1")] == [1]
    case = {"lon": 118.8, "lat": 31.2, "category": "dispute"}
    mine = {"type": "case.dispatched", "unit_id": "car-1", "case_id": 3, "case": case}
    other = {"type": "case.dispatched", "unit_id": "car-2", "case_id": 4, "case": case}
    accepted = {"type": "case.accepted", "case_id": 3, "case": case}
    deltas = {
        "type": "deltas",
        "deltas": [{"id": f"1-{n}", "event": e} for n, e in enumerate((mine, other, accepted))],
    }
    found = tasks_in(deltas, "car-1")
    assert [(t.case_id, t.lon, t.category) for t in found] == [(3, 118.8, "dispute")]
    assert tasks_in({"type": "positions", "units": []}, "car-1") == []


def test_terminal_ids_fit_the_protocol() -> None:
    """A simulated terminal id passes the hello validation."""
    hello = Hello(type="hello", terminal_id=terminal_id_for("hazmat-1"), token="x" * 16)
    assert hello.terminal_id == "sim-hazmat-1"
