"""The jurisdiction tree as stored: county → township → village → grid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from incidents.store.case_store import Conn
from incidents.vocabulary import Tier


@dataclass(frozen=True, slots=True)
class JurisdictionRow:
    """One node of the jurisdiction tree as stored."""

    code: str
    tier: Tier
    name: str
    parent_code: str | None
    synthetic: bool


async def upsert_jurisdictions(conn: Conn, rows: Iterable[JurisdictionRow]) -> int:
    """Load or refresh the jurisdiction tree (parents must come before children)."""
    items = list(rows)
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO jurisdictions (code, tier, name, parent_code, synthetic)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (code) DO UPDATE SET tier = EXCLUDED.tier, name = EXCLUDED.name,"
            " parent_code = EXCLUDED.parent_code, synthetic = EXCLUDED.synthetic",
            [(r.code, r.tier.value, r.name, r.parent_code, r.synthetic) for r in items],
        )
    return len(items)
