"""The gateway's pure core: who may see an event, each screen's buffer, and what to send next.

No sockets and no Redis here (the `websockets` adapter is `realtime.gateway`): events go in
as (stream id, JSON bytes), and out come the messages to write, either straight to the
screens that are caught up (`fan_out` returns them as `Broadcast`s) or into the bounded
buffer of each screen that is catching up or falling behind, whose sender drains it with
`Client.drain`. Resuming from a stream id is decided by `catch_up`.

Ordering rules the adapter relies on:
- a client is attached before its snapshot is read, so no event falls in between;
- the sender marks the client `live` only when it has sent everything and waits; only then
  may `fan_out` write to it directly, so the two paths never interleave;
- every delta carries its stream key, and nothing at or below a client's `last_key` is
  ever sent to it again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from incidents.kpis import KPI_EVENT
from realtime.live_protocol import (
    Delta,
    DeltaItem,
    Deltas,
    Replay,
    encode,
    stream_id_key,
)
from realtime.screen_form import screen_event

StreamKey = tuple[int, int]
Entry = tuple[str, bytes]  # (stream id, event JSON as on the events stream)
COUNTY_PREFIX_LENGTH = 6
K = TypeVar("K")


class _CaseRef(msgspec.Struct):
    township_code: str | None = None


class Route(msgspec.Struct, frozen=True):
    """The few fields of an event that decide who may see it."""

    type: str = ""
    case: _CaseRef | None = None
    township_code: str | None = None
    unit_id: str | None = None


_route_decoder = msgspec.json.Decoder(Route)


def route_of(raw: bytes) -> Route | None:
    """Who may see an events-stream entry; None for an entry that is not a valid event."""
    try:
        return _route_decoder.decode(raw)
    except msgspec.DecodeError:
        return None


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a jurisdiction (as a code prefix), or one field unit's terminal."""

    prefix: str
    unit_id: str | None = None
    # Walls show the figures; a console never does, and they would be most of its idle
    # traffic (one snapshot per township every 30 s, each about 1.5 KB).
    kpis: bool = True

    def sees(self, route: Route) -> bool:
        """May this viewer receive an event with this route?"""
        if self.unit_id is not None:
            return route.unit_id == self.unit_id
        if route.type == KPI_EVENT and not self.kpis:
            return False
        if route.case is not None:
            township = route.case.township_code
            return township is not None and township.startswith(self.prefix)
        if route.township_code is not None:
            return route.township_code.startswith(self.prefix)
        if route.type.startswith("system."):
            return True  # outages concern every screen
        return len(self.prefix) <= COUNTY_PREFIX_LENGTH  # anything unplaced: county only


@dataclass(frozen=True, slots=True)
class Frame:
    """A delta (stream id, key and event JSON) or a ready-to-send message (key None)."""

    data: bytes
    stream_id: str = ""
    key: StreamKey | None = None

    @classmethod
    def delta(cls, stream_id: str, raw: bytes) -> Frame:
        """A delta frame for one events-stream entry."""
        return cls(raw, stream_id, stream_id_key(stream_id))


def _noop() -> None:
    return None


Audience = tuple[Viewer, bool]


@dataclass(eq=False)
class Client:
    """One connection's viewer, its bounded buffer of frames, and how far it has got."""

    viewer: Viewer
    batch: bool  # accepts `deltas` messages carrying several deltas
    limit: int  # frames the buffer holds before the client starts over from a snapshot
    wake: Callable[[], None] = _noop  # tells the client's sender there is work
    items: deque[Frame] = field(default_factory=deque)
    overflowed: bool = False
    closed: bool = False
    # Set by the sender when it has sent everything and waits: only then may `fan_out`
    # write to the connection itself.
    live: bool = False
    last_key: StreamKey = (0, 0)  # the newest delta this client has been sent

    @property
    def audience(self) -> Audience:
        """Clients with the same audience see exactly the same frames."""
        return (self.viewer, self.batch)

    def offer(self, frame: Frame) -> None:
        """Buffer a frame for the sender; too far behind, drop the backlog instead."""
        self.live = False
        if self.overflowed:
            return
        if len(self.items) >= self.limit:
            # Too far behind: drop the backlog; the sender starts over from a snapshot.
            self.overflowed = True
            self.items.clear()
        else:
            self.items.append(frame)
        self.wake()

    def restart(self) -> None:
        """Drop the buffer; the sender starts over from a fresh snapshot."""
        self.live = False
        self.overflowed = True
        self.items.clear()
        self.wake()

    def start_over(self) -> None:
        """Before a fresh snapshot is read: forget the dropped backlog, buffer from now on."""
        self.overflowed = False
        self.items.clear()

    def resumed_at(self, stream_id: str) -> None:
        """The client has everything up to `stream_id` (a snapshot or a replay was sent).

        Frames buffered meanwhile stay: `drain` drops those the snapshot already covers.
        """
        self.last_key = stream_id_key(stream_id)

    def drain(self) -> list[bytes] | None:
        """The buffered frames as messages to send now, in order; None: send a snapshot.

        Deltas at or below `last_key` (already in the snapshot or the replay) are dropped.
        """
        if self.overflowed:
            return None
        frames, self.items = self.items, deque()
        messages: list[bytes] = []
        batch: list[Frame] = []
        for frame in frames:
            if frame.key is None:
                if batch:
                    messages.append(deltas_message(batch))
                    batch = []
                messages.append(frame.data)
                continue
            if frame.key <= self.last_key:
                continue
            self.last_key = frame.key
            if self.batch:
                batch.append(frame)
            else:
                messages.append(delta_message(frame))
        if batch:
            messages.append(deltas_message(batch))
        return messages


def delta_message(frame: Frame) -> bytes:
    """One delta as a `delta` message."""
    return encode(Delta(id=frame.stream_id, event=msgspec.Raw(frame.data)))


def deltas_message(frames: Sequence[Frame]) -> bytes:
    """Several deltas as one `deltas` message."""
    return encode(Deltas(deltas=[DeltaItem(f.stream_id, msgspec.Raw(f.data)) for f in frames]))


def wire_for(batch: bool) -> Callable[[Sequence[Frame]], list[bytes]]:
    """How frames become messages for clients of one mode."""
    if batch:
        return lambda frames: [deltas_message(frames)]
    return lambda frames: [delta_message(frame) for frame in frames]


def plain_wire(frames: Sequence[Frame]) -> list[bytes]:
    """Ready-made messages (key None) as they are."""
    return [frame.data for frame in frames]


@dataclass(frozen=True, slots=True)
class Broadcast:
    """The same messages, to be written straight to each of these clients' sockets."""

    clients: tuple[Client, ...]
    messages: tuple[bytes, ...]


def grouped(clients: Iterable[Client], key: Callable[[Client], K]) -> dict[K, list[Client]]:
    """Clients by a key, in the order met."""
    groups: dict[K, list[Client]] = {}
    for client in clients:
        groups.setdefault(key(client), []).append(client)
    return groups


def deliver(
    clients: Sequence[Client],
    frames: Sequence[Frame],
    wire: Callable[[Sequence[Frame]], list[bytes]],
    writable: Callable[[Client], bool],
) -> Broadcast | None:
    """What to write straight to the caught-up clients; the others get the frames buffered.

    `wire` encodes the frames as messages; it runs once, and only if some client is written
    to directly. `writable` says whether a live client's socket keeps pace.
    """
    oldest = frames[0].key
    direct: list[Client] = []
    for client in clients:
        # A read that raced a resuming client's replay may hold deltas it already has:
        # its sender filters them out.
        fresh = oldest is None or oldest > client.last_key
        if fresh and client.live and writable(client):
            direct.append(client)
        else:
            for frame in frames:
                client.offer(frame)
    if not direct:
        return None
    newest = frames[-1].key
    if newest is not None:
        for client in direct:
            client.last_key = newest
    return Broadcast(tuple(direct), tuple(wire(frames)))


def fan_out(
    clients: Iterable[Client], entries: Sequence[Entry], writable: Callable[[Client], bool]
) -> tuple[list[Broadcast], int]:
    """Route one read of the events stream to every client that may see each event.

    Filtering and encoding happen once per audience. Returns the direct writes to make and
    how many entries were valid events (malformed ones are skipped).
    """
    routed: list[tuple[Route, Frame, Frame]] = []
    for stream_id, raw in entries:
        route = route_of(raw)
        if route is not None:
            # Screens get the short form, a unit's terminal the whole case it is sent to;
            # each is made once per entry, whatever the number of screens.
            whole = Frame.delta(stream_id, raw)
            short = Frame(screen_event(raw), whole.stream_id, whole.key)
            routed.append((route, short, whole))
    writes: list[Broadcast] = []
    for audience, members in grouped(clients, lambda c: c.audience).items():
        viewer = members[0].viewer
        terminal = viewer.unit_id is not None
        frames = [
            whole if terminal else short for route, short, whole in routed if viewer.sees(route)
        ]
        if frames:
            write = deliver(members, frames, wire_for(audience[1]), writable)
            if write is not None:
                writes.append(write)
    return writes, len(routed)


def catch_up(
    viewer: Viewer,
    since: str,
    oldest_held: str | None,
    missed: Sequence[Entry],
    replay_limit: int,
) -> tuple[Replay, str] | None:
    """The replay of exactly what a resuming client missed, and the id it ends at.

    `missed` are the stream's entries after `since` (read up to `replay_limit + 1` of them),
    `oldest_held` the stream's first id. None when the stream no longer holds `since` or too
    much was missed: the client needs a fresh snapshot instead.
    """
    still_held = oldest_held is not None and stream_id_key(oldest_held) <= stream_id_key(since)
    if not still_held or len(missed) > replay_limit:
        return None
    last = since
    deltas: list[DeltaItem] = []
    for stream_id, raw in missed:
        last = stream_id
        route = route_of(raw)
        if route is not None and viewer.sees(route):
            data = raw if viewer.unit_id is not None else screen_event(raw)
            deltas.append(DeltaItem(stream_id, msgspec.Raw(data)))
    return Replay(since=since, last_id=last, deltas=deltas), last
