"""Scheduler leadership on PostgreSQL, job retry, and alarms."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlmodel import Session, col, select
from zctest_server import batch, make_server

from park_server.db.tables import EventRow, GatewayRow
from park_server.jobs import alarms
from park_server.jobs.scheduler import Jobs, Leadership
from park_server.state import ServerState
from park_server.timeutil import now_ms


@pytest.mark.postgres
def test_only_one_instance_leads_and_another_takes_over(pg_fresh: Any) -> None:
    server = make_server(pg_fresh.url)
    a = Leadership(ServerState(server.settings, server.engine))
    b = Leadership(ServerState(server.settings, server.engine))
    assert a.is_leader() is True
    assert b.is_leader() is False
    assert a.is_leader() is True  # still holds it
    a.release()  # instance a stops
    assert b.is_leader() is True
    b.release()


def test_failed_job_is_logged_and_retried(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'j.db'}")
    jobs = Jobs(ServerState(server.settings, server.engine), retry_seconds=0.2)
    calls: list[float] = []

    def flaky(state: ServerState) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database went away")

    jobs.add("flaky", flaky, seconds=3600)
    jobs.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        jobs.stop()
    assert len(calls) == 2
    assert jobs.failures["flaky"] == 1 and jobs.runs["flaky"] == 1
    assert "job flaky failed" in caplog.text


def test_alarms_open_and_close(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'a.db'}")
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        client.post("/api/v1/ingest", json=batch(3, start_ms=now_ms() - 3_600_000), headers=key)
    with Session(server.engine) as session:
        alarms.evaluate(session)
        open_ = {
            (e.kind, e.subject)
            for e in session.exec(select(EventRow).where(col(EventRow.closed_ms).is_(None))).all()
        }
        assert ("gateway_offline", "gw-hlgl-01") in open_  # no status ever
        assert ("meter_stale", "grid-main") in open_  # last sample an hour ago
        assert ("data_gap", "grid-main") in open_
        gw = session.get(GatewayRow, ("huolingol", "gw-hlgl-01"))
        assert gw is not None
        gw.online, gw.last_status_ms = True, now_ms()
        gw.status_json = json.dumps({"online": True, "dropped_samples": 40})
        session.add(gw)
        session.commit()
        alarms.evaluate(session)
        events = session.exec(select(EventRow).where(EventRow.subject == "gw-hlgl-01")).all()
        kinds = {(e.kind, e.closed_ms is not None) for e in events}
        assert ("gateway_offline", True) in kinds  # closed now that it reports
        drops = [e for e in events if e.kind == "buffer_drops"]
        assert len(drops) == 1 and "dropped 40 samples" in drops[0].message
        alarms.evaluate(session)  # the same count again is not a new event
        assert (
            len(
                [
                    e
                    for e in session.exec(
                        select(EventRow).where(EventRow.kind == "buffer_drops")
                    ).all()
                ]
            )
            == 1
        )


def test_bad_samples_do_not_keep_a_meter_fresh(tmp_path: Any) -> None:
    """An offline device yields 0.0 with quality bad: the meter is stale and has gaps."""
    from zctest_rollups import MIN, T0, row, store

    server = make_server(f"sqlite:///{tmp_path / 'b.db'}")
    good = [row("grid-main", "active_power_kw", T0 + m * MIN, 800.0) for m in range(60)]
    bad = [row("grid-main", "active_power_kw", T0 + m * MIN, 0.0, "bad") for m in range(60, 120)]
    bad += [row("wind-zhn", "active_power_kw", T0 + m * MIN, 0.0, "bad") for m in range(120)]
    store(server.engine, good + bad)
    now = T0 + 120 * MIN + 30_000  # 02:00:30, the newest (bad) samples 90 s old
    with Session(server.engine) as session:
        alarms.evaluate(session, now=now)
        events = {
            (e.kind, e.subject): e.message
            for e in session.exec(select(EventRow).where(col(EventRow.closed_ms).is_(None))).all()
        }
    assert events[("meter_stale", "grid-main")] == (
        "meter grid-main has sent only bad-quality samples since 2026-11-23T00:59:00.000Z"
    )
    assert events[("data_gap", "grid-main")] == (
        "meter grid-main: 4 of the last 8 quarter-hours have no data"
    )
    assert events[("meter_stale", "wind-zhn")] == (
        "meter wind-zhn has sent only bad-quality samples since 2026-11-23T00:00:00.000Z"
    )
    assert events[("data_gap", "wind-zhn")] == (
        "meter wind-zhn: 8 of the last 8 quarter-hours have no data"
    )
    assert ("meter_stale", "potline-zhn") not in events  # never reported: not connected yet
