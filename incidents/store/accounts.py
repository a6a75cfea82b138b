"""Accounts, sessions, lock-out, scope grants, wall-screen tokens and the audit trail.

Passwords are hashed with argon2id through argon2-cffi's `PasswordHasher()` with its default
parameters (argon2id, RFC 9106's low-memory profile: t=3, 64 MiB, p=4 at the time of writing).
We keep the library's defaults on purpose: when a release raises them, `check_needs_rehash`
notices on the user's next sign-in and the hash is upgraded then.

Session and display tokens are 256-bit random secrets; only their SHA-256 is stored. argon2 is
for low-entropy secrets people choose; a random token cannot be guessed, so a fast hash loses
nothing, and it lets a request find its session by a direct primary-key lookup.

Every function runs in the caller's connection, and time (`now`) is always passed in. Only
`authenticate` writes to the audit trail itself (it alone knows why a sign-in failed); other
callers record what they did with `record_audit`. Nothing this module writes, to the trail or
to the lock-out counters, ever contains a password, a token or the name typed for an unknown
account (people type passwords into the name field).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError
from msgspec.structs import replace

from incidents.access import Grant as ScopeGrant
from incidents.access import Principal, Role
from incidents.store import lockout
from incidents.store.case_store import Conn
from incidents.store.lockout import DEFAULT_LOCKOUT, LockoutRules

SessionKind = Literal["user", "display"]
LoginReason = Literal["ok", "bad_credentials", "locked", "disabled"]
AuditOutcome = Literal["allowed", "refused", "failed"]

# The browser cookie that carries a session token (set by the sign-in page, read by the gateway).
SESSION_COOKIE: Final = "pingan_session"
# A wall screen's cookie: its display token itself, set once at /display (long-lived by design:
# a wall runs for months; revoking the token ends it at once on the page and the socket).
DISPLAY_COOKIE: Final = "pingan_display"

# Keep argon2-cffi's defaults (argon2id): see the module docstring.
_HASHER: Final = PasswordHasher()

USERNAME: Final = re.compile(r"[a-z0-9._-]{3,32}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
MIN_PASSWORD_LENGTH: Final = 10
# argon2 copes with any length, but a megabyte "password" is an attempt to waste our CPU.
MAX_PASSWORD_LENGTH: Final = 1024
# Passwords that pass the length and character rules yet are among the first an attacker tries.
COMMON_PASSWORDS: Final = frozenset(
    {
        "password123",
        "password1234",
        "password123!",
        "password1!",
        "p@ssw0rd123",
        "p@ssword123",
        "passw0rd123",
        "qwerty12345",
        "qwerty123456",
        "qwerty123!",
        "qwer1234!@#$",
        "1qaz@wsx3edc",
        "1qaz2wsx#edc",
        "zaq12wsxcde3",
        "admin123456",
        "admin@12345",
        "admin@123456",
        "administrator1",
        "welcome123!",
        "welcome1234",
        "abcd@12345",
        "abc123456789",
        "aa123456789",
        "iloveyou123",
        "woaini1314!",
        "changeme123",
        "letmein12345",
    }
)
# A request's last_seen_at is written at most this often: one write per request would cost
# more than the precision is worth (a session may end this much earlier than its idle limit).
SEEN_REFRESH: Final = timedelta(seconds=30)


class AccountError(ValueError):
    """An account request that cannot be carried out as asked."""


class PasswordRejected(AccountError):
    """A new password that breaks the password rules."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class UsernameTaken(AccountError):
    """An account with that username already exists."""


class User(msgspec.Struct, frozen=True):
    """An account as the rest of the system sees it (never with its password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    jurisdiction: str
    must_change_password: bool
    disabled: bool
    created_at: datetime
    updated_at: datetime


class LoginResult(msgspec.Struct, frozen=True):
    """What a sign-in attempt came to; `retry_after_seconds` is set while a lock is on."""

    ok: bool
    user: User | None
    reason: LoginReason
    retry_after_seconds: int | None = None


class Session(msgspec.Struct, frozen=True):
    """A live session; `id` is the SHA-256 of its token, the account fields are current."""

    id: str
    user_id: int
    username: str
    role: str
    jurisdiction: str
    kind: SessionKind
    csrf_token: str
    must_change_password: bool
    created_at: datetime
    last_seen_at: datetime
    idle_timeout_seconds: int
    absolute_expires_at: datetime
    source_address: str | None

    @property
    def expires_at(self) -> datetime:
        """When the session ends unless it is used again first."""
        idle_end = self.last_seen_at + timedelta(seconds=self.idle_timeout_seconds)
        return min(idle_end, self.absolute_expires_at)


class Grant(msgspec.Struct, frozen=True):
    """A scope given to a user for a while, with who gave it and why."""

    id: int
    user_id: int
    scope: str
    granted_by: str
    reason: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class Display(msgspec.Struct, frozen=True):
    """A wall screen allowed to show one jurisdiction; `id` is the SHA-256 of its token."""

    id: str
    label: str
    jurisdiction: str
    created_by: str
    created_at: datetime


def display_session(display: Display, source_address: str | None, now: datetime) -> Session:
    """The session a wall screen's token stands for: role wall_screen, its jurisdiction only."""
    return Session(
        id=display.id,
        user_id=0,  # a display is not a person: no account behind it
        username="display:" + display.label,
        role="wall_screen",
        jurisdiction=display.jurisdiction,
        kind="display",
        csrf_token="",
        must_change_password=False,
        created_at=display.created_at,
        last_seen_at=now,
        # Never idle: a wall is watched, not clicked. It ends when its token is revoked.
        idle_timeout_seconds=10 * 365 * 86_400,
        absolute_expires_at=now + timedelta(days=3650),
        source_address=source_address,
    )


class AuditEntry(msgspec.Struct, frozen=True):
    """One line of the audit trail."""

    id: int
    at: datetime
    user_id: str | None
    role: str | None
    source_address: str | None
    action: str
    outcome: AuditOutcome
    case_id: int | None
    detail: str | None


# --- passwords ------------------------------------------------------------------------------


def check_password_rules(password: str, username: str) -> list[str]:
    """The ways a proposed password breaks the rules, in English; empty when it is fine."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    kinds = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        # Anything else counts as "other", Chinese characters included.
        any(not (c.islower() or c.isupper() or c.isdigit()) for c in password),
    )
    if sum(kinds) < 3:
        problems.append(
            "must use at least 3 of: lower-case letters, upper-case letters, digits,"
            " other characters"
        )
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        problems.append("must not contain the username")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("is one of the most common passwords")
    return problems


def _hash_password(password: str) -> str:
    """An argon2id hash of a password (slow on purpose: run it off the event loop)."""
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, verified for unknown users so they take as long."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def _verify(stored: str | None, password: str) -> bool:
    """Whether the password matches; an unknown user (None) costs the same and never does."""
    try:
        if stored is None:
            _HASHER.verify(_dummy_hash(), password)
            return False
        return _HASHER.verify(stored, password)
    except (Argon2Error, InvalidHashError):
        return False


def _checked_password(password: str, username: str) -> None:
    """Raise PasswordRejected when the password breaks a rule."""
    problems = check_password_rules(password, username)
    if problems:
        raise PasswordRejected(problems)


def _checked_username(username: str) -> str:
    """The stored form of a username, or AccountError when it is not allowed."""
    name = username.strip().lower()
    if USERNAME.fullmatch(name) is None:
        raise AccountError("a username is 3 to 32 of a-z, 0-9, '.', '_' and '-'")
    return name


# --- accounts -------------------------------------------------------------------------------

_USER_COLUMNS = (
    "id, username, display_name, role, jurisdiction, must_change_password, disabled,"
    " created_at, updated_at"
)


def _user(row: Mapping[str, Any]) -> User:
    """A User from a row holding _USER_COLUMNS."""
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        jurisdiction=row["jurisdiction"],
        must_change_password=row["must_change_password"],
        disabled=row["disabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _require_jurisdiction(conn: Conn, code: str) -> None:
    """AccountError unless the jurisdiction exists (checked first so no statement fails)."""
    if await conn.fetchval("SELECT 1 FROM jurisdictions WHERE code = $1", code) is None:
        raise AccountError(f"unknown jurisdiction {code!r}")


async def create_user(
    conn: Conn,
    username: str,
    display_name: str,
    role: str,
    jurisdiction: str,
    password: str,
    now: datetime,
    must_change: bool = True,
) -> User:
    """Create an account; raise AccountError, PasswordRejected or UsernameTaken."""
    name = _checked_username(username)
    if not display_name.strip() or not role.strip():
        raise AccountError("a user needs a display name and a role")
    _checked_password(password, name)
    await _require_jurisdiction(conn, jurisdiction)
    password_hash = await asyncio.to_thread(_hash_password, password)
    row = await conn.fetchrow(
        "INSERT INTO users (username, display_name, role, jurisdiction, password_hash,"
        " must_change_password, disabled, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, false, $7, $7)"
        f" ON CONFLICT (username) DO NOTHING RETURNING {_USER_COLUMNS}",
        name,
        display_name.strip(),
        role.strip(),
        jurisdiction,
        password_hash,
        must_change,
        now,
    )
    if row is None:
        raise UsernameTaken(f"username {name!r} is taken")
    return _user(row)


async def get_user(conn: Conn, username: str) -> User | None:
    """The account with this username, or None."""
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE username = $1", username.strip().lower()
    )
    return None if row is None else _user(row)


async def reset_password(
    conn: Conn, username: str, password: str, now: datetime, must_change: bool = True
) -> bool:
    """Set a new password (PasswordRejected if it breaks a rule); False for an unknown user."""
    # Sessions stay open (a user changing their own password keeps the one they are in): an
    # admin reset should also call revoke_user_sessions.
    name = username.strip().lower()
    _checked_password(password, name)
    password_hash = await asyncio.to_thread(_hash_password, password)
    status = await conn.execute(
        "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4"
        " WHERE username = $1",
        name,
        password_hash,
        must_change,
        now,
    )
    return status == "UPDATE 1"


async def disable_user(conn: Conn, username: str, now: datetime) -> bool:
    """Disable an account and end its sessions; False for an unknown user."""
    async with conn.transaction():
        user_id = await conn.fetchval(
            "UPDATE users SET disabled = true, updated_at = $2 WHERE username = $1 RETURNING id",
            username.strip().lower(),
            now,
        )
        if user_id is None:
            return False
        await revoke_user_sessions(conn, user_id, now)
    return True


# --- signing in -----------------------------------------------------------------------------


def _name_key(name: str, known: bool) -> str:
    """The lock-out key of a name: 'user:<username>', or a short digest for an unknown name."""
    if known:
        return "user:" + name
    # People type passwords into the name field. 24 bits of the digest cannot give the text
    # back (millions of inputs share each value); unknown names that share one only share a
    # counter, which protects no one.
    return "user:?" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]


async def authenticate(
    conn: Conn,
    username: str,
    password: str,
    source_address: str | None,
    now: datetime,
    rules: LockoutRules = DEFAULT_LOCKOUT,
) -> LoginResult:
    """Check a sign-in against the password and both lock-outs; record it in the audit trail."""
    name = username.strip().lower()
    async with conn.transaction():
        user_row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = $1", name
        )
        user = None if user_row is None else _user(user_row)
        user_key = _name_key(name, known=user is not None)
        limits = {user_key: rules.max_failures}
        if source_address:
            limits[lockout.address_key(source_address)] = rules.max_address_failures
        attempt = await lockout.gate(conn, limits, now, rules)

        async def audit(outcome: AuditOutcome, detail: str) -> None:
            """Record this attempt: the account if it exists, never the name typed."""
            await record_audit(
                conn,
                at=now,
                user_id=None if user is None else user.username,
                role=None if user is None else user.role,
                source_address=source_address,
                action="login",
                outcome=outcome,
                detail=detail,
            )

        # Locked: refused without looking at the password, so guessing gains nothing. Known
        # and unknown names lock alike, so a lock tells nothing about who exists.
        waits = attempt.locked()
        if waits:
            which = attempt.locked_words()
            await audit("refused", f"locked ({which})" + ("" if user else "; unknown user"))
            return LoginResult(False, None, "locked", max(waits.values()))

        # An unknown name costs a dummy verify and counts like a wrong password: the answer
        # and its timing are the same either way.
        stored = None if user_row is None else user_row["password_hash"]
        if not await asyncio.to_thread(_verify, stored, password):
            started = await attempt.fail()
            detail = "wrong password" if user else "unknown user"
            await audit("failed", "; ".join([detail, *lockout.started_words(started)]))
            return LoginResult(False, None, "bad_credentials", max(started.values()) or None)

        assert user is not None and stored is not None
        if user.disabled:
            await audit("refused", "account disabled")
            return LoginResult(False, None, "disabled")
        # Success clears the account's failures only: the lock-out count stays (so an attack
        # that resumes keeps doubling until forget_after_seconds), and the address's failures
        # stay (else one valid account would let an address reset its own counter).
        await attempt.clear(user_key)
        detail = "signed in"
        if _HASHER.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(_hash_password, password)
            await conn.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1", user.id, rehashed
            )
            detail += "; password hash upgraded"
        await audit("allowed", detail)
        return LoginResult(True, user, "ok")


def token_digest(token: str) -> str:
    """The SHA-256 hex under which a token's row is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _row_key(token_or_id: str) -> str:
    """A stored id as given, or a token's digest (tokens are 43 characters, never 64 hex)."""
    return token_or_id if _HEX64.fullmatch(token_or_id) else token_digest(token_or_id)


async def open_session(
    conn: Conn,
    user: User,
    kind: SessionKind,
    source_address: str | None,
    now: datetime,
    idle_timeout_seconds: int = 1800,
    absolute_seconds: int = 12 * 3600,
) -> tuple[str, Session]:
    """Start a session; the token is returned once and never stored."""
    if kind not in ("user", "display"):
        raise AccountError(f"unknown session kind {kind!r}")
    if user.disabled:
        raise AccountError("a disabled user cannot open a session")
    if idle_timeout_seconds < 1 or absolute_seconds < 1:
        raise AccountError("session timeouts must be positive")
    token = secrets.token_urlsafe(32)
    session = Session(
        id=token_digest(token),
        user_id=user.id,
        username=user.username,
        role=user.role,
        jurisdiction=user.jurisdiction,
        kind=kind,
        csrf_token=secrets.token_urlsafe(32),
        must_change_password=user.must_change_password,
        created_at=now,
        last_seen_at=now,
        idle_timeout_seconds=idle_timeout_seconds,
        absolute_expires_at=now + timedelta(seconds=absolute_seconds),
        source_address=source_address,
    )
    await conn.execute(
        "INSERT INTO sessions (id, user_id, kind, csrf_token, created_at, last_seen_at,"
        " idle_timeout_seconds, absolute_expires_at, source_address)"
        " VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
        session.id,
        session.user_id,
        session.kind,
        session.csrf_token,
        now,
        idle_timeout_seconds,
        session.absolute_expires_at,
        source_address,
    )
    return token, session


async def session_of(conn: Conn, token: str, now: datetime) -> Session | None:
    """The live session of a token, or None (unknown, revoked, idle, expired, user disabled)."""
    if not token:
        return None
    row = await conn.fetchrow(
        "SELECT s.id, s.user_id, s.kind, s.csrf_token, s.created_at, s.last_seen_at,"
        " s.idle_timeout_seconds, s.absolute_expires_at, s.revoked_at, s.source_address,"
        " u.username, u.role, u.jurisdiction, u.must_change_password, u.disabled"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        token_digest(token),
    )
    if row is None or row["revoked_at"] is not None or row["disabled"]:
        return None
    session = Session(
        id=row["id"],
        user_id=row["user_id"],
        username=row["username"],
        role=row["role"],
        jurisdiction=row["jurisdiction"],
        kind=row["kind"],
        csrf_token=row["csrf_token"],
        must_change_password=row["must_change_password"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        idle_timeout_seconds=row["idle_timeout_seconds"],
        absolute_expires_at=row["absolute_expires_at"],
        source_address=row["source_address"],
    )
    if now >= session.expires_at:
        return None
    if now - session.last_seen_at >= SEEN_REFRESH:
        await conn.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
            session.id,
            now,
        )
        session = replace(session, last_seen_at=now)
    return session


async def revoke_session(conn: Conn, token_or_id: str, now: datetime) -> bool:
    """End one session, given its token or its id; False if it was not live."""
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        _row_key(token_or_id),
        now,
    )
    return status == "UPDATE 1"


async def revoke_user_sessions(conn: Conn, user_id: int, now: datetime) -> int:
    """End every live session of a user (log out everywhere); how many were ended."""
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
        now,
    )
    return int(status.split()[-1])


# --- scope grants ---------------------------------------------------------------------------

_GRANT_COLUMNS = "id, user_id, scope, granted_by, reason, created_at, expires_at, revoked_at"


def _grant(row: Mapping[str, Any]) -> Grant:
    """A Grant from a row holding _GRANT_COLUMNS."""
    return Grant(
        id=row["id"],
        user_id=row["user_id"],
        scope=row["scope"],
        granted_by=row["granted_by"],
        reason=row["reason"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def grant_scope(
    conn: Conn,
    user_id: int,
    scope: str,
    granted_by: str,
    reason: str,
    expires_at: datetime,
    now: datetime,
) -> Grant:
    """Give a user a scope until `expires_at`; a grant always ends, and always has a reason."""
    if expires_at <= now:
        raise AccountError("a grant must expire after it is made")
    if not scope.strip() or not granted_by.strip() or not reason.strip():
        raise AccountError("a grant needs a scope, who granted it and a reason")
    row = await conn.fetchrow(
        "INSERT INTO scope_grants (user_id, scope, granted_by, reason, created_at, expires_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_GRANT_COLUMNS}",
        user_id,
        scope.strip(),
        granted_by.strip(),
        reason.strip(),
        now,
        expires_at,
    )
    assert row is not None
    return _grant(row)


async def active_grants(conn: Conn, user_id: int, now: datetime) -> list[Grant]:
    """A user's grants in force at `now`, soonest to expire first."""
    rows = await conn.fetch(
        f"SELECT {_GRANT_COLUMNS} FROM scope_grants"
        " WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2"
        " ORDER BY expires_at, id",
        user_id,
        now,
    )
    return [_grant(row) for row in rows]


async def principal_of(conn: Conn, session: Session, now: datetime) -> Principal | None:
    """Whom the access rule judges for a session: its role, jurisdiction and live grants.

    None for a role this build does not know. Grants are read on every call, so a revoked or
    expired grant stops counting at once; a wall screen's session has none.
    """
    try:
        role = Role(session.role)
    except ValueError:
        return None
    grants = [] if session.kind == "display" else await active_grants(conn, session.user_id, now)
    return Principal(
        user_id=session.username,
        role=role,
        jurisdiction=session.jurisdiction,
        grants=tuple(ScopeGrant(g.scope, g.expires_at, g.granted_by, g.reason) for g in grants),
    )


async def revoke_grant(conn: Conn, grant_id: int, now: datetime) -> bool:
    """End a grant early; False if it was already revoked or does not exist."""
    status = await conn.execute(
        "UPDATE scope_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        grant_id,
        now,
    )
    return status == "UPDATE 1"


# --- wall-screen tokens ---------------------------------------------------------------------


async def create_display_token(
    conn: Conn, label: str, jurisdiction: str, created_by: str, now: datetime
) -> str:
    """A new wall-screen token: show it once, only its SHA-256 is kept."""
    if not label.strip() or not created_by.strip():
        raise AccountError("a display token needs a label and who created it")
    await _require_jurisdiction(conn, jurisdiction)
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO display_tokens (id, label, jurisdiction, created_by, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_digest(token),
        label.strip(),
        jurisdiction,
        created_by.strip(),
        now,
    )
    return token


async def display_of(conn: Conn, token: str, now: datetime) -> Display | None:
    """The wall screen a token stands for, or None if unknown or revoked."""
    # `now` is not needed yet (display tokens do not expire); callers pass it so that an
    # expiry can come later without touching them.
    if not token:
        return None
    row = await conn.fetchrow(
        "SELECT id, label, jurisdiction, created_by, created_at FROM display_tokens"
        " WHERE id = $1 AND revoked_at IS NULL",
        token_digest(token),
    )
    if row is None:
        return None
    return Display(
        id=row["id"],
        label=row["label"],
        jurisdiction=row["jurisdiction"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class DisplaySignIn(msgspec.Struct, frozen=True):
    """What entering a display token came to; `display` is set only when it is accepted."""

    display: Display | None
    reason: LoginReason
    retry_after_seconds: int | None = None


async def sign_in_display(
    conn: Conn,
    token: str,
    source_address: str | None,
    now: datetime,
    rules: LockoutRules = DEFAULT_LOCKOUT,
) -> DisplaySignIn:
    """Check a display token typed at a wall screen, under the address lock-out; audit it."""
    async with conn.transaction():
        # Tokens have no name to count against: the address (and one key for all displays,
        # so a spread-out guessing run is slowed too) carry the failures.
        limits = {"display:*": rules.max_address_failures}
        if source_address:
            limits[lockout.address_key(source_address)] = rules.max_failures
        attempt = await lockout.gate(conn, limits, now, rules)
        waits = attempt.locked()
        display = None if waits else await display_of(conn, token.strip(), now)

        async def audit(outcome: AuditOutcome, detail: str) -> None:
            await record_audit(
                conn,
                at=now,
                user_id=None if display is None else "display:" + display.label,
                role="wall_screen",
                source_address=source_address,
                action="display.sign_in",
                outcome=outcome,
                detail=detail,
            )

        if waits:
            await audit("refused", f"locked ({attempt.locked_words()})")
            return DisplaySignIn(None, "locked", max(waits.values()))
        if display is None:
            started = await attempt.fail()
            await audit(
                "failed", "; ".join(["unknown or revoked token", *lockout.started_words(started)])
            )
            return DisplaySignIn(None, "bad_credentials", max(started.values()) or None)
        await audit("allowed", f"jurisdiction {display.jurisdiction}")
        return DisplaySignIn(display, "ok")


async def revoke_display_token(conn: Conn, token_or_id: str, now: datetime) -> bool:
    """Withdraw a wall-screen token, given the token or its id; False if it was not live."""
    status = await conn.execute(
        "UPDATE display_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        _row_key(token_or_id),
        now,
    )
    return status == "UPDATE 1"


# --- the audit trail ------------------------------------------------------------------------

_OUTCOMES: Final = frozenset({"allowed", "refused", "failed"})


async def record_audit(
    conn: Conn,
    *,
    at: datetime,
    user_id: str | None,
    role: str | None,
    source_address: str | None,
    action: str,
    outcome: AuditOutcome,
    case_id: int | None = None,
    detail: str | None = None,
) -> int:
    """Append one line to the audit trail (the caller keeps secrets out of `detail`)."""
    if outcome not in _OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    entry_id: int = await conn.fetchval(
        "INSERT INTO audit_log (at, user_id, role, source_address, action, outcome, case_id,"
        " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        at,
        user_id,
        role,
        source_address,
        action,
        outcome,
        case_id,
        detail,
    )
    return entry_id


async def audit_entries(
    conn: Conn,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: str | None = None,
    action: str | None = None,
    outcome: AuditOutcome | None = None,
    case_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit lines matching every filter given (`since` inclusive, `until` not), newest first."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    # Only the filters given go into the statement: the pool forces generic plans, and
    # "$1 IS NULL OR at >= $1" would keep PostgreSQL from using the indexes.
    conditions: list[str] = []
    args: list[Any] = []
    for clause, value in (
        ("at >= $", since),
        ("at < $", until),
        ("user_id = $", user_id),
        ("action = $", action),
        ("outcome = $", outcome),
        ("case_id = $", case_id),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{clause}{len(args)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    args += [limit, offset]
    rows = await conn.fetch(
        "SELECT id, at, user_id, role, source_address, action, outcome, case_id, detail"
        f" FROM audit_log{where} ORDER BY at DESC, id DESC"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )
    return [
        AuditEntry(
            id=row["id"],
            at=row["at"],
            user_id=row["user_id"],
            role=row["role"],
            source_address=row["source_address"],
            action=row["action"],
            outcome=row["outcome"],
            case_id=row["case_id"],
            detail=row["detail"],
        )
        for row in rows
    ]


async def live_session_ids(conn: Conn, session_ids: Sequence[str], now: datetime) -> set[str]:
    """Which of these session ids are live at `now`, without counting this as their use.

    For holders of long-lived connections (the live gateway) re-checking their sessions: an
    open page is not activity, so a session left idle still ends.
    """
    rows = await conn.fetch(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id = ANY($1::text[]) AND s.revoked_at IS NULL AND NOT u.disabled"
        " AND s.absolute_expires_at > $2"
        " AND s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > $2"
        " UNION ALL SELECT id FROM display_tokens"
        " WHERE id = ANY($1::text[]) AND revoked_at IS NULL",
        list(session_ids),
        now,
    )
    return {row["id"] for row in rows}
