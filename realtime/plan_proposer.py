"""Plan proposals: every new case (and every report linked to one) is matched against the plan
library, and matching plans are proposed on the case, once each.

A consumer group of its own (`plan_proposer`) on the events stream: a case is proposed its
plans after it was formed, without slowing the former. Proposals are idempotent (one row per
case and plan), and an entry is acknowledged only after its proposals committed, so a crash
or a redelivery proposes nothing twice and misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
import redis.asyncio as aioredis

from incidents.store.plan_service import PlanService
from realtime.group_reader import Entry, GroupReader
from realtime.outages import run_until_stopped
from realtime.streams import DATA_FIELD, PLAN_PROPOSER_GROUP, StreamNames

log = logging.getLogger(__name__)

# A new case, or a new report on one (its text may name what the first did not).
TRIGGERS = frozenset({"case.opened", "case.report_linked"})


class _CaseEvent(msgspec.Struct):
    type: str = ""
    case_id: int | None = None


_decoder = msgspec.json.Decoder(_CaseEvent)


def cases_to_match(entries: Sequence[Entry]) -> list[int]:
    """The cases a batch asks to match, in order, each once; unreadable entries are skipped."""
    found: dict[int, None] = {}
    for _, fields in entries:
        try:
            event = _decoder.decode(fields.get(DATA_FIELD, b""))
        except msgspec.MsgspecError:
            continue  # not ours to judge: the events stream's writers validated it
        if event.type in TRIGGERS and event.case_id is not None:
            found[event.case_id] = None
    return list(found)


@dataclass
class ProposerStats:
    """Counters for heartbeats and tests."""

    matched: int = 0
    proposed: int = 0


class PlanProposer:
    """One consumer of the `plan_proposer` group on the events stream."""

    def __init__(
        self,
        redis: aioredis.Redis,
        plans: PlanService,
        *,
        names: StreamNames,
        consumer: str,
        clock: Callable[[], datetime],
        block_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._plans = plans
        self._names = names
        self._clock = clock
        self._reader = GroupReader(
            redis, names.events, PLAN_PROPOSER_GROUP, consumer, batch_size=200, block_ms=block_ms
        )
        self.stats = ProposerStats()

    async def ensure_group(self) -> None:
        """Create the consumer group if missing."""
        await self._reader.ensure_group()

    async def process_once(self) -> int:
        """Match one batch's cases and acknowledge it; return the entries handled."""
        return await self._reader.process(self.handle_batch)

    async def handle_batch(self, entries: Sequence[Entry]) -> None:
        """Propose each case's matching plans, then acknowledge the whole batch."""
        for case_id in cases_to_match(entries):
            plan_ids = await self._plans.propose(case_id, now=self._clock())
            self.stats.matched += 1
            self.stats.proposed += len(plan_ids)
        if entries:
            await self._redis.xack(
                self._names.events, PLAN_PROPOSER_GROUP, *[e for e, _ in entries]
            )


async def run_plan_proposer(
    redis: aioredis.Redis,
    plans: PlanService,
    names: StreamNames,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    *,
    consumer: str = "proposer-1",
) -> None:
    """Propose plans for new cases until `stop`; outages back off and resume."""
    proposer = PlanProposer(redis, plans, names=names, consumer=consumer, clock=clock)

    async def step() -> None:
        await proposer.ensure_group()
        while not stop.is_set():
            await proposer.process_once()

    await run_until_stopped("plan proposer", step, stop)
