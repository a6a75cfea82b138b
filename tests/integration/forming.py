"""Turning accepted reports into cases the way intake does, for tests that need cases."""

from __future__ import annotations

from collections.abc import Sequence

from incidents.reports import AcceptedReport
from incidents.store.case_store import Conn, PendingEvent
from incidents.store.intake_store import form_pending
from incidents.store.pending_reports import receive_reports


async def form_reports(conn: Conn, reports: Sequence[AcceptedReport]) -> list[PendingEvent]:
    """Store reports as an ingest worker does, then form every pending one (unpublished)."""
    await receive_reports(conn, reports)
    events: list[PendingEvent] = []
    while (formed := await form_pending(conn, 1000)).taken:
        events.extend(formed.events)
    return events
