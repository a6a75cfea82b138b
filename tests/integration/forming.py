"""Accepting reports and turning them into cases the way intake does, for tests that need cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from incidents.reports import AcceptedReport
from incidents.store.case_store import Conn, PendingEvent
from incidents.store.intake_store import form_pending
from incidents.store.pending_reports import receive_reports
from realtime.ingest import Locate, accept_at
from realtime.intake_contract import IntakeReport


async def form_reports(conn: Conn, reports: Sequence[AcceptedReport]) -> list[PendingEvent]:
    """Store reports as an ingest worker does, then form every pending one (unpublished)."""
    await receive_reports(conn, reports)
    events: list[PendingEvent] = []
    while (formed := await form_pending(conn, 1000)).taken:
        events.extend(formed.events)
    return events


def accept(report: IntakeReport, locate: Locate, received_at: datetime) -> AcceptedReport:
    """A valid intake report, located, as an ingest worker accepts it."""
    return accept_at(report, locate(report.location.lon, report.location.lat), received_at)
