"""The gateway's pure core without sockets: who sees what, buffers, resume (realtime.fanout)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.fanout import Client, Frame, Route, Viewer, catch_up, fan_out, route_of
from realtime.live_protocol import encode, stream_id_key

YANGJIANG, CHUNXI, GUCHENG = "320118101000", "320118001000", "320118102000"
TOWNSHIPS = (YANGJIANG, CHUNXI, GUCHENG)
SCOPES = ("320118", "320118101", "320118001", "320118102")


def case_event(n: int, township: str | None) -> bytes:
    """A case event as the events stream carries it (a case view with its township)."""
    return json.dumps(
        {"schema": "event/1", "type": "case.opened", "case_id": n,
         "case": {"id": n, "township_code": township}}
    ).encode()  # fmt: skip


def test_a_case_is_seen_in_its_township_and_above_only() -> None:
    """County and own-township viewers see a case; other townships and units do not."""
    route = route_of(case_event(1, YANGJIANG))
    assert route is not None
    assert Viewer("320118").sees(route)
    assert Viewer("320118101").sees(route)
    assert not Viewer("320118001").sees(route)
    assert not Viewer("", unit_id="car-1").sees(route)


def test_unplaced_events_go_to_the_county_and_system_events_to_everyone() -> None:
    """No place: county screens only; system.*: every screen; a unit's event: its terminal."""
    unplaced = Route(type="camera.status_changed")
    system = Route(type="system.degraded")
    placed = Route(type="camera.status_changed", township_code=CHUNXI)
    unit = Route(type="case.dispatched", unit_id="car-1", case=None)
    assert Viewer("320118").sees(unplaced) and not Viewer("320118001").sees(unplaced)
    assert Viewer("320118001").sees(system) and Viewer("320118101").sees(system)
    assert Viewer("320118001").sees(placed) and not Viewer("320118101").sees(placed)
    assert Viewer("", unit_id="car-1").sees(unit) and not Viewer("", unit_id="car-2").sees(unit)
    unplaced_case = route_of(case_event(3, None))
    assert unplaced_case is not None and not Viewer("320118").sees(unplaced_case)


def test_kpi_snapshots_reach_walls_and_not_consoles() -> None:
    """A console subscribed without figures gets no `kpi.snapshot`; a wall beside it does."""
    kpi = json.dumps(
        {"schema": "event/1", "type": "kpi.snapshot", "township_code": YANGJIANG, "kpis": {}}
    ).encode()
    wall = Client(Viewer("320118"), batch=True, limit=10, live=True)
    console = Client(Viewer("320118", kpis=False), batch=True, limit=10, live=True)
    writes, valid = fan_out([wall, console], [("1-0", kpi), ("2-0", case_event(2, CHUNXI))],
                            lambda _: True)  # fmt: skip
    assert valid == 2

    def types(client: Client) -> list[str]:
        messages = [m for w in writes if client in w.clients for m in w.messages]
        return [d["event"]["type"] for m in messages for d in json.loads(m)["deltas"]]

    assert types(wall) == ["kpi.snapshot", "case.opened"]
    assert types(console) == ["case.opened"]
    # Both are county viewers, yet they are two audiences: each gets its own encoding.
    assert len(writes) == 2


def test_malformed_entries_are_skipped_and_counted() -> None:
    """Bytes that are not an event reach nobody; the valid ones still do."""
    client = Client(Viewer("320118"), batch=True, limit=10, live=True)
    writes, valid = fan_out(
        [client], [("1-0", b"{not json"), ("2-0", case_event(2, CHUNXI))], lambda _: True
    )
    assert valid == 1
    assert [json.loads(m)["deltas"][0]["id"] for w in writes for m in w.messages] == ["2-0"]


def test_one_encoding_per_audience_and_slow_sockets_get_the_buffer() -> None:
    """Two caught-up county screens share one write; a backed-up one buffers the frames."""
    fast = [Client(Viewer("320118"), batch=True, limit=10, live=True) for _ in range(2)]
    slow = Client(Viewer("320118"), batch=True, limit=10, live=True)
    writes, _ = fan_out([*fast, slow], [("5-0", case_event(5, CHUNXI))], lambda c: c is not slow)
    assert len(writes) == 1 and set(writes[0].clients) == set(fast)
    assert [f.stream_id for f in slow.items] == ["5-0"] and not slow.live
    assert fast[0].last_key == (5, 0)


def test_a_client_too_far_behind_starts_over_from_a_snapshot() -> None:
    """A full buffer is dropped and drain says: send a snapshot (None)."""
    client = Client(Viewer("320118"), batch=True, limit=2)
    for n in range(3):
        client.offer(Frame.delta(f"{n + 1}-0", case_event(n, CHUNXI)))
    assert client.overflowed and not client.items
    assert client.drain() is None
    client.start_over()
    client.offer(Frame.delta("9-0", case_event(9, CHUNXI)))
    client.resumed_at("8-0")
    (message,) = client.drain() or []
    assert [d["id"] for d in json.loads(message)["deltas"]] == ["9-0"]


def test_catch_up_replays_what_was_missed_or_asks_for_a_snapshot() -> None:
    """Held and short enough: a replay filtered to the scope; else None (a snapshot)."""
    entries = [(f"{n}-0", case_event(n, TOWNSHIPS[n % 3])) for n in range(3, 9)]
    viewer = Viewer("320118101")
    replay = catch_up(viewer, "2-0", "1-0", entries, replay_limit=10)
    assert replay is not None
    message, last = replay
    assert last == "8-0" and message.since == "2-0"
    assert [d.id for d in message.deltas] == ["3-0", "6-0"]
    assert catch_up(viewer, "2-0", "3-0", entries, replay_limit=10) is None  # trimmed away
    assert catch_up(viewer, "2-0", "1-0", entries, replay_limit=5) is None  # too much missed
    assert catch_up(viewer, "2-0", None, [], replay_limit=5) is None  # empty stream


# --- a whole deployment simulated: events, screens, slow sockets, cuts, trims ----------------


@dataclass
class Screen:
    """What one screen has applied since its last snapshot, as the browser code keeps it."""

    index: int
    viewer: Viewer
    batch: bool
    client: Client
    base: tuple[int, int] = (0, 0)  # the stream id of its last snapshot
    applied: str = "0-0"  # the newest stream id it knows of (its resume point)
    received: list[tuple[int, int]] = field(default_factory=list)
    seen_events: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, message: bytes) -> None:
        document = json.loads(message)
        items = document["deltas"] if document["type"] in ("deltas", "replay") else [document]
        for item in items:
            self.received.append(stream_id_key(item["id"]))
            self.seen_events.append(item["event"])
            self.applied = item["id"]
        if document["type"] == "replay":
            self.applied = document["last_id"]

    def snapshot(self, last_id: str) -> None:
        self.base = stream_id_key(last_id)
        self.applied = last_id
        self.received = []


class Deployment:
    """The events stream, the core's clients and what each screen received."""

    def __init__(self, limit: int, replay_limit: int) -> None:
        self.stream: list[tuple[str, bytes]] = []
        self.oldest = 0  # index of the oldest entry the stream still holds
        self.limit = limit
        self.replay_limit = replay_limit
        self.screens: list[Screen] = []
        self.serial = 0
        # On the stream but not yet fanned out: the gateway's read is still in flight, so a
        # screen resuming meanwhile already finds these in its replay.
        self.unread: list[tuple[str, bytes]] = []

    @property
    def last_id(self) -> str:
        return self.stream[-1][0] if self.stream else "0-0"

    def add_events(self, places: list[str | None]) -> list[tuple[str, bytes]]:
        read = []
        for place in places:
            self.serial += 1
            raw = (
                json.dumps({"type": "system.degraded"}).encode()
                if place == "system"
                else case_event(self.serial, place)
            )
            entry = (f"{1000 + self.serial}-0", raw)
            self.stream.append(entry)
            read.append(entry)
        return read

    def subscribe(self, scope: str, batch: bool) -> None:
        viewer = Viewer(scope)
        screen = Screen(len(self.screens), viewer, batch, Client(viewer, batch, self.limit))
        self.screens.append(screen)
        screen.snapshot(self.last_id)
        screen.client.resumed_at(self.last_id)

    def append(self, places: list[str | None]) -> None:
        self.unread += self.add_events(places)

    def read(self, slow: set[int]) -> None:
        entries, self.unread = self.unread, []
        if not entries:
            return
        clients = {s.client: s for s in self.screens}
        writes, _ = fan_out(clients, entries, lambda c: clients[c].index % 7 not in slow)
        for write in writes:
            for client in write.clients:
                for message in write.messages:
                    clients[client].apply(message)

    def drain(self, screen: Screen) -> None:
        messages = screen.client.drain()
        if messages is None:
            screen.client.start_over()
            screen.snapshot(self.last_id)
            screen.client.resumed_at(self.last_id)
            return
        for message in messages:
            screen.apply(message)
        if not messages:
            screen.client.live = True

    def reconnect(self, screen: Screen) -> None:
        since = screen.applied
        screen.client = Client(screen.viewer, screen.batch, self.limit)
        after = [
            e for e in self.stream[self.oldest :] if stream_id_key(e[0]) > stream_id_key(since)
        ]
        held = self.stream[self.oldest][0] if self.oldest < len(self.stream) else None
        replay = catch_up(
            screen.viewer, since, held, after[: self.replay_limit + 1], self.replay_limit
        )
        if replay is None:
            screen.snapshot(self.last_id)
            screen.client.resumed_at(self.last_id)
            return
        message, last = replay
        screen.apply(encode(message))
        screen.client.resumed_at(last)

    def trim(self, count: int) -> None:
        self.oldest = min(len(self.stream), self.oldest + count)


ACTIONS = st.one_of(
    st.tuples(st.just("append"), st.lists(st.sampled_from([*TOWNSHIPS, None, "system"]),
                                          max_size=6)),
    st.tuples(st.just("read"), st.sets(st.integers(0, 6), max_size=3)),
    st.tuples(st.just("drain"), st.integers(0, 20)),
    st.tuples(st.just("reconnect"), st.integers(0, 20)),
    st.tuples(st.just("trim"), st.integers(1, 5)),
    st.tuples(st.just("subscribe"), st.sampled_from(SCOPES), st.booleans()),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    scopes=st.lists(st.tuples(st.sampled_from(SCOPES), st.booleans()), min_size=1, max_size=5),
    actions=st.lists(ACTIONS, max_size=40),
    limit=st.integers(1, 6),
    replay_limit=st.integers(0, 8),
)
def test_every_screen_gets_exactly_its_events_in_order_through_cuts_and_slow_sockets(
    scopes: list[tuple[str, bool]],
    actions: list[tuple[Any, ...]],
    limit: int,
    replay_limit: int,
) -> None:
    """No event outside a screen's scope; after its last snapshot, no gap, no duplicate."""
    deployment = Deployment(limit, replay_limit)
    for scope, batch in scopes:
        deployment.subscribe(scope, batch)
    for action in actions:
        screens = deployment.screens
        match action:
            case ("append", places):
                deployment.append(places)
            case ("read", slow):
                deployment.read(slow)
            case ("drain", n):
                deployment.drain(screens[n % len(screens)])
            case ("reconnect", n):
                deployment.reconnect(screens[n % len(screens)])
            case ("trim", count):
                deployment.trim(count)
            case ("subscribe", scope, batch):
                deployment.subscribe(scope, batch)
    # The last read arrives, and every sender finishes: each screen ends caught up.
    deployment.read(set())
    for screen in deployment.screens:
        for _ in range(3):
            deployment.drain(screen)
    for screen in deployment.screens:
        visible = [
            stream_id_key(stream_id)
            for stream_id, raw in deployment.stream
            if stream_id_key(stream_id) > screen.base
            and (route := route_of(raw)) is not None
            and screen.viewer.sees(route)
        ]
        assert screen.received == visible, (screen.viewer, screen.batch)
        for event in screen.seen_events:
            route = route_of(json.dumps(event).encode())
            assert route is not None and screen.viewer.sees(route)
