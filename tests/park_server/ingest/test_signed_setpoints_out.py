"""The server signs each gateway's setpoints with the gateway's own key (issue #14): the message a
re-plan publishes over a real Mosquitto carries the plan id and an HMAC-SHA256 signature that the
gateway's setpoint manager, holding the key `zcpark gateways add` handed out, accepts — and that
another gateway's key does not."""

from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session
from zctest_clock import FakeClock, pinned
from zctest_edge import write_gateway
from zctest_server import make_server

from config.signing import signature
from edge_agent.agent import Agent
from edge_agent.setpoints import SetpointManager
from park_server.db.broker_auth import issue_credentials
from park_server.ingest.mqtt_link import MqttLink
from park_server.jobs.dispatch import plan_park
from park_server.state import ServerState

pytestmark = pytest.mark.mqtt


def test_replans_go_out_signed_with_the_gateways_key(tmp_path: Path, mqtt_broker: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=mqtt_broker.url)
    with Session(server.engine) as session:
        hl = issue_credentials(session, park_id="huolingol", gateway_id="gw-hlgl-01")
        bt = issue_credentials(session, park_id="baotou_aluminum", gateway_id="gw-bt-01")
    state = ServerState(server.settings, server.engine)
    got: queue.Queue[bytes] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-sig-{tmp_path.name}")
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
            mqtt_url="mqtt://127.0.0.1:1",
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
        clock = FakeClock()
        with pinned(clock):
            plan = plan_park(state, "huolingol", "rolling")
            assert plan is not None
            payload = got.get(timeout=10)
            message = json.loads(payload)
            assert message["plan_id"] == plan.plan["plan_id"]
            assert message["signature"] == signature(message, bytes.fromhex(hl.setpoint_key))
            mine = SetpointManager(agent.devices, agent.event, clock=clock, key=hl.setpoint_key)
            assert mine.receive(payload) == []
            assert mine.plan is not None and mine.plan.plan_id == plan.plan["plan_id"]
            theirs = SetpointManager(agent.devices, agent.event, clock=clock, key=bt.setpoint_key)
            assert theirs.receive(payload) == [
                "setpoints message refused: signature does not match (not signed with this "
                "gateway's key, or altered)"
            ]
            assert theirs.plan is None and theirs.signature_refused == 1
    finally:
        link.stop()
        sub.loop_stop()
        sub.disconnect()
