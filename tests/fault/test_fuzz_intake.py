"""100,000 fuzzed intake entries against a real worker process: all rejected, none stop it."""

from __future__ import annotations

import json
import random
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.intake_contract import IntakeRejected, decode_intake
from realtime.streams import StreamNames
from tests.fault.processes import (
    books,
    pending,
    report_documents,
    settle,
    stop_gently,
    worker_env,
    worker_processes,
)

pytestmark = pytest.mark.integration

TOTAL = 100_000
VALID = 2_000
HYPOTHESIS_BATCHES = 300
HYPOTHESIS_BATCH = 40

_VALID_FIELDS: dict[str, Any] = {
    "schema": "intake/1",
    "source_id": "fuzz",
    "channel": "110",
    "category": "fire",
    "summary": "老街一民房起火",
    "location": {"lon": 118.88, "lat": 31.33, "address": "老街"},
    "reported_at": "2026-11-26T10:00:00+08:00",
    "severity": 2,
    "reporter": {"name": "王先生", "phone": "13900000000"},
}

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _mutated_document(draw: st.DrawFn) -> dict[str, Any]:
    """The valid shape with each field kept, dropped or replaced by junk, plus strays."""
    document: dict[str, Any] = {}
    for name, value in _VALID_FIELDS.items():
        choice = draw(st.sampled_from(("keep", "keep", "drop", "junk")))
        if choice == "keep":
            document[name] = value
        elif choice == "junk":
            document[name] = draw(_json_values)
    if draw(st.booleans()):
        document[draw(st.text(min_size=1, max_size=10))] = draw(_json_values)
    document["source_id"] = draw(st.text(max_size=140) | _json_values)
    return document


_fuzzed_entry = st.one_of(
    _mutated_document().map(lambda d: {b"data": _dumps(d)}),
    _json_values.map(lambda v: {b"data": _dumps(v)}),
    st.binary(max_size=300).map(lambda b: {b"data": b}),
    st.dictionaries(st.binary(min_size=1, max_size=8), st.binary(max_size=40), min_size=1),
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def hypothesis_entries() -> list[dict[bytes, bytes]]:
    """Entries Hypothesis generates (deterministically: derandomized, no example database)."""
    collected: list[dict[bytes, bytes]] = []

    @settings(
        max_examples=HYPOTHESIS_BATCHES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(_fuzzed_entry, min_size=HYPOTHESIS_BATCH, max_size=HYPOTHESIS_BATCH))
    def collect(batch: list[dict[bytes, bytes]]) -> None:
        collected.extend(batch)

    collect()
    return collected


def random_entries(rng: random.Random, count: int, valid: list[bytes]) -> list[dict[bytes, bytes]]:
    """Random bytes, truncations and byte flips of valid documents, odd field maps."""
    out: list[dict[bytes, bytes]] = []
    for _ in range(count):
        kind = rng.randrange(5)
        base = rng.choice(valid)
        if kind == 0:
            data = rng.randbytes(rng.randrange(0, 200))
        elif kind == 1:
            data = base[: rng.randrange(len(base))]
        elif kind == 2:
            flipped = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            data = bytes(flipped)
        elif kind == 3:
            out.append({b"data": base, b"extra": rng.randbytes(4)})
            continue
        else:
            data = base.replace(b'"channel": "', b'"channel": "x', 1) + rng.randbytes(2)
        out.append({b"data": data})
    return out


def expected_verdict(fields: dict[bytes, bytes]) -> str | None:
    """The source_id a valid entry must land under, or None when it must be dead-lettered."""
    try:
        return decode_intake(fields).source_id
    except IntakeRejected:
        return None


async def test_hundred_thousand_fuzzed_entries_are_rejected_and_valid_ones_land(
    servers: tuple[str, str],
    database_url: str,
    pool: asyncpg.Pool,
    names: StreamNames,
    redis: aioredis.Redis,
) -> None:
    """Every fuzzed entry is dead-lettered with a reason; the valid ones among them land."""
    rng = random.Random(100_000)
    valid = report_documents(VALID, "fuzz-valid")
    entries: list[dict[bytes, bytes]] = [{b"data": doc} for doc in valid]
    entries += hypothesis_entries()
    entries += random_entries(rng, TOTAL - len(entries), valid)
    rng.shuffle(entries)
    assert len(entries) == TOTAL

    verdicts = [expected_verdict(fields) for fields in entries]
    should_land = {v for v in verdicts if v is not None}
    assert len(should_land) >= VALID

    env = worker_env(servers[0], database_url, names, PINGAN_INGEST_BATCH_SIZE="500")
    with worker_processes(env, ["fuzz-worker"]) as (worker,):
        ids: list[bytes] = []
        for start in range(0, TOTAL, 2000):
            async with redis.pipeline(transaction=False) as pipe:
                for fields in entries[start : start + 2000]:
                    pipe.xadd(names.intake, fields)  # type: ignore[arg-type]
                ids.extend(await pipe.execute())
        await settle(redis, pool, names, len(should_land), within=120)
        assert worker.poll() is None, "the worker stopped on bad input: " + stop_gently(worker)

    expected_dead = {entry_id for entry_id, v in zip(ids, verdicts, strict=True) if v is None}
    dead_ids: list[bytes] = []
    last = "-"
    while True:
        chunk: Any = await redis.xrange(names.intake_dead, min=last, count=10_000)
        chunk = chunk[1:] if last != "-" else chunk
        if not chunk:
            break
        for _, fields in chunk:
            assert fields[b"reason"], "every dead letter says why"
            dead_ids.append(fields[b"entry_id"])
        last = chunk[-1][0].decode()
    assert len(dead_ids) == len(set(dead_ids)), "an entry was dead-lettered twice"
    assert set(dead_ids) == expected_dead

    async with pool.acquire() as conn:
        stored = {r["source_id"] for r in await conn.fetch("SELECT source_id FROM case_reports")}
    assert stored == should_land
    cases, reports, outbox = await books(pool)
    assert reports == len(should_land)
    assert 0 < cases <= reports
    assert outbox == 0
    assert await pending(redis, names) == 0
