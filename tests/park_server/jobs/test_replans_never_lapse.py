"""Setpoints never lapse while the server runs: 24 hours of rolling re-plans on a fake clock, each a
few seconds after its quarter, some missed, published over a real Mosquitto to a gateway's
setpoint manager — at every second of the day some plan's setpoint is in force at the gateway."""

from __future__ import annotations

import queue
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from zctest_clock import FakeClock, pinned
from zctest_edge import write_gateway
from zctest_server import make_server

from edge_agent.agent import Agent
from edge_agent.setpoints import SetpointManager
from park_server import timeutil
from park_server.ingest.mqtt_link import MqttLink
from park_server.jobs.dispatch import plan_park
from park_server.state import ServerState

Q = 900  # s
MISSED = {7, 8, 30, 61}  # quarters whose re-plan never comes (server busy, restarted, …)


def test_24_hours_of_replans_keep_a_plan_in_force_every_second(tmp_path: Path, mqtt_broker) -> None:  # type: ignore[no-untyped-def]
    server = make_server(f"sqlite:///{tmp_path / 'r.db'}", mqtt_url=mqtt_broker.url)
    state = ServerState(server.settings, server.engine)
    clock = FakeClock()  # stands still unless advanced
    day0 = int(clock()) - int(clock()) % Q
    got: queue.Queue[bytes] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{tmp_path.name}")
    sub.on_message = lambda c, u, m: got.put(m.payload)
    sub.connect(mqtt_broker.host, mqtt_broker.port)
    sub.subscribe("zcpark/v1/huolingol/gw-hlgl-01/setpoints", qos=1)
    sub.loop_start()
    link = MqttLink(state, mqtt_broker.url)
    link.start()
    try:
        assert link.wait_connected()
        state.mqtt = link
        meters = {"bess-1", "potline-zhn"}
        state.note_meters(
            "huolingol", "gw-hlgl-01", [{"meter": m} for m in meters], park_meters=meters
        )
        gw = write_gateway(
            tmp_path / "gw.yaml",
            mqtt_url="mqtt://127.0.0.1:1",  # the agent is not run: its setpoint manager is
            devices=[
                {"meter": "bess-1", "bus": "lan", "unit_id": 3, "profile": "sma-storage-pcs"},
                {
                    "meter": "potline-zhn",
                    "bus": "lan",
                    "unit_id": 4,
                    "profile": "potline-rectifier",
                },
            ],
        )
        agent = Agent(gw)
        manager = SetpointManager(agent.devices, agent.event, clock=clock)
        lapses: list[float] = []
        replans = 0
        with pinned(clock):
            for quarter in range(96):
                clock.t = day0 + quarter * Q + 5  # re-plans run 5 s into the quarter
                if quarter not in MISSED:
                    assert plan_park(state, "huolingol", "rolling") is not None
                    replans += 1
                    assert manager.receive(got.get(timeout=10)) == []
                if quarter == 0:
                    start = clock()
                for second in range(Q):
                    clock.t = day0 + quarter * Q + 5 + second
                    for meter in ("bess-1", "potline-zhn"):
                        if manager.target(meter, "active_power_kw")[1] != "plan":
                            lapses.append(clock.t)
        assert replans == 96 - len(MISSED)
        assert clock() - start >= 24 * 3600 - Q
        assert lapses == []
        assert timeutil.now_ms() != int(clock() * 1000)  # the pin was lifted
    finally:
        link.stop()
        sub.loop_stop()
        sub.disconnect()
