"""The wall screen on the real stack: what a wall and a director see, live, with no personal
data; an overdue case flashes on every wall until a duty officer acknowledges it; a lost link
shows how old the data is and the wall recovers by itself; screenshots at 1080p and 4K."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import redis
from playwright.sync_api import BrowserContext, Page

from incidents.store.accounts import DISPLAY_COOKIE, create_display_token
from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

COUNTY = "320118000000"
REPORTER_NAME, REPORTER_PHONE = "王先生", "13951234567"
ANIMATION = "n => getComputedStyle(n).animationName"


def _in_store(stack: RunningStack, work: object) -> object:
    async def run() -> object:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"])
        try:
            return await work(conn)  # type: ignore[operator]
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def display_token(stack: RunningStack, jurisdiction: str = COUNTY) -> str:
    """A wall-screen token for `jurisdiction`, issued in the stack's store."""

    async def issue(conn: asyncpg.Connection) -> str:
        return await create_display_token(conn, "大屏", jurisdiction, "e2e", datetime.now(UTC))

    return str(_in_store(stack, issue))


def put_report(
    stack: RunningStack,
    *,
    hours_ago: float = 0.0,
    severity: int = 2,
    where: tuple[float, float] = (118.8747, 31.3246),  # 淳溪街道
) -> str:
    """A report on the intake stream (with a reporter's name and phone); its source id."""
    source_id = f"e2e-wall-{uuid.uuid4().hex}"
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    document = {
        "schema": "intake/1",
        "source_id": source_id,
        "channel": "110",
        "category": "dispute",
        "summary": "邻里纠纷，双方争吵",
        "location": {"lon": where[0] + (hash(source_id) % 100) / 5000, "lat": where[1]},
        "reported_at": at.isoformat(),
        "severity": severity,
        "reporter": {"name": REPORTER_NAME, "phone": REPORTER_PHONE},
    }
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        client.xadd(stack.stream_prefix + "intake", {"data": json.dumps(document)})
    finally:
        client.close()
    return source_id


def case_no_of(stack: RunningStack, source_id: str) -> str:
    """The case number the report became (waits for the worker)."""

    async def find(conn: asyncpg.Connection) -> str:
        for _ in range(200):
            found = await conn.fetchval(
                "SELECT c.case_no FROM case_reports r JOIN cases c ON c.id = r.case_id"
                " WHERE r.source_id = $1",
                source_id,
            )
            if found:
                return str(found)
            await asyncio.sleep(0.1)
        raise AssertionError(f"report {source_id} never became a case")

    return str(_in_store(stack, find))


def make_overdue(stack: RunningStack, case_no: str, minutes: int = 20) -> None:
    """Put the case's deadline `minutes` in the past (as if its time ran out meanwhile)."""

    async def late(conn: asyncpg.Connection) -> None:
        await conn.execute(
            "UPDATE cases SET deadline_at = now() - make_interval(mins => $2) WHERE case_no = $1",
            case_no,
            minutes,
        )

    _in_store(stack, late)


class Watched:
    """A wall page with its console errors, outside requests and socket frames recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.frames: list[str] = []
        self.outside = fence(page)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        self.frames.append(payload if isinstance(payload, str) else payload.decode())

    def assert_clean(self) -> None:
        """No console error, no outside request, no reporter's name or phone anywhere."""
        assert self.errors == []
        assert self.outside == []
        seen = self.page.content() + "".join(self.frames)
        assert REPORTER_NAME not in seen and REPORTER_PHONE not in seen


def wall_context(chromium: object, stack: RunningStack, width: int, height: int) -> BrowserContext:
    context: BrowserContext = chromium.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": height}, locale="zh-CN"
    )
    return context


def test_a_display_and_a_director_see_the_live_wall_without_personal_data(
    wall_stack: RunningStack,
) -> None:
    """Token form → /wall, live; a new report shows on the map and list and in the pushed
    figures; the director's wall too; no outside request, no error, no reporter data."""
    stack = wall_stack
    token = display_token(stack)
    with browser() as chromium:
        wall = Watched(wall_context(chromium, stack, 1920, 1080).new_page())
        wall.page.goto(stack.base_url + "/display")
        wall.page.fill("#token", token)
        wall.page.click("button[type=submit]")
        wall.page.wait_for_selector("#wall-link.live", timeout=15_000)
        assert wall.page.url.startswith(stack.base_url + "/wall")
        wall.page.goto(stack.base_url + "/")
        assert "/wall" in wall.page.url, "a wall screen's only page is the wall"
        wall.page.wait_for_selector("#wall-link.live", timeout=15_000)

        director = Watched(wall_context(chromium, stack, 1920, 1080).new_page())
        sign_in(director.page, stack, role="county_director")
        director.page.goto(stack.base_url + "/wall")
        director.page.wait_for_selector("#wall-link.live", timeout=15_000)

        before = int(wall.page.inner_text("#wall-today"))
        case_no = case_no_of(stack, put_report(stack, severity=1))
        for watched in (wall, director):
            page = watched.page
            page.wait_for_selector(f"circle.case.sev-1[data-case-no='{case_no}']", timeout=15_000)
            page.wait_for_selector(f"#wall-newest [data-case-no='{case_no}']", timeout=15_000)
            # The figures come from the server's KPI job, pushed: today's count goes up.
            page.wait_for_function(
                "n => Number(document.getElementById('wall-today').textContent) > n",
                arg=before,
                timeout=15_000,
            )
            assert page.locator("#wall-forces .bar").count() >= 1, "units by status shown"
            assert "待命" in page.inner_text("#wall-forces")
            watched.assert_clean()
        assert "综合指挥大屏" in wall.page.title()
        assert "高淳" in wall.page.title() or "高淳" in wall.page.inner_text("h1")

        township = Watched(wall_context(chromium, stack, 1920, 1080).new_page())
        township.page.context.add_cookies(
            [
                {
                    "name": DISPLAY_COOKIE,
                    "value": display_token(stack, "320118101000"),
                    "url": stack.base_url,
                }
            ]
        )
        township.page.goto(stack.base_url + "/wall")
        township.page.wait_for_selector("#wall-link.live", timeout=15_000)
        assert "阳江镇" in township.page.inner_text("h1")
        assert township.page.locator("path.township").count() == 1, "its own township's map"
        assert township.page.locator(f"[data-case-no='{case_no}']").count() == 0
        township.assert_clean()


def test_an_overdue_case_flashes_on_every_wall_until_a_console_acknowledges_it(
    wall_stack: RunningStack,
) -> None:
    """Two walls flash the overdue case (its deadline passed before they opened: the snapshot
    brings it); a duty officer acknowledges it on /overdue; both
    walls stop flashing it without a reload, and a reloaded wall keeps it acknowledged."""
    stack = wall_stack
    token = display_token(stack)
    case_no = case_no_of(stack, put_report(stack, severity=2))
    make_overdue(stack, case_no)
    with browser() as chromium:
        walls = []
        for _ in range(2):
            context = wall_context(chromium, stack, 1920, 1080)
            context.add_cookies([{"name": DISPLAY_COOKIE, "value": token, "url": stack.base_url}])
            watched = Watched(context.new_page())
            watched.page.goto(stack.base_url + "/wall")
            watched.page.wait_for_selector("#wall-link.live", timeout=15_000)
            walls.append(watched)
        flashing = f"#wall-overdue-list .case-row.overdue:not(.acked)[data-case-no='{case_no}']"
        for watched in walls:
            watched.page.wait_for_selector(flashing, timeout=15_000)
            watched.page.wait_for_selector(".overdue-panel.flashing", timeout=15_000)
            dot = watched.page.locator(f"circle.case[data-case-no='{case_no}']")
            assert "overdue" in (dot.get_attribute("class") or "")
            animation = watched.page.eval_on_selector(
                flashing, "n => getComputedStyle(n).animationName"
            )
            assert animation == "wall-flash"

        console = chromium.new_page()
        sign_in(console, stack, role="county_duty_officer")
        console.goto(stack.base_url + "/overdue")
        row = console.locator("li", has_text=case_no)
        row.locator("button").click()
        assert console.locator(".notice").count() == 1
        assert "已确认" in console.locator("li", has_text=case_no).inner_text()
        shoot(console, "wall-overdue-ack")

        acked = f"#wall-overdue-list .case-row.overdue.acked[data-case-no='{case_no}']"
        for watched in walls:
            watched.page.wait_for_selector(acked, timeout=15_000)
            watched.page.wait_for_selector(".overdue-panel:not(.flashing)", timeout=15_000)
            animation = watched.page.eval_on_selector(
                acked, "n => getComputedStyle(n).animationName"
            )
            assert animation == "none"
        walls[0].page.reload()
        walls[0].page.wait_for_selector(acked, timeout=15_000)
        for watched in walls:
            watched.assert_clean()

        # A wall screen may not acknowledge: only someone who may act on the case.
        case_id = walls[1].page.get_attribute(acked, "data-case-id")
        landed = walls[1].page.evaluate(
            """async (caseId) => {
                const kept = document.cookie.split('; ').find(c => c.startsWith('_csrf_token='));
                const body = new URLSearchParams({csrf: kept.split('=')[1], case_id: caseId});
                const r = await fetch('/overdue/ack', {method: 'POST', body});
                return r.url;
            }""",
            case_id,
        )
        assert "notice=refused" in landed


def test_a_lost_link_shows_the_age_of_the_data_and_the_wall_recovers_by_itself(
    wall_stack: RunningStack,
) -> None:
    """The socket drops and stays down for a while: the link says how old the data is; it
    comes back by itself and what happened meanwhile appears, with no reload."""
    stack = wall_stack
    token = display_token(stack)
    with browser() as chromium:
        context = wall_context(chromium, stack, 1920, 1080)
        context.add_cookies([{"name": DISPLAY_COOKIE, "value": token, "url": stack.base_url}])
        wall = Watched(context.new_page())
        wall.page.goto(stack.base_url + "/wall")
        wall.page.wait_for_selector("#wall-link.live", timeout=15_000)
        wall.page.evaluate("() => { window.__loaded = true; }")
        # Down for 6 s before the first retry: long enough to see the age grow.
        wall.page.evaluate("() => { pinganWall.retry = 6000; pinganWall.ws.close(); }")
        wall.page.wait_for_selector("#wall-link.lost", timeout=5_000)
        case_no = case_no_of(stack, put_report(stack, severity=3))
        wall.page.wait_for_function(
            "() => /数据已 [2-9] 秒 未更新/.test(document.getElementById('wall-link').textContent)",
            timeout=10_000,
        )
        wall.page.wait_for_selector("#wall-link.live", timeout=20_000)
        wall.page.wait_for_selector(f"circle.case[data-case-no='{case_no}']", timeout=15_000)
        assert wall.page.evaluate("() => window.__loaded === true"), "never reloaded"
        wall.assert_clean()


def test_wall_screenshots_at_1080p_and_4k(wall_stack: RunningStack) -> None:
    """The same wall at 1920×1080 and 3840×2160, and a township's: regions by layout,
    glyphs drawn."""
    stack = wall_stack
    county, township = display_token(stack), display_token(stack, "320118001000")
    made = [
        case_no_of(stack, put_report(stack, hours_ago=hours_ago, severity=severity, where=where))
        for hours_ago, severity, where in (
            (0, 1, (118.95, 31.40)),
            (0.5, 2, (119.05, 31.33)),
            (1, 3, (118.80, 31.36)),
            (2, 4, (118.98, 31.30)),
            (3, 2, (118.8747, 31.3246)),
            (0.2, 4, (119.12, 31.42)),
        )
    ]
    make_overdue(stack, made[4])
    with browser() as chromium:
        shots = (
            (county, 1920, 1080, "wall-1080p"),
            (county, 3840, 2160, "wall-4k"),
            (township, 1920, 1080, "wall-township-1080p"),
        )
        for token, width, height, name in shots:
            context = wall_context(chromium, stack, width, height)
            context.add_cookies([{"name": DISPLAY_COOKIE, "value": token, "url": stack.base_url}])
            wall = Watched(context.new_page())
            wall.page.goto(stack.base_url + "/wall")
            wall.page.wait_for_selector("#wall-link.live", timeout=15_000)
            wall.page.wait_for_selector("#wall-overdue-list .case-row", timeout=15_000)
            # Layout, not a transform: at 4K the type is about twice as large.
            size = wall.page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
            assert abs(size - width * 0.0105) < 1
            scroll = wall.page.evaluate(
                "() => [document.documentElement.scrollWidth,"
                " document.documentElement.scrollHeight]"
            )
            assert scroll == [width, height], "the wall fills the screen, nothing overflows"
            shoot(wall.page, name)
            wall.assert_clean()
            context.close()


def test_a_county_wall_cycles_through_its_townships_sharply(wall_stack: RunningStack) -> None:
    """?cycle=1: the wall steps county → each township; a township's turn frames its outline
    (viewBox, not a transform) and lists its own cases only."""
    stack = wall_stack
    yangjiang = case_no_of(stack, put_report(stack, where=(118.78985, 31.33721)))
    chunxi = case_no_of(stack, put_report(stack))
    with browser() as chromium:
        wall = Watched(wall_context(chromium, stack, 1920, 1080).new_page())
        sign_in(wall.page, stack, role="county_director")
        wall.page.goto(stack.base_url + "/wall?cycle=1")
        wall.page.wait_for_selector("#wall-link.live", timeout=15_000)
        county_box = wall.page.get_attribute("#wall-map", "viewBox")
        # The cycle moves on by itself: a township's name in the header, its frame on the map.
        wall.page.wait_for_selector("#wall-focus:not([hidden])", timeout=5_000)
        assert wall.page.get_attribute("#wall-map", "viewBox") != county_box
        # Each turn, held still (no cycle) to look at it.
        wall.page.goto(stack.base_url + "/wall")
        wall.page.wait_for_selector("#wall-link.live", timeout=15_000)
        wall.page.wait_for_selector(f"#wall-newest [data-case-no='{chunxi}']", timeout=15_000)
        wall.page.evaluate("() => window.pinganWall.focusOn('320118101000')")
        wall.page.wait_for_timeout(400)  # the lists redraw within 250 ms
        newest = wall.page.locator("#wall-newest")
        assert "阳江镇" in wall.page.inner_text("#wall-focus")
        assert newest.locator(f"[data-case-no='{yangjiang}']").count() == 1
        assert newest.locator(f"[data-case-no='{chunxi}']").count() == 0
        focused = wall.page.locator("path.township.focused")
        assert focused.count() == 1 and focused.get_attribute("data-code") == "320118101000"
        shoot(wall.page, "wall-cycle-township")
        wall.page.evaluate("() => window.pinganWall.focusOn(null)")
        wall.page.wait_for_timeout(400)
        assert wall.page.get_attribute("#wall-map", "viewBox") == county_box
        assert newest.locator(f"[data-case-no='{chunxi}']").count() == 1
        wall.assert_clean()
