"""Screen access: a token bound to a user and the widest jurisdiction that user may watch.

The gateway checks a subscription's scope against the grant on the server, so a township
coordinator's screen cannot ask for the county or another township.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import redis.asyncio as aioredis

from incidents.access import scope_prefix
from realtime.live_protocol import ProtocolError
from realtime.streams import StreamNames


class ScreenGrant(msgspec.Struct, frozen=True):
    """Who holds a token and the jurisdiction code it covers (with all below it)."""

    user: str
    scope: str


_grant = msgspec.json.Decoder(ScreenGrant)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def grant_screen(
    redis: aioredis.Redis, names: StreamNames, token: str, user: str, scope: str
) -> None:
    """Issue (or re-issue) a screen token for a user and scope; only its digest is stored."""
    grant = ScreenGrant(user=user, scope=scope)
    await redis.hset(names.screen_grants, _digest(token), msgspec.json.encode(grant))


async def revoke_screen(redis: aioredis.Redis, names: StreamNames, token: str) -> None:
    """Withdraw a token (connections already open keep running until they reconnect)."""
    await redis.hdel(names.screen_grants, _digest(token))


async def authorize(
    redis: aioredis.Redis, names: StreamNames, token: str | None, scope: str
) -> ScreenGrant:
    """The grant allowing this scope; raise ProtocolError when there is none."""
    if token is None:
        raise ProtocolError("this gateway requires a token in the subscribe message")
    stored: Any = await redis.hget(names.screen_grants, _digest(token))
    if stored is None:
        raise ProtocolError("unknown token")
    grant = _grant.decode(stored)
    if not scope_prefix(scope).startswith(scope_prefix(grant.scope)):
        raise ProtocolError(f"scope {scope} is outside what this token may watch")
    return grant
