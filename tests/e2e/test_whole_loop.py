"""The whole six-step loop done by people on the real stack, watched live by a second console
and the wall: a report arrives, the duty officer accepts it and sends the recommended unit,
the (simulated) unit acknowledges, arrives and reports back on its terminal, a different
officer verifies, the case is evaluated and archived. An illegal action is refused with its
reason, and another township's coordinator never sees the case."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis
from playwright.sync_api import Page, expect

from geo.pack import load_demo_pack
from incidents.store.unit_store import unit_records
from incidents.units import UnitType
from realtime.sim_fleet import issue_simulator_terminals
from realtime.sim_units import ALWAYS, FleetUnit
from realtime.simulator import SimConfig, run_simulation
from realtime.streams import StreamNames
from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.e2e.test_case_panel import confirm, move_button, open_panel, queue_row, why_not
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

CASE_AT = (118.8747, 31.3246)  # 淳溪街道, 高淳老街
LIVE_MS = 5_000  # what every other screen must show within; the measured delays are printed


class SimulatedUnit:
    """One patrol car of the stored fleet, driven by the simulator on its terminal."""

    def __init__(self, stack: RunningStack) -> None:
        self._stack = stack
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._run: Any = None
        self.unit_id = ""

    def start(self) -> str:
        """Issue the car's terminal and put it on the road near the case; its unit id."""
        self._run = asyncio.run_coroutine_threadsafe(self._simulate(), self._loop)
        for _ in range(200):
            if self.unit_id:
                return self.unit_id
            time.sleep(0.05)
        raise TimeoutError("the simulated unit did not start")

    async def _simulate(self) -> Any:
        env = self._stack.env
        conn = await asyncpg.connect(env["DATABASE_URL"])
        try:
            records = await unit_records(conn)
            car = next(
                r.unit
                for r in records
                if r.unit.type is UnitType.PATROL_CAR and r.township_code == "320118001000"
            )
            unit = FleetUnit(
                car.unit_id,
                car.type.value,
                car.home_code,
                CASE_AT[0] + 0.006,
                CASE_AT[1],
                (ALWAYS,),
            )
            tokens = await issue_simulator_terminals(conn, [unit], "system:test", datetime.now(UTC))
        finally:
            await conn.close()
        config = SimConfig(
            seed=5,
            speed=60,
            rate=0,
            cameras=0,
            gateway_url=f"ws://127.0.0.1:{self._stack.ws_port}/live",
            tick_seconds=0.1,
            on_scene_scale=0.05,
        )
        self._stop = asyncio.Event()
        client = aioredis.Redis.from_url(env["REDIS_URL"])
        self.unit_id = car.unit_id
        try:
            return await run_simulation(
                config,
                self._stop,
                redis=client,
                names=StreamNames(self._stack.stream_prefix),
                pack=load_demo_pack(),
                fleet=[unit],
                credentials=tokens,
            )
        finally:
            await client.aclose()

    def stop(self) -> Any:
        """Stop the simulator; what it did."""
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        stats = self._run.result(timeout=30) if self._run is not None else None
        self._loop.call_soon_threadsafe(self._loop.stop)
        return stats


def console(
    chromium: Any, stack: RunningStack, path: str = "/", frames: list[str] | None = None, **who: str
) -> Page:
    """A signed-in screen at 1920×1080 in zh-CN; `frames` collects what its socket receives."""
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page: Page = context.new_page()
    if frames is not None:
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    sign_in(page, stack, **who)
    page.goto(stack.base_url + path)
    return page


def step_of(page: Page, summary: str) -> Any:
    """The step cell of the case's queue row (its words, e.g. 发现上报)."""
    return queue_row(page, summary).locator('[col-id="step"]')


def test_the_whole_loop_by_people_seen_live_everywhere(shift_stack: RunningStack) -> None:
    """Intake → report → dispatch → feedback → verification → archive, through the screens."""
    stack = shift_stack
    unit = SimulatedUnit(stack)
    unit_id = unit.start()
    delays: dict[str, list[float]] = {}

    try:
        with browser() as chromium:
            frames: list[str] = []  # what the other console's socket receives
            duty = console(chromium, stack)
            other = console(chromium, stack, frames=frames)
            wall = console(chromium, stack, "/wall", role="county_director")
            yangjiang = console(
                chromium, stack, role="township_coordinator", jurisdiction="320118101000"
            )
            pages = (duty, other, wall, yangjiang)
            outside = [fence(p) for p in pages]
            watched = [page_errors(p) for p in pages]
            for p in (duty, other, yangjiang):
                p.wait_for_selector("#link-status.live", timeout=15_000)
            wall.wait_for_selector("#wall-link.live", timeout=15_000)
            # The car reports its position before the call comes in, so it can be recommended.
            duty.locator(f'path.unit-marker[data-unit-id="{unit_id}"]').wait_for(
                state="attached", timeout=15_000
            )

            summary = f"老街商铺门口两人争执推搡 {uuid.uuid4().hex[:6]}"
            client = redis.Redis.from_url(stack.env["REDIS_URL"])
            report = {
                "schema": "intake/1",
                "source_id": f"loop-{uuid.uuid4().hex}",
                "channel": "110",
                "category": "public_security",
                "summary": summary,
                "location": {"lon": CASE_AT[0], "lat": CASE_AT[1], "address": "淳溪街道 高淳老街"},
                "reported_at": datetime.now(UTC).isoformat(),
                "severity": 3,
                "reporter": {"name": "王先生", "phone": "13951234567"},
            }
            sent = time.monotonic()
            client.xadd(stack.stream_prefix + "intake", {"data": json.dumps(report)})
            client.close()
            row = queue_row(duty, summary)
            row.wait_for(timeout=LIVE_MS)
            case_id = int(row.get_attribute("row-id") or 0)
            wall_row = wall.locator(f'li.case-row[data-case-id="{case_id}"]').first

            def everywhere(step_words: str, since: float) -> None:
                """Both consoles and the wall show the step; the delays are kept."""
                for name, cell in (
                    ("duty", step_of(duty, summary)),
                    ("other", step_of(other, summary)),
                    ("wall", wall_row.locator(".step")),
                ):
                    expect(cell).to_have_text(step_words, timeout=LIVE_MS)
                    delays[f"{step_words} @{name}"] = [round(time.monotonic() - since, 2)]
                assert queue_row(yangjiang, summary).count() == 0, "another township sees it"

            everywhere("统一受理", sent)
            open_panel(duty, case_id)
            confirm(duty, "accept")
            everywhere("发现上报", time.monotonic())
            # The other screens were sent what the accept changed, not the whole case again.
            accepted = [f for f in frames if '"case.accepted"' in f]
            assert accepted and all(len(f.encode()) < 400 for f in accepted), accepted
            assert summary not in accepted[0] and '"changes"' in accepted[0]

            recommended = duty.locator("#case-panel ul.dispatch li.unit").first
            expect(recommended).to_be_visible(timeout=LIVE_MS)
            recommended.locator("button.send").click()
            duty.click("#case-panel-confirm")
            everywhere("指挥派遣", time.monotonic())

            # The car acknowledges, drives there, arrives and reports back on its terminal.
            dispatched = time.monotonic()
            for page in (duty, other):
                expect(step_of(page, summary)).to_have_text("任务核查", timeout=90_000)
            delays["unit round trip"] = [round(time.monotonic() - dispatched, 1)]

            # The duty officer's open panel followed the unit's events by itself (no reload):
            # archiving before verification is refused there, and the reason said in words.
            expect(move_button(duty, "evaluate_and_archive")).to_be_disabled(timeout=LIVE_MS)
            expect(why_not(duty, "evaluate_and_archive")).to_contain_text("任务核查")
            expect(duty.locator("#case-panel-live-notice")).to_contain_text(f"unit:{unit_id}")

            open_panel(other, case_id)
            expect(move_button(other, "verify_pass")).to_be_enabled(timeout=LIVE_MS)
            confirm(other, "verify_pass")
            everywhere("评价归档", time.monotonic())
            # The duty officer's open panel says who changed the case, and reloads by itself.
            verifier = other.evaluate("window.pinganLive.cfg.user")
            expect(duty.locator("#case-panel-live-notice")).to_contain_text(verifier)
            expect(move_button(duty, "evaluate_and_archive")).to_be_visible(timeout=LIVE_MS)

            move_button(other, "evaluate_and_archive").click()
            other.locator('#case-panel-satisfaction input[value="satisfied"]').check()
            archived = time.monotonic()
            other.click("#case-panel-confirm")
            for page in (duty, other):
                expect(queue_row(page, summary)).to_have_count(0, timeout=LIVE_MS)
            expect(wall_row).to_have_count(0, timeout=LIVE_MS)
            delays["archived"] = [round(time.monotonic() - archived, 2)]
            assert queue_row(yangjiang, summary).count() == 0
            assert "13951234567" not in wall.content()
            assert all(o == [] for o in outside), outside
            assert all(e == [] for e in watched), watched
    finally:
        stats = unit.stop()
    print("seen on every screen after (s):", json.dumps(delays, ensure_ascii=False))
    assert stats is not None and stats.tasks_answered == {unit_id: [case_id]}
