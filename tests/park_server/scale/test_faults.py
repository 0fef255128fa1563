"""Faults with real processes, counted from source to database (the stored (key, value) pairs
equal the source's exactly: none lost, none twice):

- the broker (a Mosquitto of the test's own) restarted during ingest;
- the server killed with SIGKILL mid-stream (batches in flight) and restarted;
- PostgreSQL unreachable (a TCP proxy the test kills) while a real edge agent reads a simulated
  device: the server answers 503 with the reason, the gateway buffers, ingest resumes by itself
  (ZCPARK_TEST_DB_OUTAGE_S, 20 s here; 60 s once outside the suite, docs/reliability.md);
- a gateway offline for a week: a week of samples in its buffer (past time stamps), then the real
  edge agent connects and drains it alongside its live data; the drain rate is printed.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from zctest_edge import SimThread, write_gateway
from zctest_proxy import TcpProxy
from zctest_scale import (
    Gateway,
    ServerProc,
    count,
    free_port,
    numbered,
    prepare_database,
    stored_count,
    wait_for,
)

from config import load_profile
from edge_agent.buffer import Buffer
from edge_agent.simulate import DeviceSim, Faults
from park_server.timeutil import HOUR_MS, now_ms

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt, pytest.mark.slow, pytest.mark.real_clock]

OUTAGE_S = float(os.environ.get("ZCPARK_TEST_DB_OUTAGE_S", "20"))
INGEST_ONLY = {"ZCPARK_RUN_SCHEDULER": "false"}


def _feed(gw: Gateway, source: list[Any], rate: int, at: float, fault: Any) -> threading.Thread:
    """Put ``source`` into the gateway's buffer at ``rate`` samples/s; call ``fault`` ``at``
    seconds in (in the feeding thread, so the stream goes on around it)."""

    def run() -> None:
        chunk = max(1, rate // 10)
        t0 = time.monotonic()
        done = False
        for i in range(0, len(source), chunk):
            gw.put(source[i : i + chunk])
            if not done and time.monotonic() - t0 >= at:
                done = True
                threading.Thread(target=fault, daemon=True).start()
            time.sleep(max(0.0, t0 + (i + chunk) / rate - time.monotonic()))

    t = threading.Thread(target=run)
    t.start()
    return t


def _stream_through(
    tmp_path: Path, pg: Any, broker: Any, fault: Any, *, seconds: float = 8, rate: int = 1500
) -> tuple[Any, float, dict[str, Any]]:
    """Stream through one server with ``fault`` a third of the way in; return the count, the
    seconds from the stream's end to an empty gateway buffer, and the server's ingest counters
    (of its last life) from /health."""
    engine = prepare_database(pg.url)
    server = ServerProc.make(tmp_path, "fault-a", pg.url, broker.url, **INGEST_ONLY).start()
    gw = Gateway(tmp_path, broker.url).start()
    source = numbered(int(seconds * rate), now_ms() - now_ms() % HOUR_MS - 2 * HOUR_MS, 250)
    try:
        feeder = _feed(gw, source, rate, seconds / 3, lambda: fault(server))
        feeder.join(seconds + 30)
        t_end = time.monotonic()
        assert gw.wait_drained(45), (gw.queued(), server.tail())
        drained_s = time.monotonic() - t_end
        health = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=10).json()
        return count(engine, source), drained_s, health["ingest"]
    finally:
        gw.close()
        server.stop()
        engine.dispose()


def test_broker_restarted_during_ingest(tmp_path: Path, pg_fresh: Any, private_broker: Any) -> None:
    down: list[float] = []

    def restart(server: ServerProc) -> None:
        private_broker.stop()
        down.append(time.monotonic())
        time.sleep(3)
        private_broker.start()
        down.append(time.monotonic())

    result, drained_s, _ = _stream_through(tmp_path, pg_fresh, private_broker, restart)
    print(
        f"broker restart: {result.sent} samples, {result.stored} stored, {result.missing} "
        f"missing, {result.values_twice} twice; broker away {down[1] - down[0]:.1f} s; buffer "
        f"empty {drained_s:.1f} s after the stream ended"
    )
    assert len(down) == 2
    assert result.exact, result


def test_server_killed_mid_stream_and_restarted(
    tmp_path: Path, pg_fresh: Any, private_broker: Any
) -> None:
    dead: list[float] = []

    def kill_and_restart(server: ServerProc) -> None:
        server.kill()  # SIGKILL with batches in flight: some ingested, not acked
        dead.append(time.monotonic())
        time.sleep(2)
        server.start()  # the same instance id: it resumes its MQTT session
        dead.append(time.monotonic())

    result, drained_s, ingest = _stream_through(
        tmp_path, pg_fresh, private_broker, kill_and_restart
    )
    print(
        f"server SIGKILL: {result.sent} samples, {result.stored} stored, {result.missing} "
        f"missing, {result.values_twice} twice; down {dead[1] - dead[0]:.1f} s (restart "
        f"included); buffer empty {drained_s:.1f} s after the stream ended; the restarted "
        f"server took {ingest['samples_duplicate']} samples it already had (copies the broker "
        f"queued while the gateway resent, or committed before the kill and never acked) and "
        f"{ingest['samples_accepted']} new ones, each stored once"
    )
    assert len(dead) == 2
    assert result.exact, result


def _potline_sim(seq: Any) -> DeviceSim:
    def values() -> dict[str, float]:
        n = float(next(seq))
        return {
            "energy_import_kwh": n,
            "active_power_kw": -n,
            "current_a": 1.0,
            "voltage_v": 800.0,
            "status_code": 1.0,
        }

    return DeviceSim("potline-zhn", load_profile("potline-rectifier"), values, keep_served=True)


def _agent(gw_file: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "zcpark", "edge", str(gw_file)],
        cwd=gw_file.parent,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _counter_values(engine: Any) -> list[float]:
    with engine.connect() as conn:
        return [
            float(r[0])
            for r in conn.execute(
                text(
                    "SELECT value FROM measurement WHERE meter_id = 'potline-zhn' AND "
                    "quantity = 'energy_import_kwh' AND quality = 0"
                )
            ).all()
        ]


def _queue(buffer_file: Path) -> int:
    import sqlite3

    with sqlite3.connect(buffer_file, timeout=5) as db:
        return int(db.execute("SELECT count(*) FROM sample").fetchone()[0])


def test_postgres_unreachable_the_gateway_buffers_and_ingest_resumes(
    tmp_path: Path, pg_fresh: Any, private_broker: Any
) -> None:
    engine = prepare_database(pg_fresh.url)
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    url = pg_fresh.url.replace("127.0.0.1:5432", proxy.address)
    faults = Faults()
    sim = _potline_sim(itertools.count(1))
    sim.faults = faults
    st = SimThread()
    port = free_port()
    st.serve(sim, port)
    gw_file = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=private_broker.url,
        devices=[
            {
                "meter": "potline-zhn",
                "bus": "lan",
                "port": port,
                "unit_id": 1,
                "profile": "potline-rectifier",
                "poll_interval_s": 0.2,
            }
        ],
    )
    server = ServerProc.make(tmp_path, "fault-db", url, private_broker.url, **INGEST_ONLY)
    agent = None
    try:
        server.start()
        agent = _agent(gw_file, tmp_path / "agent.log")
        assert wait_for(lambda: len(_counter_values(engine)) >= 10, 30)
        proxy.stop()
        t_down = time.monotonic()
        time.sleep(3)
        health = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=10)
        login = httpx.post(
            f"http://127.0.0.1:{server.port}/api/v1/auth/token",
            data={"username": "nobody", "password": "x"},
            timeout=10,
        )
        peak_queue = 0
        while time.monotonic() - t_down < OUTAGE_S:
            peak_queue = max(peak_queue, _queue(tmp_path / "buffer.sqlite"))
            time.sleep(1)
        stored_at_return = len(_counter_values(engine))
        served_at_return = len(sim.served)
        proxy.start()
        t_up = time.monotonic()
        served_before = {s["energy_import_kwh"] for s in sim.served}
        caught_up = wait_for(lambda: served_before <= set(_counter_values(engine)), 45, 0.2)
        caught_up_s = time.monotonic() - t_up
        faults.exception = 4  # the device stops producing good values: what was served is final
        time.sleep(6)
        served = [s["energy_import_kwh"] for s in sim.served]
        assert wait_for(lambda: set(served) <= set(_counter_values(engine)), 20, 0.2)
        delivered = _counter_values(engine)
        tracebacks = server.lines("Traceback")
        down_lines = server.lines("database unavailable")
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
        server.stop()
        st.close()
        proxy.stop()
        engine.dispose()

    backlog = served_at_return - stored_at_return
    print(
        f"PostgreSQL away {OUTAGE_S:.0f} s: {len(served)} reads served, {len(delivered)} stored, "
        f"{len(set(served) - set(delivered))} missing, {len(delivered) - len(set(delivered))} "
        f"twice; /health during: {health.status_code} {health.json()}; a login: "
        f"{login.status_code} {login.json()}; gateway queue peaked at "
        f"{peak_queue} samples; {backlog} reads behind when it returned, all stored "
        f"{caught_up_s:.1f} s later; {len(down_lines)} 'database unavailable' lines, "
        f"{len(tracebacks)} tracebacks"
    )
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    assert login.status_code == 503, login.text  # a route that needs the database: the reason
    assert login.json()["detail"].startswith("database unavailable: "), login.text
    assert peak_queue > 0  # the gateway held what it could not deliver
    assert caught_up, "ingest did not resume by itself"
    assert sorted(delivered) == sorted(set(served)), "lost or stored twice"
    assert tracebacks == []


def test_a_gateway_offline_for_a_week_drains_everything_once(
    tmp_path: Path, pg_fresh: Any, private_broker: Any
) -> None:
    engine = prepare_database(pg_fresh.url)
    # a week at a modest rate (4 meters every 30 s), written straight into the gateway's buffer
    # as its polls would have while the uplink was away
    week_start = now_ms() - now_ms() % HOUR_MS - 7 * 24 * HOUR_MS
    backlog = numbered(4 * 2 * 60 * 24 * 7, week_start, step_ms=30_000)
    buffer = Buffer(tmp_path / "buffer.sqlite", 200)
    for i in range(0, len(backlog), 20_000):
        buffer.put(backlog[i : i + 20_000])
    buffer.close()
    sim = _potline_sim(itertools.count(1_000_000))
    faults = Faults()
    sim.faults = faults
    st = SimThread()
    port = free_port()
    st.serve(sim, port)
    gw_file = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=private_broker.url,
        batch_max_samples=500,
        max_mb=200,
        devices=[
            {
                "meter": "potline-zhn",
                "bus": "lan",
                "port": port,
                "unit_id": 1,
                "profile": "potline-rectifier",
                "poll_interval_s": 0.5,
            }
        ],
    )
    server = ServerProc.make(
        tmp_path, "fault-week", pg_fresh.url, private_broker.url, **INGEST_ONLY
    )
    agent = None
    try:
        server.start()
        t0 = time.monotonic()
        agent = _agent(gw_file, tmp_path / "agent.log")
        assert wait_for(lambda: stored_count(engine) >= len(backlog), 50, 0.25), (
            stored_count(engine),
            server.tail(),
        )
        drain_s = time.monotonic() - t0
        live_during = len(sim.served)
        faults.exception = 4
        time.sleep(4)
        served = [s["energy_import_kwh"] for s in sim.served]
        assert wait_for(lambda: set(served) <= set(_counter_values(engine)), 20, 0.2)
        live = _counter_values(engine)
        result = count(engine, backlog, until_ms=week_start + 7 * 24 * HOUR_MS)
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
        server.stop()
        st.close()
        engine.dispose()

    print(
        f"a week offline: {len(backlog)} buffered samples drained in {drain_s:.1f} s (agent start "
        f"to last stored, {len(backlog) / drain_s:,.0f} samples/s) while {live_during} live reads "
        f"went on; backlog {result.missing} missing; live {len(served)} served, {len(live)} stored"
    )
    # the backlog and the live reads, each stored exactly once
    assert result.exact, result
    assert sorted(live) == sorted(set(served))
