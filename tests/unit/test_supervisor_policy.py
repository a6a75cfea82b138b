"""The supervisor's restart policy (pure)."""

from __future__ import annotations

from realtime.supervisor import RestartPolicy


def test_back_off_doubles_up_to_its_cap() -> None:
    """Delays double with each failure in a row and stop growing at the cap."""
    policy = RestartPolicy(first_delay_seconds=0.5, max_delay_seconds=4)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]
