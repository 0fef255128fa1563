"""A server that publishes setpoints over a real broker, and a gateway's ear and setpoint manager
for them: for tests of what re-plans send (huolingol's gw-hlgl-01, its battery and a potline)."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from zctest_edge import write_gateway
from zctest_server import Server

from edge_agent.agent import Agent
from park_server.ingest.mqtt_link import MqttLink
from park_server.state import ServerState

METERS = {"bess-1", "potline-zhn"}


@dataclass
class Heard:
    state: ServerState  # the server's, with its MQTT link
    messages: queue.Queue[bytes]  # setpoints messages as gw-hlgl-01 receives them
    agent: Agent  # the gateway (not run): its devices for a SetpointManager


@contextmanager
def setpoints_heard(server: Server, broker: Any, workdir: Path) -> Iterator[Heard]:
    state = ServerState(server.settings, server.engine)
    got: queue.Queue[bytes] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{workdir.name}")
    on_message: Callable[..., None] = lambda c, u, m: got.put(m.payload)  # noqa: E731
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.subscribe("zcpark/v1/huolingol/gw-hlgl-01/setpoints", qos=1)
    sub.loop_start()
    link = MqttLink(state, broker.url)
    link.start()
    try:
        assert link.wait_connected()
        state.mqtt = link
        state.note_meters(
            "huolingol", "gw-hlgl-01", [{"meter": m} for m in METERS], park_meters=METERS
        )
        gw = write_gateway(
            workdir / "gw.yaml",
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
        yield Heard(state, got, Agent(gw))
    finally:
        link.stop()
        sub.loop_stop()
        sub.disconnect()
