"""What the watchdog calls stuck or gone, from the workers' heartbeats alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from realtime.heartbeat import WorkerHeartbeat
from realtime.watchdog import WatchSettings, stuck_components

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SETTINGS = WatchSettings(forming_stuck_after_seconds=60)


def beat(roles: list[str], waiting_since: datetime | None = None) -> WorkerHeartbeat:
    """A live process's heartbeat doing `roles`, its oldest unformed report since then."""
    return WorkerHeartbeat(
        consumer="-".join(roles), at=NOW, started_at=NOW, roles=roles, unformed_since=waiting_since
    )


def test_a_healthy_stack_is_not_degraded() -> None:
    """An intake worker and a former with a short backlog: nothing to show."""
    beats = [beat(["ingest"]), beat(["former"], NOW - timedelta(seconds=5))]
    assert stuck_components(beats, NOW, SETTINGS) == {}
    assert stuck_components([beat(["ingest", "former"])], NOW, SETTINGS) == {}


def test_no_former_or_no_intake_worker_is_degraded() -> None:
    """A missing process shows as its component, with a reason a duty officer can read."""
    assert set(stuck_components([beat(["ingest"])], NOW, SETTINGS)) == {"forming"}
    assert set(stuck_components([beat(["former"])], NOW, SETTINGS)) == {"intake"}
    assert set(stuck_components([], NOW, SETTINGS)) == {"forming", "intake"}


def test_a_former_that_falls_behind_is_stuck() -> None:
    """Reports waiting past the limit make forming degraded even though the former beats."""
    late = [beat(["ingest"]), beat(["former"], NOW - timedelta(seconds=61))]
    reasons = stuck_components(late, NOW, SETTINGS)
    assert set(reasons) == {"forming"} and "61 s" in reasons["forming"]
    on_time = [beat(["ingest"]), beat(["former"], NOW - timedelta(seconds=59))]
    assert stuck_components(on_time, NOW, SETTINGS) == {}
