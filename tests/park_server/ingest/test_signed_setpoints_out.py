"""The server signs each gateway's setpoints with the gateway's own key (issue #14): the message a
re-plan publishes over a real Mosquitto carries the plan id and an HMAC-SHA256 signature that the
gateway's setpoint manager, holding the key `zcpark gateways add` handed out, accepts — and that
another gateway's key does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from zctest_clock import FakeClock, pinned
from zctest_server import make_server
from zctest_setpoints import setpoints_heard

from config.signing import signature
from edge_agent.setpoints import SetpointManager
from park_server.db.broker_auth import issue_credentials
from park_server.jobs.dispatch import plan_park

pytestmark = pytest.mark.mqtt


def test_replans_go_out_signed_with_the_gateways_key(tmp_path: Path, mqtt_broker: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=mqtt_broker.url)
    with Session(server.engine) as session:
        hl = issue_credentials(session, park_id="huolingol", gateway_id="gw-hlgl-01")
        bt = issue_credentials(session, park_id="baotou_aluminum", gateway_id="gw-bt-01")
    with setpoints_heard(server, mqtt_broker, tmp_path) as heard:
        state, got, agent = heard.state, heard.messages, heard.agent
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
