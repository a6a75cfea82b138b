"""Lock-out with back-off for every credential a caller presents: passwords, terminal and
display tokens.

Each key ('user:<name>', 'terminal:<id>', 'display', 'addr:<address>') counts its failures in
a window; reaching the key's limit locks it for a while that doubles with each lock-out, up to
a cap, and is forgotten after a quiet day. Attempts on a key are serialised by a transaction
advisory lock, so parallel guesses cannot all slip in before the failure that locks them out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

import msgspec

from incidents.store.case_store import Conn

# Advisory-lock class for lock-out keys (two-int form, apart from the migrator's bigint lock).
_LOCK_CLASS: Final = 320_118_008
# Longest address part of a key (an IPv6 address with a zone fits).
ADDRESS_LIMIT: Final = 64


class LockoutRules(msgspec.Struct, frozen=True):
    """How many failed attempts lock a key out, and for how long."""

    max_failures: int = 5  # per account, terminal or display key
    max_address_failures: int = 20  # per source address (key 'addr:<address>')
    window_seconds: int = 900  # failures older than this (since the first) no longer count
    base_lock_seconds: int = 60  # the first lock-out; each later one doubles it
    max_lock_seconds: int = 3600
    # A key's lock-out count is forgotten this long after its last lock ended, so an account
    # attacked again next week starts at the base lock, not at the cap.
    forget_after_seconds: int = 86_400

    def __post_init__(self) -> None:
        """Refuse rules that would never lock or never unlock."""
        values = (
            self.max_failures,
            self.max_address_failures,
            self.window_seconds,
            self.base_lock_seconds,
            self.max_lock_seconds,
            self.forget_after_seconds,
        )
        if min(values) < 1 or self.max_lock_seconds < self.base_lock_seconds:
            raise ValueError(f"lock-out rules out of range: {self}")


DEFAULT_LOCKOUT: Final = LockoutRules()


class _Counter(msgspec.Struct):
    """One key's state, as read and as it will be written."""

    key: str
    failures: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0

    def seconds_locked(self, now: datetime) -> int:
        """Whole seconds until the lock ends (0 when not locked)."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def fail(self, now: datetime, limit: int, rules: LockoutRules) -> int:
        """Count one failure; the seconds of the lock it starts, or 0."""
        window = timedelta(seconds=rules.window_seconds)
        forget = timedelta(seconds=rules.forget_after_seconds)
        # The first failure of a quiet spell opens a new window; older failures no longer count.
        first = self.first_failure_at
        if self.failures == 0 or first is None or now - first >= window:
            self.failures, self.first_failure_at = 1, now
        else:
            self.failures += 1
        if self.locked_until is not None and now - self.locked_until >= forget:
            self.lockouts = 0
        if self.failures < limit:
            return 0
        # Doubled for each earlier lock-out; the shift is bounded so the number stays small.
        doubled = rules.base_lock_seconds << min(self.lockouts, 32)
        seconds = min(doubled, rules.max_lock_seconds)
        self.locked_until = now + timedelta(seconds=seconds)
        self.lockouts += 1
        # After the lock comes a full set of tries again, then a lock twice as long.
        self.failures, self.first_failure_at = 0, now
        return seconds


def address_key(source_address: str) -> str:
    """The key of a source address."""
    return "addr:" + source_address[:ADDRESS_LIMIT]


def key_kind(key: str) -> str:
    """How a key shows in the audit trail: its kind, never the name or token behind it."""
    kind = key.split(":", 1)[0]
    return {"user": "account", "addr": "address"}.get(kind, kind)


class Gate:
    """The counters of one attempt's keys, locked for the caller's transaction."""

    def __init__(
        self,
        conn: Conn,
        counters: dict[str, _Counter],
        limits: Mapping[str, int],
        rules: LockoutRules,
        now: datetime,
    ) -> None:
        self._conn = conn
        self._counters = counters
        self._limits = limits
        self._rules = rules
        self._now = now

    def locked(self) -> dict[str, int]:
        """The keys that are locked now, with the seconds each lock has left."""
        waits = {key: c.seconds_locked(self._now) for key, c in self._counters.items()}
        return {key: wait for key, wait in waits.items() if wait}

    def locked_words(self) -> str:
        """Which kinds of key are locked, for the audit trail."""
        return ", ".join(key_kind(key) for key in self.locked())

    async def fail(self) -> dict[str, int]:
        """Count a failure on every key; the locks it starts (key → seconds, 0 if none)."""
        started = {
            key: self._counters[key].fail(self._now, limit, self._rules)
            for key, limit in self._limits.items()
        }
        await _save(self._conn, self._counters.values())
        return started

    async def clear(self, key: str) -> None:
        """A success on `key`: its failures go, its lock-out count stays (attacks keep doubling)."""
        await self._conn.execute(
            "UPDATE login_failures SET failures = 0 WHERE key = $1 AND failures > 0", key
        )


def started_words(started: Mapping[str, int]) -> list[str]:
    """The locks an attempt started, for the audit trail."""
    return [f"{key_kind(key)} locked {s} s" for key, s in started.items() if s]


async def gate(
    conn: Conn, limits: Mapping[str, int], now: datetime, rules: LockoutRules = DEFAULT_LOCKOUT
) -> Gate:
    """Lock and read the keys of one attempt; the caller must be inside a transaction."""
    # A fixed order of advisory locks: two attempts sharing keys cannot deadlock.
    for key in sorted(limits):
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, key)
    rows = await conn.fetch(
        "SELECT key, failures, first_failure_at, locked_until, lockouts"
        " FROM login_failures WHERE key = ANY($1::text[])",
        list(limits),
    )
    counters = {key: _Counter(key) for key in limits}
    for row in rows:
        counters[row["key"]] = _Counter(
            row["key"],
            row["failures"],
            row["first_failure_at"],
            row["locked_until"],
            row["lockouts"],
        )
    return Gate(conn, counters, limits, rules, now)


async def _save(conn: Conn, counters: Iterable[_Counter]) -> None:
    """Write counters back (the caller holds their advisory locks)."""
    await conn.executemany(
        "INSERT INTO login_failures (key, failures, first_failure_at, locked_until, lockouts)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures,"
        " first_failure_at = EXCLUDED.first_failure_at, locked_until = EXCLUDED.locked_until,"
        " lockouts = EXCLUDED.lockouts",
        [(c.key, c.failures, c.first_failure_at, c.locked_until, c.lockouts) for c in counters],
    )
