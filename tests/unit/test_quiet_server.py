"""The dashboard's uvicorn server ticks once a second yet stops at once on a signal."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from typing import Any

import uvicorn

from dashboard.quiet_server import TICK_SECONDS, QuietServer


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _get(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = await reader.read()
    writer.close()
    return body


def test_it_serves_ticks_slowly_and_stops_on_a_signal_before_the_next_tick() -> None:
    port = _free_port()
    server = QuietServer(uvicorn.Config(_hello, host="127.0.0.1", port=port, log_level="error"))
    ticks: list[int] = []
    original = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await original(counter)

    server.on_tick = counted  # type: ignore[method-assign]

    async def scenario() -> float:
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no event for it)
            await asyncio.sleep(0.01)
        reply = await _get(port)
        assert reply.startswith(b"HTTP/1.1 200") and b"\r\nok\r\n" in reply
        assert b"date: " in reply.lower(), "the Date header is still set on each tick"
        await asyncio.sleep(TICK_SECONDS * 1.5)
        asked = time.monotonic()
        server.handle_exit(signal.SIGTERM, None)
        await asyncio.wait_for(task, TICK_SECONDS * 0.9)
        return time.monotonic() - asked

    # Off the main thread uvicorn installs no signal handlers (nor re-raises the signal).
    result: list[float] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    runner.start()
    runner.join(30)
    assert result, "the server did not stop"
    took = result[0]
    assert took < TICK_SECONDS * 0.9
    # About 1.5 s served: uvicorn's own loop would have ticked ~15 times, this one 2-3.
    assert 2 <= len(ticks) <= 4, ticks
    assert all(counter % 10 == 0 for counter in ticks), "on_tick refreshes its date each call"
