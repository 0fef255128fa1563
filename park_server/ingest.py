"""Ingest of telemetry batches (DESIGN.md §5): validate every sample, store the valid ones in bulk,
reject the rest with a reason, and never store a sample twice.

One transaction per batch. The caller acknowledges the batch (MQTT ``ack`` or HTTP response) only
after :func:`ingest_batch` has returned, i.e. after the commit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlmodel import Session

from config.quantities import COUNTER_QUANTITIES, QUANTITIES
from park_server.models import QUALITY_CODES
from park_server.timeutil import QUARTER_MS, now_ms, parse_ts


class BatchError(ValueError):
    """The batch as a whole is unusable (not an object, wrong park or gateway, no samples list)."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    batch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


@dataclass(frozen=True)
class MeterInfo:
    sign: int


@dataclass
class ParkMeters:
    """What the validator needs to know of a park: its meters and their signs."""

    park_id: str
    meters: dict[str, MeterInfo]


Row = tuple[str, str, str, int, float, int, int]  # park, meter, quantity, ts, value, quality, recv

_SWAP_COUNTER = {"energy_import_kwh": "energy_export_kwh", "energy_export_kwh": "energy_import_kwh"}
_SIGNED = {"active_power_kw", "reactive_power_kvar"}


def validate_batch(
    body: Any,
    *,
    park: ParkMeters,
    gateway_id: str,
    received_ms: int | None = None,
    max_future_s: int = 300,
    max_past_days: int = 400,
    max_samples: int = 20_000,
) -> tuple[list[Row], list[dict[str, Any]], int | None]:
    """Check a decoded batch; return (rows to store, rejected samples, batch number)."""
    if not isinstance(body, dict):
        raise BatchError("the batch must be a JSON object")
    if body.get("v", 1) != 1:
        raise BatchError(f"unsupported batch version v={body.get('v')!r} (expected 1)")
    if body.get("park") != park.park_id:
        raise BatchError(f"batch is for park {body.get('park')!r}, not {park.park_id!r}")
    if body.get("gateway") != gateway_id:
        raise BatchError(f"batch is from gateway {body.get('gateway')!r}, not {gateway_id!r}")
    batch = body.get("batch")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)):
        raise BatchError(f"batch number {batch!r} is not an integer")
    samples = body.get("samples")
    if not isinstance(samples, list):
        raise BatchError("'samples' must be a list")
    if len(samples) > max_samples:
        raise BatchError(f"{len(samples)} samples in one batch; at most {max_samples}")

    now = received_ms if received_ms is not None else now_ms()
    latest, earliest = now + max_future_s * 1000, now - max_past_days * 86_400_000
    rows: list[Row] = []
    rejected: list[dict[str, Any]] = []
    seen: set[tuple[str, str, int]] = set()

    def reject(i: int, reason: str) -> None:
        rejected.append({"index": i, "reason": reason})

    for i, s in enumerate(samples):
        if not isinstance(s, dict):
            reject(i, "a sample must be an object")
            continue
        meter_id = s.get("meter")
        info = park.meters.get(meter_id) if isinstance(meter_id, str) else None
        if info is None:
            reject(i, f"unknown meter {meter_id!r} in park {park.park_id}")
            continue
        quantity = s.get("quantity")
        if quantity not in QUANTITIES:
            reject(i, f"unknown quantity {quantity!r}")
            continue
        value = s.get("value")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            reject(i, f"value {value!r} is not a finite number")
            continue
        try:
            ts = parse_ts(s.get("ts"))
        except ValueError as exc:
            reject(i, f"ts: {exc}")
            continue
        if ts > latest:
            reject(i, f"ts {s.get('ts')} is more than {max_future_s} s in the future")
            continue
        if ts < earliest:
            reject(i, f"ts {s.get('ts')} is more than {max_past_days} days in the past")
            continue
        quality = QUALITY_CODES.get(s.get("quality", "good"))
        if quality is None:
            reject(i, f"quality {s.get('quality')!r} is not good, uncertain or bad")
            continue
        if info.sign < 0:  # the meter is installed reversed: turn it to §2's convention
            if quantity in _SIGNED:
                value = -value
            quantity = _SWAP_COUNTER.get(quantity, quantity)
        assert isinstance(meter_id, str) and isinstance(quantity, str)
        key = (meter_id, quantity, ts)
        if key in seen:
            continue  # repeated within the batch: stored once, counted as a duplicate
        seen.add(key)
        rows.append((park.park_id, meter_id, quantity, ts, float(value), quality, now))
    return rows, rejected, batch


def _dirty_buckets(rows: list[Row]) -> set[tuple[str, str, str, int]]:
    out: set[tuple[str, str, str, int]] = set()
    for park_id, meter_id, quantity, ts, *_ in rows:
        bucket = ts - ts % QUARTER_MS
        out.add((park_id, meter_id, quantity, bucket))
        if quantity in COUNTER_QUANTITIES:
            # a counter sample also changes the delta of the next sample, at most a bucket on
            out.add((park_id, meter_id, quantity, bucket + QUARTER_MS))
    return out


def store_rows(conn: Connection, rows: list[Row]) -> int:
    """Insert rows that are not there yet; return how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _store_postgres(conn, rows)
    return _store_sqlite(conn, rows)


def _store_sqlite(conn: Connection, rows: list[Row]) -> int:
    raw = conn.connection.driver_connection
    before = raw.total_changes  # type: ignore[union-attr]
    cur = raw.cursor()  # type: ignore[union-attr]
    cur.executemany(
        "INSERT OR IGNORE INTO measurement "
        "(park_id, meter_id, quantity, ts_ms, value, quality, received_ms) VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    cur.close()
    return int(raw.total_changes - before)  # type: ignore[union-attr]


def _store_postgres(conn: Connection, rows: list[Row]) -> int:
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS measurement_in "
            "(LIKE measurement INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cur.copy(
            "COPY measurement_in (park_id, meter_id, quantity, ts_ms, value, quality, received_ms)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("INSERT INTO measurement SELECT * FROM measurement_in ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
        cur.execute("DELETE FROM measurement_in")
    return int(inserted)


def mark_dirty(conn: Connection, rows: list[Row]) -> None:
    buckets = _dirty_buckets(rows)
    if not buckets:
        return
    conflict = "ON CONFLICT DO NOTHING"
    verb = "INSERT" if conn.dialect.name == "postgresql" else "INSERT OR IGNORE"
    suffix = conflict if conn.dialect.name == "postgresql" else ""
    conn.execute(
        text(
            f"{verb} INTO rollup_dirty (park_id, meter_id, quantity, bucket_ms) "
            f"VALUES (:p, :m, :q, :b) {suffix}"
        ),
        [{"p": p, "m": m, "q": q, "b": b} for p, m, q, b in buckets],
    )


def record_rejects(
    conn: Connection,
    *,
    park_id: str,
    gateway_id: str,
    batch: int | None,
    samples: list[Any] | None,
    rejected: list[dict[str, Any]],
    received_ms: int,
) -> None:
    if not rejected:
        return
    conn.execute(
        text(
            'INSERT INTO rejected_sample (park_id, gateway_id, batch, "index", reason, '
            "sample_json, received_ms) VALUES (:p, :g, :b, :i, :r, :s, :t)"
        ),
        [
            {
                "p": park_id,
                "g": gateway_id,
                "b": batch,
                "i": r["index"],
                "r": r["reason"],
                "s": json.dumps(
                    samples[r["index"]] if samples and r["index"] < len(samples) else None,
                    default=str,
                )[:4000],
                "t": received_ms,
            }
            for r in rejected
        ],
    )
    conn.execute(
        text(
            "UPDATE gateway SET rejected_samples = rejected_samples + :n "
            "WHERE park_id = :p AND id = :g"
        ),
        {"n": len(rejected), "p": park_id, "g": gateway_id},
    )


def ingest_batch(
    session: Session, body: Any, *, park: ParkMeters, gateway_id: str, **limits: int
) -> IngestResult:
    """Validate, store and commit one batch. Raises BatchError when the whole batch is unusable."""
    received = now_ms()
    rows, rejected, batch = validate_batch(
        body, park=park, gateway_id=gateway_id, received_ms=received, **limits
    )
    conn = session.connection()
    inserted = store_rows(conn, rows)
    mark_dirty(conn, rows)
    record_rejects(
        conn,
        park_id=park.park_id,
        gateway_id=gateway_id,
        batch=batch,
        samples=body.get("samples"),
        rejected=rejected,
        received_ms=received,
    )
    conn.execute(
        text(
            "UPDATE gateway SET last_seen_ms = :t, last_batch = :b WHERE park_id = :p AND id = :g"
        ),
        {"t": received, "b": batch, "p": park.park_id, "g": gateway_id},
    )
    session.commit()
    valid = len(body["samples"]) - len(rejected)
    return IngestResult(
        accepted=inserted, duplicates=valid - inserted, rejected=rejected, batch=batch
    )


def load_park_meters(session: Session, park_id: str) -> ParkMeters:
    rows = (
        session.connection()
        .execute(text("SELECT id, sign FROM meter WHERE park_id = :p"), {"p": park_id})
        .all()
    )
    return ParkMeters(park_id, {r[0]: MeterInfo(int(r[1])) for r in rows})
