"""Deployment settings, read once from the environment by the composition root."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the servers are and how the stack is exposed."""

    redis_url: str | None
    database_url: str | None
    stream_prefix: str
    host: str
    port: int
    ws_port: int
    data_dir: Path
    county_code: str
    tile_url: str | None
    sim_rate: float
    metrics_port: int | None
    screen_tokens: bool
    workers: int = 1
    # How often the worker pushes each jurisdiction's KPIs to the screens (seconds).
    kpi_seconds: float = 30.0
    # Host names the command centre answers to (any other Host header is refused).
    allowed_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read the PINGAN_* variables (and the conventional REDIS_URL, DATABASE_URL, PORT)."""
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            database_url=env.get("DATABASE_URL") or None,
            stream_prefix=env.get("PINGAN_STREAM_PREFIX", ""),
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8050")),
            ws_port=int(env.get("PINGAN_WS_PORT", "8765")),
            data_dir=Path(env.get("PINGAN_DATA_DIR", str(ROOT / "data"))),
            county_code=env.get("PINGAN_COUNTY", "320118"),
            tile_url=env.get("PINGAN_TILE_URL") or None,
            sim_rate=float(env.get("PINGAN_SIM_RATE", "0.3")),
            metrics_port=int(env["PINGAN_METRICS_PORT"])
            if env.get("PINGAN_METRICS_PORT")
            else None,
            screen_tokens=env.get("PINGAN_SCREEN_TOKENS") == "1",
            workers=max(1, int(env.get("PINGAN_WORKERS", "1"))),
            kpi_seconds=max(1.0, float(env.get("PINGAN_KPI_SECONDS", "30"))),
            allowed_hosts=frozenset(
                {"127.0.0.1", "localhost", env.get("HOST", "127.0.0.1")}
                | {h.strip() for h in env.get("PINGAN_ALLOWED_HOSTS", "").split(",") if h.strip()}
            ),
        )


T = TypeVar("T")


def tuning_from_env(cls: type[T], prefix: str, env: Mapping[str, str] = os.environ) -> T:
    """A tuning dataclass with each field read from `<prefix><FIELD>` when that is set.

    For example PINGAN_INGEST_CLAIM_IDLE_MS=30000 or PINGAN_GATEWAY_PUMP_INTERVAL_SECONDS=0.05;
    a field's type (int, float or bool) says how to read it.
    """
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        raw = env.get(f"{prefix}{spec.name.upper()}")
        if not raw:
            continue
        kind = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", "")
        if kind == "bool":
            values[spec.name] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif kind == "float":
            values[spec.name] = float(raw)
        else:
            values[spec.name] = int(raw)
    return cls(**values)
