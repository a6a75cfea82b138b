"""A tiny HTTP endpoint (/healthz, /metrics) a worker or gateway can run beside its loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeResponse:
    """Status code, content type and body of one answer."""

    status: int
    content_type: str
    body: str


Route = Callable[[], Awaitable[ProbeResponse]]
_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Unavailable"}


def json_response(status: int, document: object) -> ProbeResponse:
    """A JSON answer."""
    return ProbeResponse(status, "application/json", json.dumps(document, ensure_ascii=False))


async def serve_probe(host: str, port: int, routes: dict[str, Route], stop: asyncio.Event) -> None:
    """Answer GET requests on the given paths until `stop` is set (HTTP/1.0, one per connection)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = request.split(b" ", 2)
            path = parts[1].decode("ascii", "replace").split("?")[0] if len(parts) > 1 else ""
            route = routes.get(path)
            if route is None:
                response = ProbeResponse(404, "text/plain", "not found\n")
            else:
                try:
                    response = await route()
                except Exception as exc:
                    log.exception("probe route %s failed", path)
                    response = ProbeResponse(500, "text/plain", f"{exc!r}\n")
            body = response.body.encode("utf-8")
            head = (
                f"HTTP/1.0 {response.status} {_REASONS.get(response.status, 'OK')}\r\n"
                f"Content-Type: {response.content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("ascii")
            writer.write(head + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    async with server:
        await stop.wait()
