"""The duty console beside the naive Dash peer on the same data: delay, browser work, bytes, CPU.

Usage: .venv/bin/python bench/bench_console_vs_peer.py [--cases 10000] [--probes 20]
           [--screens 10] [--minutes 1] [--timeout 5] [--batches 20]
The peer is /work/shared/peers/naive-dash (run from there, in this venv, on its own Redis
database and port); its `common.seed(n)` fills its stream and the product gets the very same
points and summaries as intake/1 documents through the real intake and case former. Each
side is then probed the same way in headless Debian Chromium: a report whose summary carries
a unique tag is XADDed and a MutationObserver in every open page notes (Date.now(), this
machine's clock) when that tag is in the DOM. Lines read `figure: product X, peer Y, ratio Z`
with ratio = peer / product (all figures here are smaller-is-better).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import psutil
import redis
from _console import console_screen, seed_intake, settle
from _realtime import percentile, processes
from playwright.sync_api import Browser, CDPSession, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database
from realtime.streams import StreamNames
from tests.browser import LOCAL_HOSTS, browser, fence
from tests.services import unique
from tests.stack import free_port, running_stack

PEER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "naive-dash"
UNITS = 200
WINDOW_TAIL_S = 0.2  # main-thread work and bytes are counted from XADD to visible + this

# In every page, product or peer: the first time each probe tag is in the DOM (added nodes
# and changed text), and every long task. Scanning only what changed keeps the observer's
# own cost out of the figures.
_OBSERVE = """() => {
  if (window.__bench) { return; }
  const b = window.__bench = { seen: {}, long: [] };
  const pattern = /vsprobe-[0-9a-f]{12}/g;
  const note = (text) => {
    if (!text || text.indexOf('vsprobe-') === -1) { return; }
    for (const tag of text.match(pattern) || []) {
      if (!(tag in b.seen)) { b.seen[tag] = Date.now(); }
    }
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') { note(r.target.data); continue; }
      r.addedNodes.forEach((n) => note(n.textContent));
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        b.long.push([performance.timeOrigin + e.startTime, e.duration]);
      }
    }).observe({ type: 'longtask' });
  } catch (e) { b.noLongTasks = true; }
}"""

# Product only, wrapped from outside (the page has no such hook): time spent in the socket's
# message handler, in the queue's upsert, in the grid's transactions and in the case canvas's
# redraws, and for each positions frame its handling and the next paint after it.
_PRODUCT_TIMERS = """() => {
  const b = window.__bench, live = window.pinganLive, P = live.cfg.protocol;
  Object.assign(b, { handlerMs: 0, upsertMs: 0, txMs: 0, redrawMs: 0, positions: [] });
  const timed = (owner, name, key) => {
    const original = owner[name];
    owner[name] = function () {
      const t = performance.now();
      try { return original.apply(this, arguments); } finally { b[key] += performance.now() - t; }
    };
  };
  b.wrapSocket = () => {
    const ws = live.ws;
    if (!ws || ws.__bench) { return; }
    ws.__bench = true;
    const original = ws.onmessage;
    ws.onmessage = function (msg) {
      const t0 = performance.now();
      original.call(this, msg);
      const t1 = performance.now();
      b.handlerMs += t1 - t0;
      const m = JSON.parse(msg.data);
      if (m[P.fields.snapshot.type] !== P.messages.positions) { return; }
      const entry = { at: performance.timeOrigin + t0, handler: t1 - t0, painted: null,
                      units: m[P.fields.positions.units].length };
      b.positions.push(entry);
      // rAF runs before the frame's paint; a message posted from it runs after that paint.
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { entry.painted = performance.now() - t0; };
        ch.port2.postMessage(0);
      });
    };
  };
  b.wrapSocket();
  timed(window.pinganQueue, 'upsert', 'upsertMs');
  timed(window.pinganQueue.state.api, 'applyTransaction', 'txMs');
  timed(live.canvas, '_redraw', 'redrawMs');
}"""

_TIMERS = "() => { const b = window.__bench; if (b.wrapSocket) { b.wrapSocket(); }" + (
    " return [b.handlerMs, b.upsertMs, b.txMs, b.redrawMs]; }"
)


@dataclass
class Screen:
    """One open page and what the bench hears from it."""

    page: Page
    outside: list[str]
    received: list[int] = field(default_factory=list)  # bytes of each frame / callback reply
    cdp: CDPSession | None = None

    def metrics(self) -> dict[str, float]:
        assert self.cdp is not None
        reply = self.cdp.send("Performance.getMetrics")
        return {m["name"]: float(m["value"]) for m in reply["metrics"]}


@dataclass
class Side:
    """The figures measured on one side."""

    one: list[float] = field(default_factory=list)  # ms, one screen, probes that showed
    one_shown: int = 0
    many: list[float] = field(default_factory=list)  # ms, every (probe, screen) that showed
    many_last: list[float] = field(default_factory=list)  # ms, the last screen of each probe
    many_shown: int = 0
    many_tried: int = 0
    task_ms: list[float] = field(default_factory=list)
    script_ms: list[float] = field(default_factory=list)
    window_ms: list[float] = field(default_factory=list)
    longest_ms: float = 0.0
    long_tasks: int = 0
    idle_task_ms_per_s: float = 0.0
    map_ms: list[float] = field(default_factory=list)
    grid_ms: list[float] = field(default_factory=list)
    event_bytes: list[int] = field(default_factory=list)
    event_frames: list[int] = field(default_factory=list)
    cpu_s: float = 0.0
    cpu_other_s: float = 0.0
    cases_shown: int = 0
    batch_handler: list[float] = field(default_factory=list)
    batch_painted: list[float] = field(default_factory=list)
    batch_units: list[int] = field(default_factory=list)
    batch_moved: int = 0
    outside: list[str] = field(default_factory=list)
    unpainted: int = 0


def load_peer_common(redis_url: str) -> ModuleType:
    """The peer's common.py, reading `redis_url` (it takes REDIS_URL when imported)."""
    # Only for the import: the product's stack must keep the caller's REDIS_URL.
    saved = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = redis_url
    try:
        spec = importlib.util.spec_from_file_location("peer_common", PEER / "common.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del os.environ["REDIS_URL"]
        else:
            os.environ["REDIS_URL"] = saved
    return module


def free_database(client: redis.Redis) -> int:
    """An empty Redis database other than 0 (the peer flushes its own)."""
    for db in range(5, 16):
        kwargs = client.connection_pool.connection_kwargs
        probe = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=db)
        if probe.dbsize() == 0:
            return db
    raise SystemExit("no empty Redis database among 5-15 for the peer")


def intake_document(incident: dict[str, Any]) -> str:
    """The peer's incident as a valid intake/1 report; petitions never auto-merge, so each
    report opens exactly one case, as each entry is one point in the peer."""
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"vs-{incident['id']}-{uuid.uuid4().hex[:8]}",
            "channel": "12345",
            "category": "petition",
            "summary": incident["summary"],
            "location": {"lon": incident["lon"], "lat": incident["lat"]},
            "reported_at": datetime.now(UTC).isoformat(),
        },
        ensure_ascii=False,
    )


def probe_incident(serial: int, rng: random.Random, peer: ModuleType) -> dict[str, Any]:
    """A new incident for both sides; its summary carries a unique tag."""
    incident: dict[str, Any] = peer.make_incident(900_000 + serial, rng)
    tag = f"vsprobe-{uuid.uuid4().hex[:12]}"
    incident["summary"] = f"{tag} {incident['summary']}"
    incident["tag"] = tag
    return incident


class Target:
    """How the bench drives one side: where to XADD, how to open a screen, whose CPU."""

    name = ""
    common: ModuleType  # the peer's common.py: both sides' probes come from its generator

    def add(self, incident: dict[str, Any]) -> None:
        raise NotImplementedError

    def open_screen(self, chromium: Browser) -> Screen:
        raise NotImplementedError

    def servers(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        """(the processes compared, other processes of the side reported apart)."""
        raise NotImplementedError

    def count_shown(self, page: Page) -> int:
        raise NotImplementedError


class Product(Target):
    name = "product"

    def __init__(
        self, common: ModuleType, client: redis.Redis, prefix: str, stack: Any, cases: int
    ) -> None:
        self.common, self.client, self.prefix = common, client, prefix
        self.stack, self.cases = stack, cases

    def add(self, incident: dict[str, Any]) -> None:
        self.client.xadd(self.prefix + "intake", {"data": intake_document(incident)})

    def open_screen(self, chromium: Browser) -> Screen:
        received: list[int] = []

        def watch(page: Page) -> None:
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda p: received.append(len(p if isinstance(p, bytes) else p.encode())),
                ),
            )

        page, outside = console_screen(chromium, self.stack, self.cases, watch, 180_000)
        unfence(page, outside)
        page.evaluate(_OBSERVE)
        page.evaluate(_PRODUCT_TIMERS)
        return Screen(page, outside, received)

    def servers(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        ours, other = [], []
        for child in psutil.Process().children():
            cmd = child.cmdline()
            if any(part.endswith("app.py") for part in cmd):
                (ours if {"gateway", "serve"} & set(cmd) else other).append(child)
        return ours, other

    def count_shown(self, page: Page) -> int:
        return int(page.evaluate("window.pinganLive.cases.size"))


class Peer(Target):
    name = "peer"

    def __init__(
        self, common: ModuleType, client: redis.Redis, base_url: str, app: psutil.Process
    ) -> None:
        self.common, self.client, self.base_url, self.app = common, client, base_url, app
        self.unpainted = 0

    def add(self, incident: dict[str, Any]) -> None:
        entry = {k: incident[k] for k in ("id", "lon", "lat", "summary")}
        self.client.xadd("intake", {"data": json.dumps(entry)})

    def open_screen(self, chromium: Browser) -> Screen:
        page = chromium.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        outside = fence(page)
        received: list[int] = []

        def reply(response: Any) -> None:
            # Dash answers each tick with one JSON body of known length.
            if "_dash-update-component" in response.url:
                received.append(int(response.headers.get("content-length", "0")))

        page.on("response", reply)
        total = self.client.xlen("intake")
        try:
            # With many of its pages polling, the peer may not even answer the page in 30 s.
            page.goto(self.base_url + "/", timeout=120_000)
            page.wait_for_function(
                "(n) => window.__gjLayer && window.__gjLayer.getLayers().length >= n",
                arg=total,
                timeout=60_000,
                polling=250,
            )
        except PlaywrightTimeout:
            # Its README: with many pages open the peer may never paint. Keep the screen open
            # (it still loads the server and the machine) and say so in the report.
            self.unpainted += 1
        unfence(page, outside)
        page.evaluate(_OBSERVE)
        return Screen(page, outside, received)

    def servers(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        return [self.app], []

    def count_shown(self, page: Page) -> int:
        return int(page.evaluate("window.__gjLayer.getLayers().length"))


def pause(page: Page, seconds: float) -> None:
    """Wait while Playwright keeps dispatching (a plain sleep holds every page event back)."""
    if seconds > 0:
        page.wait_for_timeout(seconds * 1000)


def unfence(page: Page, outside: list[str]) -> None:
    """Stop routing requests through this process (each would wait on its event loop) once the
    page has loaded; any later request to another host is still noted."""
    page.unroute("**/*")
    page.on(
        "request",
        lambda r: (
            None if (urlsplit(r.url).hostname or "") in LOCAL_HOSTS else outside.append(r.url)
        ),
    )


def cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    """User + system CPU of the processes and all their children, so far."""
    total = 0.0
    for proc in procs:
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def wait_seen(screens: Sequence[Screen], tag: str, deadline: float) -> list[float | None]:
    """When each screen first had `tag` in its DOM (epoch ms), None if not by `deadline`."""
    out: list[float | None] = []
    for screen in screens:
        left_ms = (deadline - time.time()) * 1000
        try:
            screen.page.wait_for_function(
                "(t) => window.__bench.seen[t] !== undefined",
                arg=tag,
                timeout=max(1.0, left_ms),
                polling=20,
            )
            out.append(float(screen.page.evaluate("(t) => window.__bench.seen[t]", tag)))
        except PlaywrightTimeout:
            out.append(None)
    return out


def one_screen(target: Target, screen: Screen, side: Side, probes: int, timeout: float) -> None:
    """Figures 1-3 with one screen open: delay, main-thread work, bytes per event."""
    rng = random.Random(11)
    page = screen.page
    screen.cdp = page.context.new_cdp_session(page)
    screen.cdp.send("Performance.enable")
    # What the page costs with no news, to read the per-event windows against.
    before = screen.metrics()
    pause(page, 5.0)
    after = screen.metrics()
    side.idle_task_ms_per_s = (after["TaskDuration"] - before["TaskDuration"]) * 1000 / 5.0
    product = isinstance(target, Product)
    for serial in range(probes):
        pause(page, rng.uniform(0.3, 1.0))  # the XADD falls anywhere in the peer's tick
        incident = probe_incident(serial, rng, target.common)
        timers = page.evaluate(_TIMERS) if product else None
        frames = len(screen.received)
        before = screen.metrics()
        sent = time.time()
        target.add(incident)
        (seen,) = wait_seen([screen], incident["tag"], sent + timeout)
        if seen is None:
            continue
        side.one_shown += 1
        side.one.append(seen - sent * 1000)
        # Work after the tag is in the DOM (the grid's paint, the canvas redraw) counts too.
        pause(page, seen / 1000 + WINDOW_TAIL_S - time.time())
        after = screen.metrics()
        end = time.time()
        side.task_ms.append((after["TaskDuration"] - before["TaskDuration"]) * 1000)
        side.script_ms.append((after["ScriptDuration"] - before["ScriptDuration"]) * 1000)
        side.window_ms.append((end - sent) * 1000)
        sizes = screen.received[frames:]
        side.event_bytes.append(sum(sizes))
        side.event_frames.append(len(sizes))
        longs = page.evaluate(
            "([a, b]) => window.__bench.long.filter(([t]) => t >= a && t <= b).map(x => x[1])",
            [sent * 1000, end * 1000],
        )
        side.long_tasks += sum(1 for d in longs if d > 50)
        side.longest_ms = max([side.longest_ms, *longs])
        if timers is not None:
            now = page.evaluate(_TIMERS)
            handler, upsert, tx, redraw = (b - a for a, b in zip(timers, now, strict=True))
            side.map_ms.append(handler - upsert + redraw)
            side.grid_ms.append(upsert + tx)


def unit_batches(target: Product, screen: Screen, side: Side, batches: int) -> None:
    """Figure 5: batches of 200 unit fixes; each batch's frames timed in the page."""
    rng = random.Random(5)
    page = screen.page
    ids = [f"vs-unit-{n:03d}" for n in range(UNITS)]
    # The first batch creates the markers; only moves are measured.
    for batch in range(batches + 1):
        page.evaluate("() => { window.__bench.wrapSocket(); window.__bench.positions = []; }")
        fixes = [
            (uid, round(rng.uniform(118.75, 119.15), 6), round(rng.uniform(31.26, 31.45), 6))
            for uid in ids
        ]
        at = datetime.now(UTC).isoformat()
        pipe = target.client.pipeline(transaction=False)
        for uid, lon, lat in fixes:
            fix = {"unit_id": uid, "lon": lon, "lat": lat, "at": at}
            pipe.xadd(target.prefix + "positions", {"data": json.dumps(fix)})
        pipe.execute()
        try:
            page.wait_for_function(
                "(n) => { const p = window.__bench.positions;"
                " return p.reduce((s, e) => s + e.units, 0) >= n"
                " && p.every(e => e.painted !== null); }",
                arg=UNITS,
                timeout=5_000,
                polling=20,
            )
        except PlaywrightTimeout:
            continue
        frames = page.evaluate("window.__bench.positions")
        moved = page.evaluate(
            "(fixes) => fixes.every(([id, lon, lat]) => {"
            " const u = window.pinganLive.units.get(id);"
            " if (!u) { return false; } const p = u.marker.getLatLng();"
            " return Math.abs(p.lat - lat) < 1e-9 && Math.abs(p.lng - lon) < 1e-9; })",
            fixes,
        )
        if batch == 0:
            continue
        side.batch_moved += int(bool(moved))
        side.batch_units.append(sum(f["units"] for f in frames))
        side.batch_handler.append(sum(f["handler"] for f in frames))
        first, last = frames[0], frames[-1]
        side.batch_painted.append(last["at"] - first["at"] + last["painted"])
        pause(page, 0.6)  # longer than the gateway's flush, so one batch is one frame


def many_screens(
    target: Target, screens: Sequence[Screen], side: Side, probes: int, timeout: float
) -> None:
    """Figure 1 with every screen open: each probe's delay on each screen."""
    rng = random.Random(13)
    for serial in range(probes):
        pause(screens[0].page, rng.uniform(0.3, 1.0))
        incident = probe_incident(1000 + serial, rng, target.common)
        sent = time.time()
        target.add(incident)
        seen = wait_seen(screens, incident["tag"], sent + timeout)
        side.many_tried += len(screens)
        delays = [s - sent * 1000 for s in seen if s is not None]
        ok = [d for d in delays if d <= timeout * 1000]
        side.many_shown += len(ok)
        side.many.extend(ok)
        if len(ok) == len(screens):
            side.many_last.append(max(ok))


def server_cpu(target: Target, page: Page, side: Side, minutes: float) -> None:
    """Figure 4: server CPU with every screen open and one new case a second."""
    rng = random.Random(17)
    ours, other = target.servers()
    start, start_other = cpu_seconds(ours), cpu_seconds(other)
    began = time.monotonic()
    events = int(minutes * 60)
    for serial in range(events):
        target.add(probe_incident(5000 + serial, rng, target.common))
        pause(page, began + serial + 1 - time.monotonic())
    per_minute = 60.0 / max(time.monotonic() - began, 1e-9)
    side.cpu_s = (cpu_seconds(ours) - start) * per_minute
    side.cpu_other_s = (cpu_seconds(other) - start_other) * per_minute


def run_side(target: Target, chromium: Browser, args: argparse.Namespace, side: Side) -> None:
    """Every figure of one side, one screen first, then all of them."""
    screens = [target.open_screen(chromium)]
    side.cases_shown = target.count_shown(screens[0].page)
    one_screen(target, screens[0], side, args.probes, args.timeout)
    if isinstance(target, Product):
        unit_batches(target, screens[0], side, args.batches)
    for _ in range(args.screens - 1):
        screens.append(target.open_screen(chromium))
    many_screens(target, screens, side, args.probes, args.timeout)
    server_cpu(target, screens[0].page, side, args.minutes)
    for screen in screens:
        side.outside.extend(screen.outside)
    for screen in screens:
        screen.page.context.close()


@contextmanager
def peer_app(common: ModuleType) -> Iterator[tuple[str, psutil.Process]]:
    """The peer's app on a free port, reading the Redis database `common` names."""
    port = free_port()
    names = StreamNames(unique("vspeer:") + ":")  # the peer ignores it; processes() wants one
    argv = [str(PEER / "app_naive.py")]
    with processes([argv], common.REDIS_URL, "", names, PORT=str(port)) as (app,):
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base_url + "/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or app.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base_url, psutil.Process(app.pid)


def measure_product(
    common: ModuleType, incidents: Sequence[dict[str, Any]], args: argparse.Namespace
) -> Side:
    side = Side()
    with bench_database() as (redis_url, database_url):
        prefix = unique("vs:") + ":"
        with running_stack(redis_url, database_url, prefix) as stack:
            client = redis.Redis.from_url(redis_url)
            try:
                seed_intake(client, prefix, (intake_document(i) for i in incidents))
                cases = settle(database_url, len(incidents))
                with browser() as chromium:
                    target = Product(common, client, prefix, stack, cases)
                    run_side(target, chromium, args, side)
            finally:
                keys = list(client.scan_iter(match=prefix + "*"))
                if keys:
                    client.delete(*keys)
    return side


def measure_peer(common: ModuleType, args: argparse.Namespace) -> Side:
    side = Side()
    with peer_app(common) as (base_url, app), browser() as chromium:
        target = Peer(common, common.rconn(), base_url, app)
        run_side(target, chromium, args, side)
        side.unpainted = target.unpainted
    return side


def _p(values: Sequence[float], share: float) -> float:
    return percentile(values, share) if values else float("nan")


def line(figure: str, product: float, peer: float | None, unit: str = "") -> str:
    """`figure: product X, peer Y, ratio Z` (ratio = peer / product; smaller is better)."""
    if peer is None:
        return f"{figure}: product {product:,.1f}{unit}, peer -, ratio -"
    if not product:
        return f"{figure}: product 0{unit}, peer {peer:,.1f}{unit}, ratio - (product 0)"
    ratio = peer / product
    return f"{figure}: product {product:,.1f}{unit}, peer {peer:,.1f}{unit}, ratio {ratio:,.1f}"


def report(product: Side, peer: Side, args: argparse.Namespace) -> list[str]:
    n, k, t = args.probes, args.screens, args.timeout
    out = [
        f"cases on the map: product {product.cases_shown}, peer {peer.cases_shown}",
        f"visible within {t:g} s, one screen: product {product.one_shown}/{n},"
        f" peer {peer.one_shown}/{n}",
        line(
            "new case XADD→visible, one screen, p50", _p(product.one, 0.5), _p(peer.one, 0.5), " ms"
        ),
        line(
            "new case XADD→visible, one screen, p95",
            _p(product.one, 0.95),
            _p(peer.one, 0.95),
            " ms",
        ),
        f"visible within {t:g} s, {k} screens: product {product.many_shown}/{product.many_tried},"
        f" peer {peer.many_shown}/{peer.many_tried} (probe × screen)",
        line(
            f"new case XADD→visible, {k} screens, p50 of every screen",
            _p(product.many, 0.5),
            _p(peer.many, 0.5),
            " ms",
        ),
        line(
            f"new case XADD→visible, {k} screens, p95 of every screen",
            _p(product.many, 0.95),
            _p(peer.many, 0.95),
            " ms",
        ),
        line(
            f"new case XADD→visible on all {k} screens, p95"
            f" ({len(product.many_last)} vs {len(peer.many_last)} probes)",
            _p(product.many_last, 0.95),
            _p(peer.many_last, 0.95),
            " ms",
        ),
        line(
            "main-thread TaskDuration per new case, p50",
            _p(product.task_ms, 0.5),
            _p(peer.task_ms, 0.5),
            " ms",
        ),
        line(
            "main-thread TaskDuration per new case, p95",
            _p(product.task_ms, 0.95),
            _p(peer.task_ms, 0.95),
            " ms",
        ),
        line(
            "  of which ScriptDuration, p50",
            _p(product.script_ms, 0.5),
            _p(peer.script_ms, 0.5),
            " ms",
        ),
        line(
            "  window counted (XADD→visible+0.2 s), p50",
            _p(product.window_ms, 0.5),
            _p(peer.window_ms, 0.5),
            " ms",
        ),
        line("longest task in any event window", product.longest_ms, peer.longest_ms, " ms"),
        line("long tasks > 50 ms in all event windows", product.long_tasks, peer.long_tasks),
        line(
            "main-thread TaskDuration with no news",
            product.idle_task_ms_per_s,
            peer.idle_task_ms_per_s,
            " ms/s",
        ),
        line(
            "  product map work per new case, p50 (sync + canvas redraw)",
            _p(product.map_ms, 0.5),
            None,
            " ms",
        ),
        line(
            "  product grid work per new case, p50 (upsert + transaction)",
            _p(product.grid_ms, 0.5),
            None,
            " ms",
        ),
        line(
            "bytes to a screen per event (frames / callback replies in the window), mean",
            statistics.fmean(product.event_bytes or [0]),
            statistics.fmean(peer.event_bytes or [0]),
            " B",
        ),
        line(
            "  messages per event window, mean",
            statistics.fmean(product.event_frames or [0]),
            statistics.fmean(peer.event_frames or [0]),
        ),
        line(
            f"server CPU, {k} screens, 1 event/s (product gateway+dashboard, peer app)",
            product.cpu_s,
            peer.cpu_s,
            " CPU-s/min",
        ),
        line(
            "  product worker (intake + case former), not in the peer",
            product.cpu_other_s,
            None,
            " CPU-s/min",
        ),
        line(
            f"{UNITS} unit positions applied (handler), p50",
            _p(product.batch_handler, 0.5),
            None,
            " ms",
        ),
        line(
            f"{UNITS} unit positions applied (handler), p95",
            _p(product.batch_handler, 0.95),
            None,
            " ms",
        ),
        line(
            f"{UNITS} unit positions to next paint, p95",
            _p(product.batch_painted, 0.95),
            None,
            " ms",
        ),
        f"  unit batches measured {len(product.batch_units)}/{args.batches}, all markers at"
        f" the sent point in {product.batch_moved}, units per batch"
        f" {sorted(set(product.batch_units))}",
        f"outside requests: product {len(product.outside)}, peer {len(peer.outside)}",
        f"peer screens that never showed the seeded points within 60 s: {peer.unpainted}",
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a probe may take")
    parser.add_argument("--batches", type=int, default=20, help="unit position batches")
    args = parser.parse_args()
    base = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    kwargs = base.connection_pool.connection_kwargs
    db = free_database(base)
    common = load_peer_common(f"redis://{kwargs['host']}:{kwargs['port']}/{db}")
    try:
        common.seed(args.cases)  # the peer's own data; the product gets the same entries
        incidents = [json.loads(f[b"data"]) for _, f in common.rconn().xrange("intake")]
        product = measure_product(common, incidents, args)
        peer = measure_peer(common, args)
    finally:
        common.rconn().flushdb()
    for text in report(product, peer, args):
        print(text)


if __name__ == "__main__":
    main()
