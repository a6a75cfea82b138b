"""The scheduled job of 限时办结: record missed deadlines and escalate once, one case at a time."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from incidents.deadlines import DeadlineWatch, cases_to_escalate
from incidents.lifecycle import IllegalMove
from incidents.store.service import CaseService, StaleCase

log = logging.getLogger(__name__)

# Only one worker scans at a time; the others skip the tick instead of racing for the orders.
_JOB_LOCK = 320_118_002

_DUE = """
SELECT id AS case_id, case_no, owning_tier, deadline_kind, deadline_at, deadline_warn_at,
       overdue_recorded
FROM cases
WHERE status = 'open' AND deadline_warn_at <= $1 AND deadline_at <= $1 AND NOT overdue_recorded
ORDER BY deadline_at
LIMIT $2
"""


async def escalate_overdue(
    pool: asyncpg.Pool, service: CaseService, now: datetime, limit: int = 500
) -> int:
    """Apply every due escalation order (most overdue first); return how many were applied."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK):
            return 0
        try:
            rows = await conn.fetch(_DUE, now, limit)
            orders = cases_to_escalate([DeadlineWatch(**dict(row)) for row in rows], now, limit)
            applied = 0
            for order in orders:
                try:
                    await service.execute(order.case_id, order.command, now=now)
                except (IllegalMove, StaleCase) as exc:
                    # The case moved on since the scan; the next tick sees its new deadline.
                    log.info("skipped escalation of %s: %s", order.case_no, exc)
                    continue
                applied += 1
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)
