"""The event outbox: committed events that still have to go out on the events stream."""

from __future__ import annotations

from collections.abc import Sequence

from incidents.store.case_store import Conn, PendingEvent, with_event_id


async def mark_published(conn: Conn, event_ids: Sequence[int]) -> None:
    """Drop the outbox rows of these events (all events of each commit) once they are out."""
    if event_ids:
        await conn.execute(
            "DELETE FROM event_outbox WHERE first_event_id = ANY($1::bigint[])", event_ids
        )


async def claim_unpublished(
    conn: Conn, older_than_seconds: float, limit: int = 20
) -> list[PendingEvent]:
    """Events a crashed writer committed but never published (older than the grace period).

    `limit` counts commits (outbox rows), not events; the events come in log order.
    """
    rows = await conn.fetch(
        "SELECT event_ids, payloads FROM event_outbox"
        " WHERE created_at < now() - make_interval(secs => $1)"
        " ORDER BY first_event_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        older_than_seconds,
        limit,
    )
    return [
        PendingEvent(event_id, with_event_id(event_id, payload))
        for row in rows
        for event_id, payload in zip(row["event_ids"], row["payloads"], strict=True)
    ]
