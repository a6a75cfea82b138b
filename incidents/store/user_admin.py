"""Administering accounts: one-time passwords, the demo county's users, listing, revoking.

What `app.py users …` and `make run` call. A password is never chosen on a command line
(it would stay in the shell's history): each new or reset account gets a one-time password,
shown once, that the user must change at first sign-in.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.access import Role
from incidents.store.accounts import (
    User,
    check_password_rules,
    create_display_token,
    create_user,
    get_user,
    record_audit,
    reset_password,
    revoke_display_token,
    revoke_user_sessions,
)
from incidents.store.case_store import Conn

_ALPHABET = string.ascii_letters + string.digits
_SYMBOLS = "!#%+-=?@"


def one_time_password(length: int = 14) -> str:
    """A random password that meets the password rules (letters of both cases, a digit, a sign)."""
    while True:
        chosen = [secrets.choice(_ALPHABET) for _ in range(length - 2)]
        chosen += [secrets.choice(string.digits), secrets.choice(_SYMBOLS)]
        secrets.SystemRandom().shuffle(chosen)
        password = "".join(chosen)
        if not check_password_rules(password, "x" * 40):
            return password


@dataclass(frozen=True, slots=True)
class DemoUser:
    """One demo account: who, in which role, where."""

    username: str
    display_name: str
    role: Role
    jurisdiction: str


# Every role, in the demo county (高淳区): the county centre, two townships, a village, a grid.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("director", "中心主任 陈明", Role.COUNTY_DIRECTOR, "320118000000"),
    DemoUser("duty", "值班员 李华", Role.COUNTY_DUTY_OFFICER, "320118000000"),
    DemoUser("analyst", "研判员 周宁", Role.COUNTY_ANALYST, "320118000000"),
    DemoUser("chunxi", "淳溪街道综治中心 王芳", Role.TOWNSHIP_COORDINATOR, "320118001000"),
    DemoUser("yangjiang", "阳江镇综治中心 赵强", Role.TOWNSHIP_COORDINATOR, "320118101000"),
    DemoUser("shengli", "胜利村综治办 孙丽", Role.VILLAGE_OFFICER, "320118101205"),
    DemoUser("grid", "网格员 吴勇", Role.GRID_WORKER, "320118101205-G01"),
    DemoUser("auditor", "审计员 郑洁", Role.AUDITOR, "320118000000"),
    DemoUser("admin", "系统管理员", Role.ADMINISTRATOR, "320118000000"),
)
DEMO_WALL_LABEL = "指挥大厅大屏 (demo)"


@dataclass(frozen=True, slots=True)
class Issued:
    """An account (or a wall screen) and the secret it was just given, to be shown once."""

    who: str
    role: str
    jurisdiction: str
    secret: str


async def create_demo_users(conn: Conn, now: datetime, actor: str = "system:demo") -> list[Issued]:
    """Create the demo accounts that do not exist yet; return them with one-time passwords.

    Accounts created by an earlier run keep their passwords (reset them with
    `app.py users reset-password`). The wall screen gets a display token the first time.
    """
    issued: list[Issued] = []
    for demo in DEMO_USERS:
        if await get_user(conn, demo.username) is not None:
            continue
        password = one_time_password()
        await create_user(
            conn,
            demo.username,
            demo.display_name,
            demo.role.value,
            demo.jurisdiction,
            password,
            now,
            must_change=True,
        )
        await _audit(conn, now, actor, "user.created", demo.username)
        issued.append(Issued(demo.username, demo.role.value, demo.jurisdiction, password))
    walls = await conn.fetchval(
        "SELECT count(*) FROM display_tokens WHERE label = $1", DEMO_WALL_LABEL
    )
    if not walls:
        token = await create_display_token(conn, DEMO_WALL_LABEL, "320118000000", actor, now)
        await _audit(conn, now, actor, "display_token.created", DEMO_WALL_LABEL)
        issued.append(Issued(DEMO_WALL_LABEL, Role.WALL_SCREEN.value, "320118000000", token))
    return issued


async def add_user(
    conn: Conn,
    username: str,
    display_name: str,
    role: Role,
    jurisdiction: str,
    now: datetime,
    actor: str,
) -> tuple[User, str]:
    """Create one account with a one-time password (shown once); audited."""
    password = one_time_password()
    user = await create_user(
        conn, username, display_name, role.value, jurisdiction, password, now, must_change=True
    )
    await _audit(conn, now, actor, "user.created", user.username)
    return user, password


async def reset_to_one_time_password(
    conn: Conn, username: str, now: datetime, actor: str
) -> str | None:
    """Give an account a new one-time password and end its sessions; None if unknown."""
    user = await get_user(conn, username)
    if user is None:
        return None
    password = one_time_password()
    await reset_password(conn, username, password, now, must_change=True)
    await revoke_user_sessions(conn, user.id, now)
    await _audit(conn, now, actor, "user.password_reset", user.username)
    return password


async def revoke_sessions_of(conn: Conn, username: str, now: datetime, actor: str) -> int | None:
    """End every session of an account (logout everywhere); None if unknown."""
    user = await get_user(conn, username)
    if user is None:
        return None
    ended = await revoke_user_sessions(conn, user.id, now)
    await _audit(conn, now, actor, "user.sessions_revoked", f"{user.username}: {ended}")
    return ended


async def list_users(conn: Conn) -> Sequence[User]:
    """Every account, by username."""
    rows = await conn.fetch("SELECT username FROM users ORDER BY username")
    users = [await get_user(conn, row["username"]) for row in rows]
    return [user for user in users if user is not None]


@dataclass(frozen=True, slots=True)
class DisplayRow:
    """A wall screen's token as the administrator sees it (its id, never the token)."""

    id: str
    label: str
    jurisdiction: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


async def issue_display(
    conn: Conn, label: str, jurisdiction: str, now: datetime, actor: str
) -> str:
    """A new wall-screen token for one jurisdiction: show it once."""
    token = await create_display_token(conn, label, jurisdiction, actor, now)
    await _audit(conn, now, actor, "display_token.created", f"{label.strip()} @ {jurisdiction}")
    return token


async def withdraw_display(conn: Conn, display_id: str, now: datetime, actor: str) -> bool:
    """Revoke a wall screen's token by its id; its screen goes dark at once. False if not live."""
    done = await revoke_display_token(conn, display_id, now)
    if done:
        await _audit(conn, now, actor, "display_token.revoked", display_id[:12])
    return done


async def list_displays(conn: Conn) -> list[DisplayRow]:
    """Every wall-screen token, newest first."""
    rows = await conn.fetch(
        "SELECT id, label, jurisdiction, created_by, created_at, revoked_at"
        " FROM display_tokens ORDER BY created_at DESC, id"
    )
    return [DisplayRow(**dict(row)) for row in rows]


async def _audit(conn: Conn, now: datetime, actor: str, action: str, detail: str) -> None:
    await record_audit(
        conn,
        at=now,
        user_id=actor,
        role="administrator",
        source_address="cli",
        action=action,
        outcome="allowed",
        detail=detail,
    )
