"""uvicorn's server, waking once a second when idle instead of ten times."""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

# uvicorn's own loop sleeps 0.1 s between ticks and refreshes its Date header every tenth:
# an idle dashboard woke ten times a second for that alone (measured with strace).
TICK_SECONDS = 1.0
_UVICORN_TICKS_PER_SECOND = 10


class QuietServer(uvicorn.Server):
    """Ticks once a second; a shutdown signal still ends the wait at once."""

    _exit: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's handler, then wake the tick so the server stops without waiting."""
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)

    async def main_loop(self) -> None:
        """uvicorn's main loop with a longer tick (on_tick sees the counter it expects)."""
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + _UVICORN_TICKS_PER_SECOND) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), TICK_SECONDS)
