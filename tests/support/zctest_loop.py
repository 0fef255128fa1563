"""The closed loop for tests: device simulators of a small park, an edge agent reading them, and a
server (in this process, with its MQTT link) that plans and publishes setpoints back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session
from zctest_edge import SimThread, free_port, write_gateway
from zctest_server import Server, make_server

from config import Park, load_park
from edge_agent.agent import Agent
from edge_agent.simulate import ParkModel, start_park
from park_server.db import crud

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


@dataclass
class Loop:
    park: Park
    server: Server
    client: TestClient
    agent: Agent
    model: ParkModel

    def latest(self, meter: str, quantity: str) -> float | None:
        """The newest good sample of a meter's quantity stored by the server."""
        with self.server.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT value FROM measurement WHERE park_id = 'looptest' AND meter_id = :m "
                    "AND quantity = :q AND quality = 0 ORDER BY ts_ms DESC LIMIT 1"
                ),
                {"m": meter, "q": quantity},
            ).first()
        return float(row[0]) if row else None

    def wait_for_data(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while (
            self.latest("load-1", "active_power_kw") is None
            or self.latest("bess-1", "soc_pct") is None
        ) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def closed_loop(tmp_path: Path, broker_url: str) -> Iterator[Loop]:
    park_file = tmp_path / "looptest.yaml"
    park_file.write_text(PARK)
    park = load_park(park_file)
    server = make_server(f"sqlite:///{tmp_path / 'server.db'}", mqtt_url=broker_url)
    with Session(server.engine) as session:
        crud.sync_park(session, park=park)
        crud.create_gateway(session, park_id="looptest", gateway_id="gw-loop")
    ports = {m.id: free_port() for m in park.meters}
    st = SimThread()
    model, sims, servers = st.run(start_park(park, 0, ports=ports))
    st.servers.extend(servers)
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=broker_url,
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
    task: Any = asyncio.run_coroutine_threadsafe(agent.run(stop), st.loop)
    try:
        with server.client(background=True) as client:
            assert client.app.state.mqtt.wait_connected(10)
            yield Loop(park, server, client, agent, model)
    finally:
        st.loop.call_soon_threadsafe(stop.set)
        task.result(20)
        st.close()
        del sims
