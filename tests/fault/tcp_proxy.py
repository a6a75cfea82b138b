"""A TCP proxy a test can cut and restore: a server 'going away' without touching the server.

The target is a TCP server or a Unix socket (the embedded servers listen on sockets), and the
URL helpers turn a Redis or PostgreSQL URL into the proxy's target and back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; while cut, drops every connection at once."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        self._target = target  # (host, port), or the path of a Unix socket
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.cut_now = False
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until restore()."""
        self.cut_now = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        """Accept connections again."""
        self.cut_now = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            writer.transport.abort()
            return
        try:
            if isinstance(self._target, str):
                up_reader, up_writer = await asyncio.open_unix_connection(self._target)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.cut_now:
                    break
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


def target_of(url: str) -> tuple[str, int] | str:
    """Where a redis://, unix:// or postgresql:// URL (TCP or ?host=/socket/dir) connects."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    if parts.scheme.startswith("postgres"):
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        if socket_dir.startswith("/"):
            return f"{socket_dir}/.s.PGSQL.{parts.port or 5432}"
        return parts.hostname or "127.0.0.1", parts.port or 5432
    return parts.hostname or "127.0.0.1", parts.port or 6379


def via(url: str, port: int) -> str:
    """The same URL, reaching its server through a proxy on 127.0.0.1:`port`."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis://127.0.0.1:{port}/0"
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[TcpProxy]:
    """A started proxy to the server of `url`, stopped afterwards."""
    proxy = TcpProxy(target_of(url))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
