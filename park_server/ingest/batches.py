"""Ingest of telemetry batches (DESIGN.md §5): validate every sample, store the valid ones in bulk,
reject the rest with a reason, and never store a sample twice.

One transaction per batch. The caller acknowledges the batch (MQTT ``ack`` or HTTP response) only
after :func:`ingest_batch` has returned, i.e. after the commit.

It is one piece, past 400 lines, because validation, storage, dirty marks and latest values are the
one transaction a batch is, and the ack waits for all of it.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlmodel import Session

from config.quantities import COUNTER_QUANTITIES, QUANTITIES
from park_server.db.crud import ParkMeters
from park_server.db.tables import QUALITY_CODES
from park_server.timeutil import QUARTER_MS, now_ms, parse_ts


class BatchError(ValueError):
    """The batch as a whole is unusable (not an object, wrong park or gateway, no samples list).

    ``batch`` is its number when it could be read; ``retry`` is True when another server (a newer
    version, a larger limit) could take the batch, so it must stay in the gateway's buffer: over
    MQTT a refused batch with a number is acknowledged unless ``retry``, so that the gateway does
    not resend, forever, a batch no server will take."""

    def __init__(self, message: str, batch: int | None = None, *, retry: bool = False) -> None:
        super().__init__(message)
        self.batch = batch
        self.retry = retry


class NotJson(BatchError):
    """The body is not JSON (or not UTF-8) at all."""


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


#: how much of a refused value a reason repeats (the rest becomes an ellipsis)
ECHO_CHARS = 64
#: the largest batch number: the gateway's sequence is stored as a signed 64-bit integer
MAX_BATCH_NUMBER = 2**63 - 1

_echo_repr = reprlib.Repr()
_echo_repr.maxlevel = 2
_echo_repr.maxstring = ECHO_CHARS
_echo_repr.maxother = ECHO_CHARS
_echo_repr.maxlong = ECHO_CHARS
_echo_repr.maxlist = _echo_repr.maxdict = _echo_repr.maxtuple = 4


def echo(value: Any) -> str:
    """``repr(value)`` cut to about ECHO_CHARS characters with an ellipsis: what a reason may repeat
    of the input (a 50 MB meter id must not become a 50 MB reason, row and log line)."""
    if type(value) is int and value.bit_length() > 200:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else "over 4,000"
        return f"<an integer of {digits} digits>"
    if type(value) is str and len(value) > ECHO_CHARS:
        return repr(value[:ECHO_CHARS]) + "…"
    try:
        text = _echo_repr.repr(value)
    except (ValueError, RecursionError):  # a pathological object: name its type only
        text = f"<{type(value).__name__}>"
    return _cut(text)


def _cut(text: str) -> str:
    """Plain text cut to about ECHO_CHARS characters with an ellipsis."""
    return text if len(text) <= ECHO_CHARS + 8 else text[:ECHO_CHARS] + "…"


def parse_batch(payload: bytes | str) -> Any:
    """Decode a batch's JSON. BatchError (NotJson when it is not JSON at all) with a reason for
    input that cannot be decoded: not UTF-8, not JSON, an integer of over 4,300 digits, or nesting
    too deep for the decoder; ``error.batch`` is the batch number when it could still be read."""
    try:
        return json.loads(payload)
    except UnicodeDecodeError as exc:
        raise NotJson(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise NotJson(f"body is not JSON: {exc}") from None
    except ValueError as exc:  # e.g. Python's limit on the digits of an integer
        raise BatchError(f"body is not usable JSON: {exc}", batch=_batch_number(payload)) from None
    except RecursionError:
        raise BatchError(
            "body is nested too deeply to decode (a batch is 3 levels deep)",
            batch=_batch_number(payload),
        ) from None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_NUMBER = re.compile(r"\s*:\s*(-?\d{1,19})\s*[,}]")


def _batch_number(payload: bytes | str) -> int | None:
    """The top-level ``"batch"`` of a payload the decoder refused, read without recursion; None
    when there is none (or more than one), or it is not a usable batch number."""
    try:
        text = payload.decode() if isinstance(payload, bytes) else payload
    except UnicodeDecodeError:
        return None
    depth, found = 0, []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            depth -= 1
        elif depth == 1 and tok == '"batch"':
            num = _NUMBER.match(text, m.end())
            if num is not None:
                found.append(int(num.group(1)))
    if len(found) != 1 or not 0 <= found[0] <= MAX_BATCH_NUMBER:
        return None
    return found[0]


def sample_json(sample: Any) -> str:
    """A refused sample as JSON for the rejected_sample table (at most 4,000 characters)."""
    try:
        return json.dumps(sample, default=str)[:4000]
    except (ValueError, TypeError, RecursionError):
        return json.dumps(echo(sample))


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
    """Check a decoded batch; return (rows to store, rejected samples, batch number).

    Raises BatchError when the batch as a whole is unusable; any sample, however odd its fields
    (lists, 400-digit integers, Infinity), is refused on its own with a reason."""
    if not isinstance(body, dict):
        raise BatchError("the batch must be a JSON object")
    batch = body.get("batch")
    if batch is not None and (
        type(batch) is not int or not 0 <= batch <= MAX_BATCH_NUMBER  # bool is not a number here
    ):
        raise BatchError(
            f"batch number {echo(batch)} is not an integer from 0 to {MAX_BATCH_NUMBER}"
        )
    if body.get("v", 1) != 1:
        raise BatchError(
            f"unsupported batch version v={echo(body.get('v'))} (expected 1)", batch, retry=True
        )
    if body.get("park") != park.park_id:
        raise BatchError(f"batch is for park {echo(body.get('park'))}, not {park.park_id!r}", batch)
    if body.get("gateway") != gateway_id:
        raise BatchError(
            f"batch is from gateway {echo(body.get('gateway'))}, not {gateway_id!r}", batch
        )
    samples = body.get("samples")
    if not isinstance(samples, list):
        raise BatchError("'samples' must be a list", batch)
    if len(samples) > max_samples:
        raise BatchError(
            f"{len(samples)} samples in one batch; at most {max_samples}", batch, retry=True
        )

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
        # fast path: a well-formed sample; anything unusual (a missing key, a list where a name
        # belongs, an integer beyond a float, Infinity) goes to _why_not for its reason
        try:
            meter_id, quantity, value, raw_ts = s["meter"], s["quantity"], s["value"], s["ts"]
            quality = quality_codes.get(s.get("quality", "good"))  # TypeError if unhashable
            info = meters.get(meter_id)
            ts = ts_cache.get(raw_ts)
            if ts is None:
                try:
                    ts = parse_ts(raw_ts)
                except (ValueError, TypeError, OverflowError):
                    ts = None
                if ts is not None and earliest <= ts <= latest:
                    ts_cache[raw_ts] = ts
                else:
                    ts = None
            bad = (
                info is None
                or quantity not in QUANTITIES
                or not (type(value) is int or isinstance(value, float))  # bool is an int: refused
                or not isfinite(value)  # OverflowError for an int beyond a float's range
                or ts is None
                or quality is None
            )
        except (TypeError, KeyError, AttributeError, OverflowError):
            bad = True
        if bad:
            rejected.append(
                {
                    "index": i,
                    "reason": _why_not(s, park, now, latest, earliest, max_future_s, max_past_days),
                }
            )
            continue
        assert info is not None and ts is not None and quality is not None  # not bad
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
    """The reason a sample is refused (the slow path, for the few samples that are). Total: it
    names a reason for any decoded JSON value, and repeats at most ECHO_CHARS of the input."""
    if not isinstance(s, dict):
        return "a sample must be an object"
    meter_id = s.get("meter")
    if not isinstance(meter_id, str) or meter_id not in park.meters:
        return f"unknown meter {echo(meter_id)} in park {park.park_id}"
    quantity = s.get("quantity")
    if not isinstance(quantity, str) or quantity not in QUANTITIES:
        return f"unknown quantity {echo(quantity)}"
    value = s.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"value {echo(value)} is not a finite number"
    try:
        finite = math.isfinite(value)
    except OverflowError:
        return f"value {echo(value)} is beyond the range of a number (about 1.8e308)"
    if not finite:
        return f"value {echo(value)} is not a finite number"
    raw_ts = s.get("ts")
    if isinstance(raw_ts, float) and not math.isfinite(raw_ts):
        return f"ts: {raw_ts!r} is not a finite time stamp"
    try:
        ts = parse_ts(raw_ts)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(raw_ts, str) and str(exc).endswith(" is not ISO 8601"):
            return f"ts: {echo(raw_ts)} is not ISO 8601"
        return f"ts: {_cut(str(exc))}"
    if ts > latest:
        return f"ts {echo(raw_ts)} is more than {max_future_s} s in the future"
    if ts < earliest:
        return f"ts {echo(raw_ts)} is more than {max_past_days} days in the past"
    quality = s.get("quality", "good")
    if not isinstance(quality, str) or quality not in QUALITY_CODES:
        return f"quality {echo(quality)} is not good, uncertain or bad"
    return "invalid sample"


#: quantities whose rollups carry covered time (docs/rollups.md): a sample's span reaches at most
#: one quarter on, and a late one shortens the span of the sample after it, so the two buckets
#: after a sample's own may change as well
_COVERED_QUANTITIES = frozenset({"active_power_kw"})
_BAD = QUALITY_CODES["bad"]


def _dirty_buckets(rows: list[Row]) -> set[tuple[str, str, str, int]]:
    """The 15-minute buckets whose rollups the rows change, as far as the rows alone tell (the
    buckets of counters' next stored samples come from :func:`_counter_successors`)."""
    out: set[tuple[str, str, str, int]] = set()
    for park_id, meter_id, quantity, ts, *_ in rows:
        bucket = ts - ts % QUARTER_MS
        out.add((park_id, meter_id, quantity, bucket))
        if quantity in _COVERED_QUANTITIES:
            out.add((park_id, meter_id, quantity, bucket + QUARTER_MS))
            out.add((park_id, meter_id, quantity, bucket + 2 * QUARTER_MS))
    return out


def _counter_successors(conn: Connection, rows: list[Row]) -> set[tuple[str, str, str, int]]:
    """Buckets of the next stored sample after each counter row: a counter's increase is counted
    in the bucket of its later sample, so a late sample splits the increase that the next sample
    carried, however many buckets later that is (a counter polled less often than every 15 min).
    Only rows followed in the batch by a gap of more than one bucket, and each counter's newest
    row, need the look-up; the others' next sample is in their bucket or the next, marked anyway."""
    by_counter: dict[tuple[str, str, str], list[int]] = {}
    for park_id, meter_id, quantity, ts, _, quality, _ in rows:
        if quantity in COUNTER_QUANTITIES and quality < _BAD:
            by_counter.setdefault((park_id, meter_id, quantity), []).append(ts)
    asks: list[tuple[str, str, str, int]] = []
    for key, times in by_counter.items():
        times.sort()
        for t, nxt in zip(times, [*times[1:], None], strict=True):
            if nxt is None or (nxt - nxt % QUARTER_MS) - (t - t % QUARTER_MS) > QUARTER_MS:
                asks.append((*key, t))
    out: set[tuple[str, str, str, int]] = set()
    for i in range(0, len(asks), 500):
        part = asks[i : i + 500]
        params: dict[str, Any] = {"bad": _BAD}
        selects = []
        for j, (p, m, q, t) in enumerate(part):
            params.update({f"p{j}": p, f"m{j}": m, f"q{j}": q, f"t{j}": t})
            selects.append(
                f"SELECT {j} AS i, (SELECT MIN(ts_ms) FROM measurement WHERE park_id = :p{j} AND "
                f"meter_id = :m{j} AND quantity = :q{j} AND ts_ms > :t{j} AND quality < :bad)"
            )
        for j, nxt in conn.execute(text(" UNION ALL ".join(selects)), params).all():
            if nxt is not None:
                p, m, q, _ = part[int(j)]
                out.add((p, m, q, int(nxt) - int(nxt) % QUARTER_MS))
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
    """Mark every 15-minute bucket whose rollups the rows change (in the rows' transaction, after
    they are stored). Each mark gets a new random version: a rollup that read an older version
    leaves the mark for the next run (park_server.timeseries.rollups.refresh_rollups)."""
    buckets = _dirty_buckets(rows) | _counter_successors(conn, rows)
    if not buckets:
        return
    version = secrets.randbits(62) + 1
    ordered = sorted(buckets)  # in key order, as the rollup deletes them: row locks taken alike
    upsert = (
        " ON CONFLICT (park_id, meter_id, quantity, bucket_ms) DO UPDATE SET version = "
        "excluded.version"
    )
    if conn.dialect.name == "postgresql":
        # one statement over arrays: a batch of a hundred meters marks some 600 buckets, and a
        # statement each made marking most of the batch's time
        ps, ms, qs, bs = (list(col) for col in zip(*ordered, strict=True))
        conn.execute(
            text(
                "INSERT INTO rollup_dirty (park_id, meter_id, quantity, bucket_ms, version) "
                "SELECT p, m, q, b, :v FROM unnest(CAST(:ps AS text[]), CAST(:ms AS text[]), "
                "CAST(:qs AS text[]), CAST(:bs AS bigint[])) AS t(p, m, q, b)" + upsert
            ),
            {"v": version, "ps": ps, "ms": ms, "qs": qs, "bs": bs},
        )
        return
    conn.execute(
        text(
            "INSERT INTO rollup_dirty (park_id, meter_id, quantity, bucket_ms, version) "
            "VALUES (:p, :m, :q, :b, :v)" + upsert
        ),
        [{"p": p, "m": m, "q": q, "b": b, "v": version} for p, m, q, b in ordered],
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
                "s": sample_json(
                    samples[r["index"]] if samples and r["index"] < len(samples) else None
                ),
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


def keep_latest(conn: Connection, rows: list[Row]) -> None:
    """Move each key's latest sample on to the batch's newest one that is not ``bad``, when it
    is newer than the one kept (a late or re-sent sample leaves it)."""
    newest: dict[tuple[str, str, str], Row] = {}
    for r in rows:
        if r[5] >= _BAD:
            continue
        key = (r[0], r[1], r[2])
        if key not in newest or r[3] > newest[key][3]:
            newest[key] = r
    if not newest:
        return
    conn.execute(
        text(
            "INSERT INTO latest_sample (park_id, meter_id, quantity, ts_ms, value, quality) "
            "VALUES (:p, :m, :q, :t, :v, :ql) ON CONFLICT (park_id, meter_id, quantity) DO UPDATE "
            "SET ts_ms = excluded.ts_ms, value = excluded.value, quality = excluded.quality "
            "WHERE excluded.ts_ms > latest_sample.ts_ms"
        ),
        [
            {"p": r[0], "m": r[1], "q": r[2], "t": r[3], "v": r[4], "ql": r[5]}
            for r in sorted(newest.values())  # one order for every writer: no deadlocks
        ],
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
    keep_latest(conn, rows)
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
