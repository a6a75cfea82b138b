"""The HTTP guard in front of the command centre, driven as the ASGI server drives it."""

from __future__ import annotations

import asyncio
from typing import Any

from dashboard.http_guard import CSRF_COOKIE, GuardSettings, HttpGuard, content_security_policy

SETTINGS = GuardSettings(
    allowed_hosts=frozenset({"127.0.0.1", "localhost"}),
    max_body_bytes=1000,
    ws_port=8765,
    script_hashes=("'sha256-abc='",),
)


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A tiny app that reads the whole body and answers 200 with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(
    method: str = "GET",
    host: str = "127.0.0.1:8050",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    chunks: int = 1,
) -> tuple[int, dict[str, list[str]], bytes]:
    """One request through the guard: (status, response headers, body)."""
    raw = [(b"host", host.encode())] + [
        (k.lower().encode(), v.encode()) for k, v in (headers or {}).items()
    ]
    scope = {"type": "http", "method": method, "path": "/", "headers": raw, "scheme": "http"}
    parts = [body[i::chunks] for i in range(chunks)] if chunks > 1 else [body]
    pending = list(parts)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        part = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": part, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(HttpGuard(echo_app, SETTINGS)(scope, receive, send))
    start = sent[0]
    found: dict[str, list[str]] = {}
    for key, value in start["headers"]:
        found.setdefault(key.decode(), []).append(value.decode())
    return start["status"], found, b"".join(m.get("body", b"") for m in sent[1:])


def test_pages_carry_the_protective_headers_and_a_csrf_cookie() -> None:
    """CSP, no sniffing, no framing, no referrer; a SameSite=Strict CSRF cookie, not HttpOnly."""
    status, headers, _ = call()
    assert status == 200
    policy = headers["content-security-policy"][0]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'sha256-abc='" in policy and "ws://127.0.0.1:8765" in policy
    assert "http:" not in policy.replace("ws://", "") and "*" not in policy
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["referrer-policy"] == ["same-origin"]
    (cookie,) = headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "SameSite=Strict" in cookie
    assert "HttpOnly" not in cookie  # the page's script must read it to send it back


def test_unknown_hosts_are_refused() -> None:
    """A request for another host name (DNS rebinding) gets 421 and never reaches the app."""
    assert call(host="evil.example:8050")[0] == 421
    assert call(host="")[0] == 421
    assert call(host="localhost:8050")[0] == 200


def test_state_changing_requests_need_the_csrf_token_and_this_origin() -> None:
    """POST without the token, with a wrong one, or from another origin: 403."""
    token = "t" * 43
    cookie = f"{CSRF_COOKIE}={token}"
    assert call("POST", headers={"cookie": cookie})[0] == 403
    assert call("POST", headers={"cookie": cookie, "x-csrftoken": "x" * 43})[0] == 403
    assert call("POST", headers={"x-csrftoken": token})[0] == 403
    foreign = {"cookie": cookie, "x-csrftoken": token, "origin": "http://evil.example"}
    assert call("POST", headers=foreign)[0] == 403
    good = {"cookie": cookie, "x-csrftoken": token, "origin": "http://127.0.0.1:8050"}
    assert call("POST", headers=good)[0] == 200
    assert call("GET", headers={"origin": "http://evil.example"})[0] == 200


def test_bodies_over_the_limit_are_refused_declared_or_streamed() -> None:
    """A declared Content-Length over the cap is 413; so is a streamed body that grows past it."""
    token = "t" * 43
    allowed = {"cookie": f"{CSRF_COOKIE}={token}", "x-csrftoken": token}
    assert call("POST", headers={**allowed, "content-length": "5000"})[0] == 413
    status, _, body = call("POST", headers=allowed, body=b"x" * 900, chunks=3)
    assert (status, body) == (200, b"900")
    assert call("POST", headers=allowed, body=b"x" * 3000, chunks=3)[0] == 413


def test_the_policy_allows_no_other_origin() -> None:
    """Every source list holds only 'self', the gateway socket and the inline script hashes."""
    policy = content_security_policy(SETTINGS, "localhost")
    for directive in policy.split("; "):
        name, *sources = directive.split()
        for source in sources:
            assert source in (
                "'self'",
                "'none'",
                "'unsafe-inline'",
                "data:",
                "blob:",
                "'sha256-abc='",
                "ws://localhost:8765",
                "wss://localhost:8765",
            ), (name, source)
