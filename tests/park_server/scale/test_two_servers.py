"""Two `zcpark server` processes on one PostgreSQL and one broker, sharing the MQTT ingest through
the shared subscription; the scheduler's leader is killed with SIGKILL mid-stream. Every sample
the gateway sent is stored exactly once, the survivor takes the advisory lock within the leadership
tick, and the jobs ran once: the re-plan job ran on one server at a time, never twice a mark
(each server's run counters, /api/v1/metrics)."""

from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from zctest_scale import Gateway, ServerProc, count, numbered, prepare_database, wait_for

from park_server.jobs.scheduler import LEADER_TICK_S, LOCK_CLASS
from park_server.timeutil import HOUR_MS, now_ms

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt, pytest.mark.slow, pytest.mark.real_clock]

REPLAN_S = 5  # ZCPARK_DISPATCH_INTERVAL_S: re-plans often enough to see each slot
FEED_S, RATE = 8.0, 1500  # the gateway's production: samples/s for FEED_S seconds


def _holder(engine: Any, schema: str) -> int | None:
    """The backend pid holding the scheduler's advisory lock for ``schema``."""
    with engine.connect() as conn:
        pid = conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :c AND objid::bigint = (hashtext(:s)::bigint & 4294967295)"
            ),
            {"c": LOCK_CLASS, "s": schema},
        ).scalar()
    return None if pid is None else int(pid)


def _runs(server: ServerProc, job: str = "dispatch-rolling") -> int:
    """The server's count of completed runs of ``job`` (its /metrics)."""
    body = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/metrics", timeout=5).text
    m = re.search(rf'^zcpark_job_runs_total{{job="{job}"}} ([0-9.e+]+)$', body, re.M)
    return int(float(m.group(1))) if m else 0


def _marks(t0: float, t1: float, every_s: int, offset_s: int = 5) -> int:
    """How many re-plan marks (every ``every_s`` from the quarter, ``offset_s`` in) lie in
    [t0, t1] (epoch s)."""
    first = math.ceil((t0 - offset_s) / every_s)
    last = math.floor((t1 - offset_s) / every_s)
    return max(0, last - first + 1)


def test_two_servers_share_ingest_and_the_leader_moves_when_one_is_killed(
    tmp_path: Path, pg_fresh: Any, private_broker: Any
) -> None:
    engine = prepare_database(pg_fresh.url)
    env = {"ZCPARK_DISPATCH_INTERVAL_S": str(REPLAN_S)}
    first_up = time.time()  # no re-plan can run before the servers are launched
    servers = [
        ServerProc.make(tmp_path, name, pg_fresh.url, private_broker.url, **env).launch()
        for name in ("scale-a", "scale-b")
    ]
    gw = None
    try:
        for s in servers:
            s.wait_up()
        assert wait_for(lambda: _holder(engine, pg_fresh.schema) is not None, 15)
        assert wait_for(lambda: any(s.lines("leads the scheduled jobs now") for s in servers), 10)
        leaders = [s for s in servers if s.lines("leads the scheduled jobs now")]
        assert len(leaders) == 1, [s.tail() for s in servers]
        leader = leaders[0]
        survivor = next(s for s in servers if s is not leader)
        old_pid = _holder(engine, pg_fresh.schema)
        assert wait_for(lambda: _runs(leader) >= 1, REPLAN_S + 5, 0.5)  # a run before the kill

        gw = Gateway(tmp_path, private_broker.url).start()
        start = now_ms() - now_ms() % HOUR_MS - 2 * HOUR_MS
        source = numbered(int(FEED_S * RATE), start, step_ms=250)
        kill_at: list[float] = []
        before_kill: dict[str, int] = {}

        def feed() -> None:  # the gateway's devices: RATE samples a second into its buffer
            chunk = RATE // 10
            t0 = time.monotonic()
            for i in range(0, len(source), chunk):
                gw.put(source[i : i + chunk])
                if not kill_at and time.monotonic() - t0 > FEED_S / 2:
                    before_kill.update(leader=_runs(leader), survivor=_runs(survivor))
                    kill_at.append(time.monotonic())
                    leader.kill()  # SIGKILL mid-stream, with batches in flight to it
                time.sleep(max(0.0, t0 + (i + chunk) / RATE - time.monotonic()))

        feeder = threading.Thread(target=feed)
        feeder.start()
        feeder.join(FEED_S + 10)
        assert kill_at, "the leader was not killed"
        assert wait_for(
            lambda: _holder(engine, pg_fresh.schema) not in (None, old_pid), 2 * LEADER_TICK_S + 5
        )
        handover_s = time.monotonic() - kill_at[0]
        assert survivor.lines("leads the scheduled jobs now")
        drained = gw.wait_drained(45)
        drained_s = time.monotonic() - kill_at[0]
        result = count(engine, source)
        # the survivor goes on re-planning: wait for two slots of its own after the handover
        wait_for(lambda: _runs(survivor) >= 2, 3 * REPLAN_S, 0.5)
        runs_survivor = _runs(survivor)
        slots = _marks(first_up, time.time(), REPLAN_S)
    finally:
        if gw is not None:
            gw.close()
        for s in servers:
            s.stop()

    print(
        f"two servers: {result.sent} samples, {result.stored} stored, {result.missing} missing, "
        f"{result.values_twice} twice; leader killed {FEED_S / 2:.0f} s in; lock on the survivor "
        f"{handover_s:.1f} s after the kill; gateway buffer empty {drained_s:.1f} s after the kill; "
        f"re-plan runs: leader {before_kill}, survivor {runs_survivor} in the end, "
        f"{slots} re-plan marks in all"
    )
    assert drained, (gw.queued() if gw else None, survivor.tail())
    assert result.exact, result
    assert handover_s <= LEADER_TICK_S + 2, handover_s
    # jobs ran once: while the leader lived the other ran none; in all, at most one run a mark
    assert before_kill["survivor"] == 0 and before_kill["leader"] >= 1, before_kill
    assert runs_survivor >= 2
    assert before_kill["leader"] + runs_survivor <= slots, (before_kill, runs_survivor, slots)
