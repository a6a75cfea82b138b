"""The case panel's acts on two cases: merge this one into another, split a report off."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from dash import Dash

from dashboard.i18n import move_name, text
from dashboard.panels.case_outcome import Outcome, done, field_errors, refused
from dashboard.panels.case_reading import failure_words, read
from dashboard.presenters import case_panel as show
from dashboard.services import Services
from geo.locate import Locator
from geo.pack import load_demo_pack
from incidents.case import Jurisdiction
from incidents.lifecycle import IllegalMove, Move
from incidents.store import guarded
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller, Refused, TargetRefused
from incidents.store.service import StaleCase
from incidents.views import PlaceNames


@functools.cache
def _locator() -> Locator:
    # The composition root serves the demo pack (as dispatch's router does); built once.
    return Locator.from_pack(load_demo_pack())


def locate(lon: float, lat: float) -> tuple[Jurisdiction, PlaceNames]:
    """Where a report lies in the county, as the case it opens records it."""
    place = _locator().locate(lon, lat)
    jurisdiction = Jurisdiction(
        county_code=load_demo_pack().code,
        township_code=place.township_code,
        village_code=place.village_code,
        grid_code=place.grid_code,
        inside_county=place.inside,
    )
    return jurisdiction, PlaceNames(place.township_name, place.village_name)


async def merge(
    app: Dash,
    services: Services,
    conn: Conn,
    caller: Caller,
    case_id: int,
    target: str,
    reason: str,
    lang: str,
    now: datetime,
    state: dict[str, Any],
) -> Outcome:
    """合并: a number that names no case the caller may act on, or a target the lifecycle
    refuses, is said next to the number; anything else in the notice."""
    number = target.strip().upper()
    try:
        result = await guarded.merge(
            await services.cases_of(),
            conn,
            caller,
            case_id,
            number,
            now,
            reason or None,
            expected_version=int(state["version"]),
        )
    except TargetRefused as refusal:
        return field_errors(target=show.reason_words(refusal.reason, lang))
    except IllegalMove as illegal:
        if illegal.case_id != case_id or "itself" in illegal.why:
            words = show.reason_words(illegal.why, lang, illegal.step)
            return field_errors(target=text(lang, "panel_target_refuses").format(why=words))
        return refused(failure_words(illegal, Move.MERGE_INTO, lang))
    except (StaleCase, Refused) as failure:
        return refused(failure_words(failure, Move.MERGE_INTO, lang))
    notice = text(lang, "panel_merged_done").format(
        case_no=result.duplicate.case_no, target=result.target.case_no
    )
    content, new_state = await read(app, services, case_id, lang)
    return done(notice, "good", content, new_state)


async def unlink(
    app: Dash,
    services: Services,
    conn: Conn,
    caller: Caller,
    case_id: int,
    source_id: str,
    reason: str,
    lang: str,
    now: datetime,
    state: dict[str, Any],
) -> Outcome:
    """拆分: the report leaves the case and opens a case of its own."""
    try:
        result = await guarded.split(
            await services.cases_of(),
            conn,
            caller,
            case_id,
            source_id,
            reason,
            locate,
            now,
            expected_version=int(state["version"]),
        )
    except (StaleCase, IllegalMove, Refused) as failure:
        return refused(failure_words(failure, Move.UNLINK_REPORT, lang))
    notice = text(lang, "panel_split_done").format(
        move=move_name(lang, Move.UNLINK_REPORT), case_no=result.new_case.case_no
    )
    content, new_state = await read(app, services, case_id, lang)
    return done(notice, "good", content, new_state)
