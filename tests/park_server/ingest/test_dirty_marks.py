"""Which buckets ingest marks dirty, and that a mark set while a rollup runs survives it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session
from zctest_rollups import MIN, T0, roll, rollups, row, store
from zctest_server import make_server

from park_server.ingest.batches import mark_dirty, store_rows
from park_server.timeseries.rollups import refresh_rollups
from park_server.timeutil import QUARTER_MS


def _marks(engine: Any) -> set[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT meter_id, quantity, bucket_ms FROM rollup_dirty")).all()
    return {(str(m), str(q), int(b) - T0) for m, q, b in rows}


def test_a_late_counter_sample_marks_the_bucket_of_the_next_sample(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'd.db'}")
    e = "energy_import_kwh"
    store(server.engine, [row("grid-main", e, T0 + m * MIN, 100.0 + m) for m in (0, 80)])
    roll(server.engine, server.settings)
    store(server.engine, [row("grid-main", e, T0 + 40 * MIN, 140.0)])
    # its own bucket (00:30) and that of the next stored sample (01:15), whose increase it splits
    assert _marks(server.engine) == {("grid-main", e, 30 * MIN), ("grid-main", e, 75 * MIN)}


def test_power_samples_mark_the_two_intervals_after_theirs(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'p.db'}")
    store(server.engine, [row("grid-main", "active_power_kw", T0 + 20 * MIN, 5.0)])
    store(server.engine, [row("grid-main", "voltage_v", T0 + 20 * MIN, 10_500.0)])
    q = QUARTER_MS
    assert _marks(server.engine) == {
        ("grid-main", "active_power_kw", q),
        ("grid-main", "active_power_kw", 2 * q),  # its span may reach into the next interval,
        ("grid-main", "active_power_kw", 3 * q),  # and it shortens its successor's
        ("grid-main", "voltage_v", q),
    }


@pytest.mark.postgres
def test_a_mark_set_while_a_rollup_of_its_bucket_runs_is_kept(pg_fresh: Any) -> None:
    server = make_server(pg_fresh.url)
    p = "active_power_kw"
    store(server.engine, [row("grid-main", p, T0, 100.0)])
    late = [row("grid-main", p, T0 + MIN, 300.0)]
    with Session(server.engine) as ingest:  # a batch in flight: stored and marked, not committed
        conn = ingest.connection()
        store_rows(conn, late)
        mark_dirty(conn, late)
        errors: list[BaseException] = []

        def rollup() -> None:
            try:
                with Session(server.engine) as session:
                    refresh_rollups(session.connection(), timezones={"huolingol": "Asia/Shanghai"})
                    session.commit()
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        job = threading.Thread(target=rollup)
        job.start()
        job.join(timeout=1.0)  # it reads the mark and the rows committed so far, then waits
        ingest.commit()
    job.join(timeout=30)
    assert not job.is_alive() and not errors, errors
    # the rollup could not see the late sample, so its mark must still be there ...
    assert ("grid-main", p, 0) in _marks(server.engine)
    roll(server.engine, server.settings)
    # ... and the next run counts it
    assert rollups(server.engine, "grid-main", p, "15min")[T0]["value"] == pytest.approx(200.0)
