"""The raw ``measurement`` table partitioned by time on PostgreSQL (declarative partitioning by
range of ``ts_ms``): one partition per UTC month, ``measurement_YYYYMM``, created ahead of time
by the partition job, and a default partition, ``measurement_default``, for the stragglers (a
sample for a month that has no partition yet: the job moves them into their month's partition).

The unique key (park, meter, quantity, ts_ms) holds per partition, and since it contains the
partition key it holds for the whole table. Retention (``ZCPARK_RAW_RETENTION_DAYS``) drops whole
months whose end lies more than that many days back; rollups are another table and stay. A month
that still has rollup marks (``rollup_dirty``) is never dropped before they are rolled up.

SQLite keeps one plain table: nothing here applies to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from park_server.timeutil import DAY_MS

TABLE = "measurement"
DEFAULT = "measurement_default"
#: months created ahead of the current one
MONTHS_AHEAD = 2
#: a partition job waits at most this long for a lock, so that it never holds up ingest [ms]
LOCK_TIMEOUT_MS = 5_000

_BOUND = re.compile(r"FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start_ms: int  # inclusive
    end_ms: int  # exclusive


def month_start_ms(ms: int) -> int:
    """The start of the UTC month containing ``ms`` [epoch ms]."""
    d = datetime.fromtimestamp(ms / 1000, UTC)
    return int(datetime(d.year, d.month, 1, tzinfo=UTC).timestamp() * 1000)


def next_month_ms(start_ms: int) -> int:
    d = datetime.fromtimestamp(start_ms / 1000, UTC)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return int(datetime(y, m, 1, tzinfo=UTC).timestamp() * 1000)


def partition_name(start_ms: int) -> str:
    return f"{TABLE}_{datetime.fromtimestamp(start_ms / 1000, UTC):%Y%m}"


def is_partitioned(conn: Connection) -> bool:
    """Whether ``measurement`` (in the connection's schema) is a partitioned table."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table pt JOIN pg_class c "
                "ON c.oid = pt.partrelid WHERE c.relname = :t "
                "AND c.relnamespace = current_schema()::regnamespace)"
            ),
            {"t": TABLE},
        ).scalar_one()
    )


def partitions(conn: Connection) -> list[Partition]:
    """The month partitions of ``measurement``, oldest first (the default one not included)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :t AND p.relnamespace = current_schema()::regnamespace"
        ),
        {"t": TABLE},
    ).all()
    out = []
    for name, bound in rows:
        m = _BOUND.search(str(bound))
        if m:
            out.append(Partition(str(name), int(m.group(1)), int(m.group(2))))
    return sorted(out, key=lambda p: p.start_ms)


def create_partitioned_table(conn: Connection, like: str) -> None:
    """``measurement`` as a partitioned table with the columns of the table ``like``, its key and
    its default partition (no month partitions yet)."""
    conn.execute(
        text(f"CREATE TABLE {TABLE} (LIKE {like} INCLUDING DEFAULTS) PARTITION BY RANGE (ts_ms)")
    )
    conn.execute(
        text(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey "
            "PRIMARY KEY (park_id, meter_id, quantity, ts_ms)"
        )
    )
    conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT"))


def create_month(conn: Connection, start_ms: int) -> bool:
    """The partition of the month starting at ``start_ms``, moving its rows out of the default
    partition if any are there; False when it existed already. In the caller's transaction."""
    start_ms = month_start_ms(start_ms)
    end_ms = next_month_ms(start_ms)
    name = partition_name(start_ms)
    if any(p.name == name for p in partitions(conn)):
        return False
    strays = conn.execute(
        text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE ts_ms >= :lo AND ts_ms < :hi)"),
        {"lo": start_ms, "hi": end_ms},
    ).scalar_one()
    if not strays:
        conn.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ({int(start_ms)}) TO ({int(end_ms)})"
            )
        )
        return True
    # rows of that month wait in the default partition: a table of their own, then attached
    conn.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts_ms >= :lo AND ts_ms < :hi "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        {"lo": start_ms, "hi": end_ms},
    )
    conn.execute(
        text(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} "
            f"FOR VALUES FROM ({int(start_ms)}) TO ({int(end_ms)})"
        )
    )
    return True


def straggler_months(conn: Connection) -> list[int]:
    """Starts of the months that have rows in the default partition [epoch ms]."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT (extract(epoch FROM date_trunc('month', "
            f"to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC')) * 1000)::bigint FROM {DEFAULT}"
        )
    ).all()
    return sorted(int(r[0]) for r in rows)


def ensure_partitions(
    conn: Connection, now_ms: int, *, ahead: int = MONTHS_AHEAD, since_ms: int | None = None
) -> list[str]:
    """Create the partitions of this month and ``ahead`` months after it, and of every month
    whose rows wait in the default partition (not older than ``since_ms``); return the names
    made. In the caller's transaction."""
    months = {month_start_ms(now_ms)}
    for _ in range(ahead):
        months.add(next_month_ms(max(months)))
    months |= {m for m in straggler_months(conn) if since_ms is None or m >= since_ms}
    conn.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
    return [partition_name(m) for m in sorted(months) if create_month(conn, m)]


def drop_old_partitions(conn: Connection, now_ms: int, retention_days: int) -> list[str]:
    """Drop the month partitions that end more than ``retention_days`` before ``now_ms`` and hold
    no rollup marks still to be rolled up (rollups are kept); delete the default partition's rows
    older than that too. Return the names dropped. In the caller's transaction."""
    horizon_ms = now_ms - retention_days * DAY_MS
    conn.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
    dropped = []
    for p in partitions(conn):
        if p.end_ms > horizon_ms:
            continue
        pending = conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM rollup_dirty WHERE bucket_ms >= :lo AND bucket_ms < :hi)"
            ),
            {"lo": p.start_ms, "hi": p.end_ms},
        ).scalar_one()
        if pending:
            continue  # the rollup job has not read it yet: dropped at a later run
        conn.execute(text(f"DROP TABLE {p.name}"))
        dropped.append(p.name)
    oldest_mark = conn.execute(text("SELECT min(bucket_ms) FROM rollup_dirty")).scalar_one()
    cut = horizon_ms if oldest_mark is None else min(horizon_ms, int(oldest_mark))
    conn.execute(text(f"DELETE FROM {DEFAULT} WHERE ts_ms < :cut"), {"cut": cut})
    return dropped
