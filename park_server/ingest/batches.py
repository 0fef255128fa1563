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
from park_server.db.crud import ParkMeters
from park_server.db.tables import QUALITY_CODES
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
    meters = park.meters
    park_id = park.park_id
    ts_cache: dict[Any, int] = {}  # a batch repeats each time stamp once per meter
    quality_codes = QUALITY_CODES
    isfinite = math.isfinite

    for i, s in enumerate(samples):
        # fast path: a well-formed sample; anything unusual goes to _why_not for its reason
        try:
            meter_id, quantity, value = s["meter"], s["quantity"], s["value"]
            ts = ts_cache.get(s["ts"])
            quality = quality_codes.get(s.get("quality", "good"))
        except (TypeError, KeyError, AttributeError):
            rejected.append(
                {
                    "index": i,
                    "reason": _why_not(s, park, now, latest, earliest, max_future_s, max_past_days),
                }
            )
            continue
        info = meters.get(meter_id) if type(meter_id) is str else None
        if ts is None:
            try:
                ts = parse_ts(s["ts"])
            except (ValueError, TypeError):
                ts = None
            if ts is not None and earliest <= ts <= latest:
                ts_cache[s["ts"]] = ts
            else:
                ts = None
        if (
            info is None
            or quantity not in QUANTITIES
            or not (type(value) is int or isinstance(value, float))  # bool is an int: refused
            or not isfinite(value)
            or ts is None
            or quality is None
        ):
            rejected.append(
                {
                    "index": i,
                    "reason": _why_not(s, park, now, latest, earliest, max_future_s, max_past_days),
                }
            )
            continue
        if info.sign < 0:  # the meter is installed reversed: turn it to §2's convention
            if quantity in _SIGNED:
                value = -value
            quantity = _SWAP_COUNTER.get(quantity, quantity)
        key = (meter_id, quantity, ts)
        if key in seen:
            continue  # repeated within the batch: stored once, counted as a duplicate
        seen.add(key)
        rows.append((park_id, meter_id, quantity, ts, float(value), quality, now))
    return rows, rejected, batch


def _why_not(
    s: Any,
    park: ParkMeters,
    now: int,
    latest: int,
    earliest: int,
    max_future_s: int,
    max_past_days: int,
) -> str:
    """The reason a sample is refused (the slow path, for the few samples that are)."""
    if not isinstance(s, dict):
        return "a sample must be an object"
    meter_id = s.get("meter")
    if not isinstance(meter_id, str) or meter_id not in park.meters:
        return f"unknown meter {meter_id!r} in park {park.park_id}"
    quantity = s.get("quantity")
    if quantity not in QUANTITIES:
        return f"unknown quantity {quantity!r}"
    value = s.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"value {value!r} is not a finite number"
    try:
        ts = parse_ts(s.get("ts"))
    except ValueError as exc:
        return f"ts: {exc}"
    if ts > latest:
        return f"ts {s.get('ts')} is more than {max_future_s} s in the future"
    if ts < earliest:
        return f"ts {s.get('ts')} is more than {max_past_days} days in the past"
    if s.get("quality", "good") not in QUALITY_CODES:
        return f"quality {s.get('quality')!r} is not good, uncertain or bad"
    return "invalid sample"


def _dirty_buckets(rows: list[Row]) -> set[tuple[str, str, str, int]]:
    out: set[tuple[str, str, str, int]] = set()
    for park_id, meter_id, quantity, ts, *_ in rows:
        bucket = ts - ts % QUARTER_MS
        out.add((park_id, meter_id, quantity, bucket))
        if quantity in COUNTER_QUANTITIES:
            # a counter sample also changes the delta of the next sample, at most a bucket on
            out.add((park_id, meter_id, quantity, bucket + QUARTER_MS))
    return out


def store_rows(conn: Connection, rows: list[Row], *, fast: bool = False) -> int:
    """Insert rows that are not there yet; return how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _store_postgres(conn, rows, fast=fast)
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


_COLUMNS = "(park_id, meter_id, quantity, ts_ms, value, quality, received_ms)"


class DuplicateRows(Exception):
    """The optimistic COPY met a row that is stored already; the transaction must be retried."""


def _store_postgres(conn: Connection, rows: list[Row], *, fast: bool) -> int:
    """``fast``: COPY straight into the table as the first write of the transaction; a re-sent
    batch makes that fail with DuplicateRows and the caller retries with fast=False, which COPYs
    into a temporary table and inserts from it only what is new."""
    import psycopg

    raw = conn.connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        if fast:
            try:
                with cur.copy(f"COPY measurement {_COLUMNS} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            except psycopg.errors.UniqueViolation:
                raise DuplicateRows from None
            return len(rows)
        if not conn.info.get("zcpark_measurement_in"):
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS measurement_in "
                "(LIKE measurement INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            conn.info["zcpark_measurement_in"] = True
        with cur.copy(f"COPY measurement_in {_COLUMNS} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("INSERT INTO measurement SELECT * FROM measurement_in ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
        cur.execute("TRUNCATE measurement_in")
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
    try:
        inserted = store_rows(conn, rows, fast=True)
    except DuplicateRows:  # a re-sent batch: nothing was written yet, so start over carefully
        session.rollback()
        conn = session.connection()
        inserted = store_rows(conn, rows, fast=False)
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
