"""The scheduler while PostgreSQL is away (a real PostgreSQL behind a TCP proxy the test kills):
one log line when it goes and one when it is back, no traceback per tick, the jobs skipped meanwhile
and run again by themselves."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from sqlalchemy import text
from zctest_proxy import TcpProxy
from zctest_server import make_server

from park_server.jobs.scheduler import Jobs
from park_server.state import ServerState

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _wait(pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


@pytest.mark.parametrize("leader_check", [True, False], ids=["postgres-leader", "job-itself"])
def test_one_line_per_state_change_while_the_database_is_away(
    pg_fresh: Any, caplog: pytest.LogCaptureFixture, leader_check: bool
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    try:
        url = pg_fresh.url.replace("127.0.0.1:5432", proxy.address)
        server = make_server(url)
        state = ServerState(server.settings, server.engine)
        jobs = Jobs(state, retry_seconds=0.2)
        if not leader_check:  # the job meets the outage itself (as on SQLite, always the leader)
            jobs.leadership.is_leader = lambda: True  # type: ignore[method-assign]
        runs: list[float] = []

        def query(st: ServerState) -> None:
            with st.engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM park")).scalar_one()
            runs.append(time.monotonic())

        jobs.add("query", query, seconds=0.25)
        caplog.set_level(logging.INFO)
        jobs.start()
        try:
            assert _wait(lambda: len(runs) >= 2, 10)
            proxy.stop()
            caplog.clear()
            time.sleep(3.0)  # a dozen ticks with the database away
            during = list(caplog.records)
            ran_during = [t for t in runs if t > time.monotonic() - 2.5]
            proxy.start()
            back_at = time.monotonic()
            assert _wait(lambda: bool(runs) and runs[-1] > back_at, 15)
            after = list(caplog.records)
        finally:
            jobs.stop()
    finally:
        proxy.stop()

    sched = [r.getMessage() for r in during if r.name == "zcpark.scheduler"]
    paused = [m for m in sched if m.startswith("jobs ")]
    assert len(paused) == 1 and paused[0].startswith("jobs paused: database unavailable: "), sched
    # besides it at most the one change of leadership (the lock went with the connection)
    assert set(sched) - set(paused) <= {"this instance no longer leads the scheduled jobs"}
    assert [r for r in after if r.exc_info] == []  # no traceback at all, down or back
    assert ran_during == []
    back = [r.getMessage() for r in after if r.name == "zcpark.scheduler"]
    assert [m for m in back if m.startswith("jobs resume: database reachable again after ")]
    assert len([m for m in back if m.startswith("jobs ")]) == 2, back  # paused once, resumed once
