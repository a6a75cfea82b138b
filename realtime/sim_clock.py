"""The simulator's clock: simulated time runs `speed` times faster than the wall clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_SPEED = 60.0


@dataclass(frozen=True, slots=True)
class SimClock:
    """Maps wall seconds (a monotonic reading) to simulated datetimes and back.

    `sim_start` is the simulated moment at wall reading `wall_start`; nothing here reads a
    clock, so the mapping is exact and testable.
    """

    sim_start: datetime
    wall_start: float
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.sim_start.tzinfo is None:
            raise ValueError("sim_start must carry a time zone")
        if not 1.0 <= self.speed <= MAX_SPEED:
            raise ValueError(f"speed must be between 1 and {MAX_SPEED:g}, got {self.speed:g}")

    def sim_at(self, wall: float) -> datetime:
        """The simulated moment at a wall reading."""
        return self.sim_start + timedelta(seconds=(wall - self.wall_start) * self.speed)

    def wall_at(self, sim: datetime) -> float:
        """The wall reading at which a simulated moment happens."""
        return self.wall_start + (sim - self.sim_start).total_seconds() / self.speed

    def wall_seconds(self, sim_seconds: float) -> float:
        """How long a simulated span lasts on the wall clock."""
        return sim_seconds / self.speed
