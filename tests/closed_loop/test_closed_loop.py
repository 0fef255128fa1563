"""Closed loop: simulator + edge agent + server. The server plans, publishes setpoints over MQTT,
the agent writes them to the battery, and the battery's measured power follows them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session
from zctest_edge import SimThread, free_port, write_gateway
from zctest_server import make_server

from config import load_park
from edge_agent.agent import Agent
from edge_agent.simulate import start_park
from park_server.db import crud

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

PARK = """\
id: looptest
name: Closed-loop test park
location: {lat: 45.5, lon: 119.6}
grid: {import_limit_kw: 5}
tariff: mengxi-large-industry
assets:
  - {id: bess, kind: storage, energy_kwh: 1000, power_kw: 50, soc_min: 0.1, soc_max: 0.95,
     soc_initial: 0.9, soc_final_min: 0.1}
  - {id: base, kind: load, nominal_kw: 10}
meters:
  - {id: grid-main, asset: grid, profile: janitza-umg604}
  - {id: bess-1, asset: bess, profile: sma-storage-pcs}
  - {id: load-1, asset: base, profile: chint-dtsu666}
"""


def _latest(server: Any, meter: str, quantity: str) -> float | None:
    with server.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT value FROM measurement WHERE park_id = 'looptest' AND meter_id = :m AND "
                "quantity = :q AND quality = 0 ORDER BY ts_ms DESC LIMIT 1"
            ),
            {"m": meter, "q": quantity},
        ).first()
    return float(row[0]) if row else None


def test_battery_follows_published_setpoints(tmp_path: Path, private_broker: Any) -> None:
    park_file = tmp_path / "looptest.yaml"
    park_file.write_text(PARK)
    park = load_park(park_file)
    server = make_server(f"sqlite:///{tmp_path / 'server.db'}", mqtt_url=private_broker.url)
    with Session(server.engine) as session:
        crud.sync_park(session, park=park)
        key = crud.create_gateway(session, park_id="looptest", gateway_id="gw-loop")
    assert key.startswith("zcgk_")
    ports = {m.id: free_port() for m in park.meters}
    st = SimThread()
    model, sims, servers = st.run(start_park(park, 0, ports=ports))
    st.servers.extend(servers)
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=private_broker.url,
        park="looptest",
        gateway="gw-loop",
        devices=[
            {
                "meter": m.id,
                "bus": "lan",
                "port": ports[m.id],
                "unit_id": 3,
                "profile": m.profile,
                "poll_interval_s": 0.5,
            }
            for m in park.meters
        ],
    )
    agent = Agent(gw)
    stop = asyncio.Event()
    task = asyncio.run_coroutine_threadsafe(agent.run(stop), st.loop)
    try:
        with server.client(background=True) as client:
            assert client.app.state.mqtt.wait_connected(10)
            deadline = time.monotonic() + 20
            while (
                _latest(server, "load-1", "active_power_kw") is None
                or _latest(server, "bess-1", "soc_pct") is None
            ) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _latest(server, "bess-1", "soc_pct") == pytest.approx(90.0, abs=0.5)
            manager = server.token(client, "ada")
            r = client.post("/api/v1/parks/looptest/dispatch/replan", headers=manager)
            assert r.status_code == 200, r.text
            setpoint = r.json()["setpoints"]["bess-1"]
            load = _latest(server, "load-1", "active_power_kw")
            assert load is not None
            # import is capped at 5 kW and the battery is full: it must carry the load
            assert setpoint == pytest.approx(load, abs=0.5) and setpoint > 5
            deadline = time.monotonic() + 15
            measured = None
            while time.monotonic() < deadline:
                measured = _latest(server, "bess-1", "active_power_kw")
                if measured is not None and abs(measured - setpoint) < 0.01:
                    break
                time.sleep(0.2)
            assert measured == pytest.approx(setpoint, abs=0.01)
            assert agent.status()["setpoints"]["bess-1.active_power_kw"]["mode"] == "plan"
            latest = client.get("/api/v1/parks/looptest/dispatch/latest", headers=manager).json()
            assert latest["status"] == "optimal" and latest["plan_id"] == r.json()["plan_id"]
            assert latest["sources"]["bess"] == "measured soc"
    finally:
        st.loop.call_soon_threadsafe(stop.set)
        task.result(20)
        st.close()
    assert model.setpoints["bess"] == pytest.approx(setpoint, abs=0.01)
    del sims
