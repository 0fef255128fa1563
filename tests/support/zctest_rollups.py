"""Helpers for rollup tests: store raw rows at pinned times (no dependence on today's date), run
the rollup job, read rollup rows back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from park_server.db.tables import QUALITY_CODES
from park_server.ingest.batches import keep_latest, mark_dirty, store_rows
from park_server.timeutil import parse_ts

#: a Monday, 08:00 in Asia/Shanghai; the park-local day starts at 2026-11-22T16:00Z
T0 = parse_ts("2026-11-23T00:00:00Z")
MIN = 60_000
PARK = "huolingol"


def row(
    meter: str, quantity: str, ts_ms: int, value: float, quality: str = "good"
) -> tuple[str, str, str, int, float, int, int]:
    """A raw row as ingest stores it (received at its own time stamp)."""
    return (PARK, meter, quantity, ts_ms, float(value), QUALITY_CODES[quality], ts_ms)


def store(engine: Engine, rows: list[tuple[str, str, str, int, float, int, int]]) -> None:
    """Store rows, mark their buckets dirty and keep the latest values in one transaction, as
    ingest does."""
    with Session(engine) as session:
        conn = session.connection()
        store_rows(conn, rows)
        mark_dirty(conn, rows)
        keep_latest(conn, rows)
        session.commit()


def roll(engine: Engine, settings: Any) -> None:
    from park_server.jobs.rollup import rollup_job
    from park_server.state import ServerState

    rollup_job(ServerState(settings, engine))


def rollups(
    engine: Engine, meter: str, quantity: str, resolution: str
) -> dict[int, dict[str, Any]]:
    """Rollup rows of one meter and quantity at one resolution, by interval start [ms]."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT * FROM rollup WHERE park_id = :p AND meter_id = :m AND quantity = :q "
                "AND resolution = :r ORDER BY ts_ms"
            ),
            {"p": PARK, "m": meter, "q": quantity, "r": resolution},
        ).mappings()
        return {int(r["ts_ms"]): dict(r) for r in rows}


def all_rollups(engine: Engine) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM rollup")).mappings()
        return {
            (r["meter_id"], r["quantity"], r["resolution"], int(r["ts_ms"])): dict(r) for r in rows
        }


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def recompute_from_scratch(engine: Engine, settings: Any) -> dict[tuple[str, str, str, int], Any]:
    """Every rollup recomputed from the raw rows alone (the rollups are dropped and every bucket
    with data marked), then returned; the database is left with the recomputed rollups."""
    with Session(engine) as session:
        conn = session.connection()
        raw = conn.execute(
            text(
                "SELECT park_id, meter_id, quantity, ts_ms, value, quality, received_ms "
                "FROM measurement"
            )
        ).all()
        conn.execute(text("DELETE FROM rollup"))
        conn.execute(text("DELETE FROM rollup_dirty"))
        mark_dirty(conn, [tuple(r) for r in raw])
        session.commit()
    roll(engine, settings)
    return all_rollups(engine)
