"""Measurement queries: latest values of a meter or asset and sums of rolled-up power by role.

Only samples whose quality is not ``bad`` are read (DESIGN.md §5), except as raw points, which
carry their quality. Nothing here writes: rollups are what the rollup job last wrote (at most its
interval, 30 s, behind the raw rows; docs/rollups.md).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from config import Park
from config.quantities import COUNTER_QUANTITIES
from park_server.db.tables import QUALITY_NAMES


def measured(session: Session, park_id: str, target: str, start_ms: int, end_ms: int) -> pd.Series:
    """Sum over the target's meters of 15-minute mean active power [kW], UTC index."""
    roles = ROLES[target]
    marks = ", ".join(f":r{i}" for i in range(len(roles)))
    rows = (
        session.connection()
        .execute(
            text(
                # meters first (CROSS JOIN keeps SQLite's order): an index range of the
                # rollup's key per meter of the target, not a scan of the park's rollups
                "SELECT r.ts_ms, SUM(r.value) FROM meter m CROSS JOIN rollup r WHERE "
                f"m.park_id = :p AND m.role IN ({marks}) AND m.duty = 'primary' AND "
                "r.park_id = m.park_id AND r.meter_id = m.id AND "
                "r.quantity = 'active_power_kw' AND r.resolution = '15min' AND r.ts_ms >= :s AND "
                "r.ts_ms < :e GROUP BY r.ts_ms ORDER BY r.ts_ms"
            ),
            {"p": park_id, "s": start_ms, "e": end_ms, **{f"r{i}": r for i, r in enumerate(roles)}},
        )
        .all()
    )
    index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], unit="ms", utc=True))
    return pd.Series([float(r[1]) for r in rows], index=index, dtype=float)


def latest_value(session: Session, park: str, meter: str, quantity: str) -> float | None:
    """The newest value of a meter and quantity that is not ``bad`` (None without one)."""
    sample = latest_sample(session, park, meter, quantity)
    return None if sample is None else sample[1]


def asset_power(session: Session, park: Park, asset_id: str) -> float | None:
    """The newest active power [kW] of an asset, from its primary meter (None without one)."""
    m = park.primary_meter(asset_id)
    return None if m is None else latest_value(session, park.id, m.id, "active_power_kw")


ROLES = {"pv": ("pv",), "wind": ("wind",), "load": ("load", "flexible_load")}


def latest_values(session: Session, park_id: str) -> list[tuple[str, str, int, float]]:
    """The newest sample that is not ``bad`` of every meter and quantity of a park:
    (meter, quantity, ts_ms, value). An offline device's 0.0 flagged bad is not a value. Kept by
    ingest in ``latest_sample`` (one indexed read, whatever the history's length)."""
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT meter_id, quantity, ts_ms, value FROM latest_sample WHERE park_id = :p "
                "ORDER BY meter_id, quantity"
            ),
            {"p": park_id},
        )
        .all()
    )
    return [(str(r[0]), str(r[1]), int(r[2]), float(r[3])) for r in rows]


def points(
    session: Session,
    *,
    park_id: str,
    meter: str,
    quantity: str,
    start_ms: int,
    end_ms: int,
    resolution: str,
    limit: int,
) -> list[tuple[int, float, dict[str, object]]]:
    """Up to ``limit`` points (ts_ms, value, more) of one meter and quantity in [start, end): raw
    samples (``more``: their quality), or the stored rollups at ``resolution`` (interval means of
    power and vector means of angles; for counters the energy in the interval, ``more``: its
    ``suspect_decreases``). Reads only: buckets still dirty show their last rollup."""
    conn = session.connection()
    params = {"p": park_id, "m": meter, "q": quantity, "s": start_ms, "e": end_ms, "n": limit}
    if resolution == "raw":
        raw = conn.execute(
            text(
                "SELECT ts_ms, value, quality FROM measurement WHERE park_id = :p AND "
                "meter_id = :m AND quantity = :q AND ts_ms >= :s AND ts_ms < :e "
                "ORDER BY ts_ms LIMIT :n"
            ),
            params,
        ).all()
        return [(int(r[0]), float(r[1]), {"quality": QUALITY_NAMES[int(r[2])]}) for r in raw]
    rows = conn.execute(
        text(
            "SELECT ts_ms, value, suspect_decreases FROM rollup WHERE park_id = :p AND "
            "meter_id = :m AND quantity = :q AND resolution = :r AND ts_ms >= :s AND ts_ms < :e "
            "ORDER BY ts_ms LIMIT :n"
        ),
        {**params, "r": resolution},
    ).all()
    if quantity in COUNTER_QUANTITIES:
        return [(int(r[0]), float(r[1]), {"suspect_decreases": int(r[2])}) for r in rows]
    return [(int(r[0]), float(r[1]), {}) for r in rows]


def latest_sample(
    session: Session, park: str, meter: str, quantity: str
) -> tuple[int, float] | None:
    """The newest sample (ts_ms, value) of a meter and quantity that is not ``bad``."""
    row = (
        session.connection()
        .execute(
            text(
                "SELECT ts_ms, value FROM latest_sample WHERE park_id = :p AND meter_id = :m "
                "AND quantity = :q"
            ),
            {"p": park, "m": meter, "q": quantity},
        )
        .first()
    )
    return (int(row[0]), float(row[1])) if row else None


def meter_completeness(
    session: Session, park_id: str, meters: list[tuple[str, list[str]]], start_ms: int, end_ms: int
) -> dict[str, int]:
    """Per meter (id and its quantities): how many 15-minute intervals of [start, end) hold a
    rollup with data of any of its quantities. One index range per meter and quantity on the
    rollup's primary key, whatever the history's length."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    out: dict[str, int] = {}
    try:
        for meter_id, quantities in meters:
            if not quantities:
                out[meter_id] = 0
                continue
            marks = ", ".join([mark] * len(quantities))
            cursor.execute(
                f"SELECT COUNT(DISTINCT ts_ms) FROM rollup WHERE park_id = {mark} AND "
                f"meter_id = {mark} AND quantity IN ({marks}) AND resolution = '15min' AND "
                f"ts_ms >= {mark} AND ts_ms < {mark} AND count > 0",
                (park_id, meter_id, *quantities, start_ms, end_ms),
            )
            out[meter_id] = int((cursor.fetchone() or (0,))[0])
    finally:
        cursor.close()
    return out
