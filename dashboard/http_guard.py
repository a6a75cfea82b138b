"""Browser protections for every HTTP request the command centre serves, as ASGI middleware.

- Only known `Host` headers are served (a DNS-rebinding page cannot reach the centre).
- Request bodies are capped (a flood of huge callback payloads cannot exhaust memory).
- State-changing requests (POST, PUT, PATCH, DELETE) must come from the centre's own pages:
  the `Origin`, when sent, must be this host, and the `X-CSRFToken` header must repeat the
  `_csrf_token` cookie (double submit; Dash's renderer sends that header by itself).
- Every response carries a restrictive Content-Security-Policy (everything is served
  locally; the inline scripts Dash writes are allowed by hash), no sniffing, no framing, no
  referrer, and the CSRF cookie (SameSite=Strict, Secure over HTTPS).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = b"x-csrftoken"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """What the guard allows: hosts, body size, the websocket origin, inline script hashes."""

    allowed_hosts: frozenset[str]  # host names without port
    max_body_bytes: int = 1024 * 1024
    ws_port: int | None = None  # the live gateway, which the page connects to
    # CSP sources of the inline scripts, quoted as Dash's `csp_hashes()` gives them: "'sha256-…'".
    script_hashes: tuple[str, ...] = ()
    # Server-rendered forms: they repeat the CSRF cookie in a field (a form cannot send the
    # header), which their routes check; the guard still checks their origin.
    form_paths: frozenset[str] = frozenset(
        {"/login", "/logout", "/password", "/admin", "/display", "/overdue/ack"}
    )


def content_security_policy(settings: GuardSettings, host: str) -> str:
    """The policy: this origin only, the gateway's websocket, Dash's inline scripts by hash."""
    connect = ["'self'"]
    if settings.ws_port is not None:
        connect += [f"ws://{host}:{settings.ws_port}", f"wss://{host}:{settings.ws_port}"]
    scripts = ["'self'", *settings.script_hashes]
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(scripts)}",
            # React and Leaflet set element styles from script; no style sheet comes from
            # elsewhere. Inline style attributes are what Dash components render.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _host_name(host_header: str | None) -> str | None:
    if not host_header:
        return None
    if host_header.startswith("["):  # [::1]:8050
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def cookie_in(scope: Scope, name: str) -> str | None:
    """The value of cookie `name` in the request's Cookie header, if any."""
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def refusal(reason: str) -> tuple[int, str]:
    """The status code and message of a refused request, by why it was refused."""
    codes = {"host": 421, "body": 413, "origin": 403, "csrf": 403}
    return codes[reason], {
        "host": "unknown host",
        "body": "request body too large",
        "origin": "cross-origin request refused",
        "csrf": "missing or wrong CSRF token",
    }[reason]


def check_request(settings: GuardSettings, scope: Scope) -> str | None:
    """Why a request must be refused before it reaches the app (None: let it through)."""
    host = _host_name(_header(scope, b"host"))
    if host is None or host not in settings.allowed_hosts:
        return "host"
    length = _header(scope, b"content-length")
    if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
        return "body"
    if scope.get("method") in _UNSAFE:
        origin = _header(scope, b"origin")
        if origin is not None and _host_name(origin.split("://", 1)[-1]) != host:
            return "origin"
        kind = _header(scope, b"content-type") or ""
        if scope.get("path") in settings.form_paths and kind.startswith(
            "application/x-www-form-urlencoded"
        ):
            return None
        sent = _header(scope, CSRF_HEADER)
        kept = cookie_in(scope, CSRF_COOKIE)
        if not sent or not kept or not hmac.compare_digest(sent, kept):
            return "csrf"
    return None


class HttpGuard:
    """ASGI middleware applying `check_request` and adding the protective headers."""

    def __init__(self, app: ASGIApp, settings: GuardSettings) -> None:
        self._app = app
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        why = check_request(self._settings, scope)
        if why is not None:
            await _refuse(send, *refusal(why))
            return
        host = _host_name(_header(scope, b"host")) or "127.0.0.1"
        secure = scope.get("scheme") == "https"
        needs_cookie = cookie_in(scope, CSRF_COOKIE) is None
        headers = list(_protective_headers(content_security_policy(self._settings, host)))
        if needs_cookie:
            flags = "Path=/; SameSite=Strict" + ("; Secure" if secure else "")
            token = secrets.token_urlsafe(32)
            headers.append((b"set-cookie", f"{CSRF_COOKIE}={token}; {flags}".encode()))
        received = 0
        limit = self._settings.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = list(message.get("headers", []))
                extra = headers
                if any(k == b"set-cookie" and v.startswith(CSRF_COOKIE.encode()) for k, v in own):
                    extra = [h for h in headers if h[0] != b"set-cookie"]  # the page set its own
                message["headers"] = [*own, *extra]
            await send(message)

        try:
            await self._app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _refuse(send, *refusal("body"))


class BodyTooLarge(Exception):
    """A streamed request body grew past the limit."""


def _protective_headers(policy: str) -> Iterable[tuple[bytes, bytes]]:
    yield b"content-security-policy", policy.encode()
    yield b"x-content-type-options", b"nosniff"
    yield b"x-frame-options", b"DENY"
    # same-origin, not no-referrer: with no-referrer a form post carries `Origin: null`.
    yield b"referrer-policy", b"same-origin"
    yield b"cross-origin-opener-policy", b"same-origin"
    yield b"permissions-policy", b"camera=(), microphone=(), geolocation=()"


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *_protective_headers("default-src 'none'; frame-ancestors 'none'"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
