"""The raw table partitioned by month on PostgreSQL: rows land in their month's partition (or the
default one, until the job makes their month), the key still refuses a duplicate, ingest (COPY and
its duplicate path) works, retention drops only old months and keeps the rollups, and the
migration converts a populated table (rows copied, none lost). SQLite keeps its plain table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlmodel import Session
from zctest_server import make_server

from park_server.db import partitions
from park_server.db.crud import load_park_meters
from park_server.db.engine import make_engine
from park_server.db.migrate import alembic_config, upgrade
from park_server.ingest.batches import ingest_batch
from park_server.jobs.partitions import partition_job
from park_server.jobs.rollup import rollup_job
from park_server.settings import Settings
from park_server.state import ServerState
from park_server.timeutil import DAY_MS, format_ts, now_ms

pytestmark = pytest.mark.postgres


def ms(y: int, m: int, d: int, h: int = 0) -> int:
    return int(datetime(y, m, d, h, tzinfo=UTC).timestamp() * 1000)


def _where(engine: Any) -> dict[str, int]:
    """Rows per partition (by the table each row is stored in)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM measurement GROUP BY 1")
        ).all()
    return {str(r[0]).split(".")[-1]: int(r[1]) for r in rows}


def _ingest(server: Any, stamps: list[int], batch_no: int = 1) -> Any:
    body = {
        "v": 1,
        "park": "huolingol",
        "gateway": "gw-hlgl-01",
        "batch": batch_no,
        "samples": [
            {
                "ts": format_ts(t),
                "meter": "grid-main",
                "quantity": "active_power_kw",
                "value": float(i),
                "quality": "good",
            }
            for i, t in enumerate(stamps)
        ],
    }
    with Session(server.engine) as session:
        park = load_park_meters(session, "huolingol")
        return ingest_batch(session, body, park=park, gateway_id="gw-hlgl-01")


def test_rows_land_in_their_month_and_stragglers_are_moved(pg_fresh: Any) -> None:
    server = make_server(pg_fresh.url)  # the clock is pinned at 2026-06-10
    with server.engine.connect() as conn:
        assert partitions.is_partitioned(conn)
        names = [p.name for p in partitions.partitions(conn)]
    assert {"measurement_202606", "measurement_202607", "measurement_202608"} <= set(names)
    # a month boundary in each direction, and a sample from March (no partition yet)
    stamps = [
        ms(2026, 5, 31, 23) + 59 * 60_000,
        ms(2026, 6, 1),
        ms(2026, 6, 9, 12),
        ms(2026, 3, 15, 6),
    ]
    res = _ingest(server, stamps)
    assert res.accepted == 4 and res.duplicates == 0
    where = _where(server.engine)
    assert where.get("measurement_202606") == 2
    assert where.get("measurement_default") == 2  # May and March: no partition for them yet
    again = _ingest(server, stamps, batch_no=2)  # a resent batch: the key holds across the table
    assert again.accepted == 0 and again.duplicates == 4
    partition_job(ServerState(server.settings, server.engine))
    where = _where(server.engine)
    assert where == {"measurement_202606": 2, "measurement_202605": 1, "measurement_202603": 1}
    again = _ingest(server, stamps, batch_no=3)  # still refused after the move
    assert again.accepted == 0 and again.duplicates == 4
    with server.engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM measurement")).scalar_one()
    assert total == 4


def test_retention_drops_only_old_months_and_keeps_rollups(pg_fresh: Any) -> None:
    server = make_server(pg_fresh.url)
    now = now_ms()  # 2026-06-10 (pinned)
    old = [ms(2025, 1, 10) + i * 60_000 for i in range(30)]  # January 2025: > 400 days back
    recent = [ms(2026, 6, 9, 8) + i * 60_000 for i in range(30)]
    with server.engine.begin() as conn:  # old rows as if stored back then (ingest refuses them)
        conn.execute(
            text(
                "INSERT INTO measurement (park_id, meter_id, quantity, ts_ms, value, quality, "
                "received_ms) VALUES ('huolingol', 'grid-main', 'active_power_kw', :t, 5.0, 0, :t)"
            ),
            [{"t": t} for t in old],
        )
        conn.execute(
            text(
                "INSERT INTO rollup_dirty (park_id, meter_id, quantity, bucket_ms, version) "
                "VALUES ('huolingol', 'grid-main', 'active_power_kw', :b, 1)"
            ),
            [{"b": t - t % (15 * 60_000)} for t in old[::15]],
        )
    assert _ingest(server, recent).accepted == 30
    partition_job(ServerState(server.settings, server.engine))  # no retention: January adopted
    assert _where(server.engine) == {"measurement_202501": 30, "measurement_202606": 30}
    settings = server.settings.model_copy(update={"raw_retention_days": 402})
    state = ServerState(settings, server.engine)
    partition_job(state)  # past retention, but its rollup marks are still pending: kept
    assert _where(server.engine) == {"measurement_202501": 30, "measurement_202606": 30}
    rollup_job(state)
    with server.engine.connect() as conn:
        rollups_before = conn.execute(
            text("SELECT resolution, ts_ms, value, count FROM rollup ORDER BY 1, 2")
        ).all()
    assert {(r[0], r[1]) for r in rollups_before} >= {
        ("15min", ms(2025, 1, 10)),
        ("1h", ms(2025, 1, 10)),
    }
    partition_job(state)  # now dropped: it ends 2025-02-01, more than 402 days before now
    with server.engine.connect() as conn:
        names = [p.name for p in partitions.partitions(conn)]
        rollups_after = conn.execute(
            text("SELECT resolution, ts_ms, value, count FROM rollup ORDER BY 1, 2")
        ).all()
    assert "measurement_202501" not in names
    assert {"measurement_202606", "measurement_202607", "measurement_202608"} <= set(names)
    assert _where(server.engine) == {"measurement_202606": 30}
    assert rollups_after == rollups_before  # rollups are kept, unchanged
    assert now - ms(2025, 2, 1) > 402 * DAY_MS


def test_retention_must_outlast_the_late_sample_window() -> None:
    with pytest.raises(ValueError, match="must be more than 401 days"):
        Settings(raw_retention_days=90)
    assert Settings(raw_retention_days=90, max_past_days=30).raw_retention_days == 90


def test_the_migration_converts_a_populated_table(pg_fresh: Any) -> None:
    from alembic import command

    url = pg_fresh.url
    command.upgrade(alembic_config(url), "0008")
    engine = make_engine(url)
    stamps = [ms(2026, 4, 1) + i * 3_600_000 for i in range(24 * 70)]  # April to early June
    with engine.begin() as conn:
        assert not partitions.is_partitioned(conn)
        conn.execute(
            text(
                "INSERT INTO measurement (park_id, meter_id, quantity, ts_ms, value, quality, "
                "received_ms) VALUES ('p', 'm', 'active_power_kw', :t, :v, 0, 1)"
            ),
            [{"t": t, "v": float(i)} for i, t in enumerate(stamps)],
        )
    upgrade(url)
    with engine.connect() as conn:
        assert partitions.is_partitioned(conn)
        got = conn.execute(text("SELECT ts_ms, value FROM measurement ORDER BY ts_ms")).all()
    assert [(int(t), float(v)) for t, v in got] == [(t, float(i)) for i, t in enumerate(stamps)]
    where = _where(engine)
    assert where == {
        "measurement_202604": 24 * 30,
        "measurement_202605": 24 * 31,
        "measurement_202606": 24 * 9,
    }
    with pytest.raises(Exception, match="duplicate key"), engine.begin() as conn:
        conn.execute(
            text("INSERT INTO measurement VALUES ('p', 'm', 'active_power_kw', :t, 1.0, 0, 1)"),
            {"t": stamps[100]},
        )
    command.downgrade(alembic_config(url), "0008")  # and back, rows kept
    with engine.connect() as conn:
        assert not partitions.is_partitioned(conn)
        assert conn.execute(text("SELECT count(*) FROM measurement")).scalar_one() == len(stamps)
    engine.dispose()
    with psycopg.connect(pg_fresh.conninfo) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_sqlite_keeps_one_plain_table(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    with server.engine.connect() as conn:
        assert not partitions.is_partitioned(conn)
        kinds = conn.execute(
            text("SELECT name FROM sqlite_master WHERE name LIKE 'measurement%' AND type='table'")
        ).all()
    assert kinds == [("measurement",)]
    partition_job(ServerState(server.settings, server.engine))  # nothing to do, no error
