"""End to end over a real Mosquitto: stored then acked; re-sent adds nothing; mixed keeps the good.
(The bad samples of a mixed batch are named and kept in rejected_sample.)"""

from __future__ import annotations

import json
import queue
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text
from zctest_server import batch, make_server

pytestmark = pytest.mark.mqtt


class FakeGatewayLink:
    """A plain paho client standing where a gateway's uplink would: publishes, collects acks."""

    def __init__(self, host: str, port: int) -> None:
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-gw", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.acks.put(json.loads(m.payload))
        self.client.connect(host, port)
        self.client.subscribe("zcpark/v1/huolingol/gw-hlgl-01/ack", qos=1)
        self.client.loop_start()

    def send(self, body: dict[str, Any]) -> None:
        self.client.publish(
            "zcpark/v1/huolingol/gw-hlgl-01/telemetry", json.dumps(body), qos=1
        ).wait_for_publish(5)

    def ack(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.acks.get(timeout=timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _rows(server: Any) -> int:
    with server.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM measurement")).scalar_one())


def test_batch_over_mqtt_is_committed_then_acked(database_url: str, private_broker: Any) -> None:
    server = make_server(database_url, mqtt_url=private_broker.url)
    with server.client(background=True) as client:
        assert client.app.state.mqtt.wait_connected(10)
        time.sleep(0.3)  # let the subscription settle
        gw = FakeGatewayLink(private_broker.host, private_broker.port)
        try:
            gw.send(batch(250, batch_no=41))
            assert gw.ack() == {"batch": 41}
            assert _rows(server) == 250  # the ack came after the commit

            gw.send(batch(250, batch_no=41))  # re-sent: acked again, nothing new stored
            assert gw.ack() == {"batch": 41}
            assert _rows(server) == 250

            mixed = batch(5, batch_no=42, start_ms=None)
            samples = mixed["samples"]
            assert isinstance(samples, list)
            for s in samples:
                s["ts"] = s["ts"].replace(".000Z", ".250Z")
            samples[2]["value"] = None
            gw.send(mixed)
            assert gw.ack() == {"batch": 42}
            assert _rows(server) == 254
            with server.engine.connect() as conn:
                reasons = conn.execute(text('SELECT "index", reason FROM rejected_sample')).all()
            assert [(i, r) for i, r in reasons] == [(2, "value None is not a finite number")]
            health = client.get("/api/v1/health").json()
            assert health["mqtt"] == "connected"
            assert health["ingest"]["samples_accepted"] == 254
            assert health["ingest"]["samples_duplicate"] == 250
            assert health["ingest"]["samples_rejected"] == 1
        finally:
            gw.close()


def test_status_updates_the_gateway_and_unregistered_gateways_get_no_ack(
    tmp_path: Any, private_broker: Any
) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=private_broker.url)
    with server.client(background=True) as client:
        assert client.app.state.mqtt.wait_connected(10)
        time.sleep(0.3)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(private_broker.host, private_broker.port)
        pub.loop_start()
        status = {
            "online": True,
            "queue_samples": 12,
            "oldest_unsent": None,
            "devices_online": 4,
            "devices_total": 5,
            "poll_cycle_ms": 41,
            "dropped_samples": 3,
        }
        pub.publish(
            "zcpark/v1/huolingol/gw-hlgl-01/status", json.dumps(status), qos=1, retain=True
        ).wait_for_publish(5)
        acks: queue.Queue[bytes] = queue.Queue()
        pub.on_message = lambda c, u, m: acks.put(m.payload)
        pub.subscribe("zcpark/v1/huolingol/gw-rogue/ack", qos=1)
        time.sleep(0.3)
        pub.publish(
            "zcpark/v1/huolingol/gw-rogue/telemetry",
            json.dumps(batch(3, gateway="gw-rogue")),
            qos=1,
        ).wait_for_publish(5)
        admin = server.token(client, "ada")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            gws = {
                g["id"]: g
                for g in client.get("/api/v1/parks/huolingol/gateways", headers=admin).json()
            }
            if gws["gw-hlgl-01"]["queue_samples"] == 12:
                break
            time.sleep(0.1)
        g = gws["gw-hlgl-01"]
        assert g["online"] is True and g["dropped_samples"] == 3 and g["devices_total"] == 5
        with pytest.raises(queue.Empty):
            acks.get(timeout=1.0)
        assert _rows(server) == 0
        pub.loop_stop()
        pub.disconnect()
