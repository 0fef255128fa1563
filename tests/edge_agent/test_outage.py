"""Broker stopped for 60 s, the agent killed with SIGKILL during it: after restart and reconnect
every sample produced is delivered exactly once (by sequence and count), and the backlog drains
at least ten times faster than it built up."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from zctest_edge import SimThread, free_port, write_gateway
from zctest_server import make_server

from config import load_profile
from edge_agent.simulate import DeviceSim, Faults

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

OUTAGE_S = 60.0


def _agent(gw: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "zcpark", "edge", str(gw)],
        cwd=gw.parent,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _delivered(server: Any) -> list[float]:
    with server.engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT value FROM measurement WHERE meter_id = 'potline-zhn' AND "
                    "quantity = 'energy_import_kwh' AND quality = 0 ORDER BY value"
                )
            ).all()
        ]


def test_outage_and_kill_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, private_broker: Any
) -> None:
    seq = itertools.count(1)
    faults = Faults()

    def values() -> dict[str, float]:
        n = float(next(seq))
        return {
            "energy_import_kwh": n,
            "active_power_kw": -n,
            "current_a": 1.0,
            "voltage_v": 800.0,
            "status_code": 1.0,
        }

    sim = DeviceSim(
        "potline-zhn", load_profile("potline-rectifier"), values, faults=faults, keep_served=True
    )
    st = SimThread()
    port = free_port()
    st.serve(sim, port)
    server = make_server(f"sqlite:///{tmp_path / 'server.db'}", mqtt_url=private_broker.url)
    gw = write_gateway(
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
    log = tmp_path / "agent.log"
    agent = _agent(gw, log)
    try:
        with server.client(background=True) as client:
            assert client.app.state.mqtt.wait_connected(10)
            deadline = time.monotonic() + 20
            while len(_delivered(server)) < 10 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(_delivered(server)) >= 10, log.read_text()[-2000:]

            private_broker.stop()
            down_at = time.monotonic()
            time.sleep(OUTAGE_S / 3)
            served_at_kill = len(sim.served)
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
            killed_window = {s["energy_import_kwh"] for s in sim.served[served_at_kill - 2 :]}
            agent = _agent(gw, log)  # restarted while the broker is still away
            time.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))

            served_before_return = {s["energy_import_kwh"] for s in sim.served}
            private_broker.start()
            back_at = time.monotonic()
            drained_after = first_after = None
            before = len(_delivered(server))
            while time.monotonic() - back_at < 30:
                have = set(_delivered(server))
                if first_after is None and len(have) > before:
                    first_after = time.monotonic() - back_at  # reconnected and delivering
                if len(served_before_return - have) <= 2:
                    drained_after = time.monotonic() - back_at
                    break
                time.sleep(0.1)
            backlog = len(served_before_return) - before
            time.sleep(3)
            faults.exception = 4  # the device stops producing good values: what was served is final
            time.sleep(4)
            served = [s["energy_import_kwh"] for s in sim.served]
            delivered = _delivered(server)
            health = client.get("/api/v1/health").json()
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
        st.close()

    assert len(delivered) == len(set(delivered)), "a sample was stored twice"
    missing = set(served) - set(delivered)
    # only a read that was in flight at the moment of SIGKILL may not have reached the disk
    assert len(missing) <= 1 and missing <= killed_window, (
        sorted(missing)[:10],
        os.linesep.join(log.read_text().splitlines()[-20:]),
    )
    assert set(delivered) <= set(served)
    assert len(delivered) >= len(served) - 1
    # reconnection is quick, and the backlog drains at least 10x faster than it built up
    assert first_after is not None and drained_after is not None, (
        first_after,
        drained_after,
        health,
        log.read_text()[-3000:],
    )
    assert first_after <= 5.0
    live_rate = backlog / OUTAGE_S  # samples per second while the broker was away
    drain_rate = backlog / max(drained_after - first_after, 0.1)
    print(
        f"outage: {backlog} reads buffered in {OUTAGE_S:.0f} s ({live_rate:.1f}/s); reconnected "
        f"{first_after:.1f} s after the broker returned; drained in {drained_after - first_after:.1f} s "
        f"({drain_rate:.0f}/s, {drain_rate / live_rate:.0f}x)"
    )
    assert drain_rate >= 10 * live_rate, (backlog, first_after, drained_after)
