"""Hostile telemetry over a real Mosquitto: a batch of type-confused samples is stored (its valid
samples) and acked; a batch refused as a whole is acked when its number could be read (else the
gateway would resend it forever) and counted; an oversized payload is counted, never queued."""

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

TOPIC = "zcpark/v1/huolingol/gw-hlgl-01/"


class Gateway:
    """A plain paho client standing where a gateway's uplink would: raw payloads out, acks in."""

    def __init__(self, host: str, port: int) -> None:
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-hostile-gw", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.acks.put(json.loads(m.payload))
        self.client.connect(host, port)
        self.client.subscribe(TOPIC + "ack", qos=1)
        self.client.loop_start()
        time.sleep(0.2)

    def send(self, payload: str | bytes) -> None:
        self.client.publish(TOPIC + "telemetry", payload, qos=1).wait_for_publish(5)

    def ack(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.acks.get(timeout=timeout)

    def no_ack(self, wait_s: float = 1.0) -> None:
        with pytest.raises(queue.Empty):
            self.acks.get(timeout=wait_s)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _hostile(batch_no: int | str) -> str:
    good = batch(4, batch_no=1)["samples"]
    assert isinstance(good, list)
    ts = good[0]["ts"]
    bad = [
        f'{{"ts": "{ts}", "meter": "grid-main", "quantity": [], "value": 1.0}}',
        f'{{"ts": "{ts}", "meter": "grid-main", "quantity": "active_power_kw", "value": 1.0, '
        '"quality": []}',
        f'{{"ts": "{ts}", "meter": "grid-main", "quantity": "active_power_kw", "value": '
        + "9" * 400
        + "}",
        '{"ts": Infinity, "meter": "grid-main", "quantity": "active_power_kw", "value": 1.0}',
        f'{{"ts": "{ts}", "meter": "' + "j" * 100_000 + '", "quantity": "voltage_v", "value": 1}',
    ]
    samples = ", ".join([json.dumps(s) for s in good] + bad)
    return (
        f'{{"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": {batch_no}, '
        f'"samples": [{samples}]}}'
    )


def test_hostile_batches_over_mqtt_are_acked_or_counted(tmp_path: Any, private_broker: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=private_broker.url)
    server.settings = server.settings.model_copy(update={"max_body_bytes": 300_000})
    with server.client(background=True) as client:
        assert server_state(client).mqtt.wait_connected(10)
        time.sleep(0.3)
        gw = Gateway(private_broker.host, private_broker.port)
        try:
            # type-confused samples: refused one by one, the valid ones stored, the batch acked
            gw.send(_hostile(11))
            assert gw.ack() == {"batch": 11}
            with server.engine.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM measurement")).scalar_one() == 4
                reasons = list(
                    conn.execute(
                        text('SELECT reason FROM rejected_sample ORDER BY "index"')
                    ).scalars()
                )
            assert reasons[:4] == [
                "unknown quantity []",
                "quality [] is not good, uncertain or bad",
                "value <an integer of 400 digits> is beyond the range of a number (about 1.8e308)",
                "ts: inf is not a finite time stamp",
            ]
            assert reasons[4].startswith("unknown meter 'jjjj") and len(reasons[4]) < 120

            # nested 100,000 deep: refused as a whole, acked by the number that could be read
            deep = "[" * 100_000 + "]" * 100_000
            gw.send(
                '{"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": 12, '
                '"samples": ' + deep + "}"
            )
            assert gw.ack() == {"batch": 12}
            # a samples field that is no list: refused as a whole, acked
            gw.send(json.dumps({**batch(1, batch_no=13), "samples": {"a": 1}}))
            assert gw.ack() == {"batch": 13}

            # a batch number beyond 64 bits: no number to ack with, so counted only
            gw.send(_hostile(2**64 + 1))
            # over the size limit: counted, never queued or parsed
            gw.send(json.dumps(batch(3000, batch_no=14)))
            gw.no_ack()

            # the worker is alive: the next ordinary batch is stored and acked
            gw.send(json.dumps(batch(3, batch_no=15, start_ms=None, step_ms=1500)))
            assert gw.ack() == {"batch": 15}
            ingest = client.get("/api/v1/health").json()["ingest"]
            assert ingest["batches_rejected"] == 4
            assert ingest["samples_rejected"] == 5
            # only the park's own meter is remembered for the gateway, not 100 kB of junk
            assert server_state(client).gateway_meters() == {
                ("huolingol", "gw-hlgl-01"): {"grid-main"}
            }
        finally:
            gw.close()


def server_state(client: Any) -> Any:
    return client.app.state.zcpark


def test_hostile_status_messages_are_ignored_and_the_next_good_one_stored(
    tmp_path: Any, private_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=private_broker.url)
    with server.client(background=True) as client:
        assert server_state(client).mqtt.wait_connected(10)
        time.sleep(0.3)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(private_broker.host, private_broker.port)
        pub.loop_start()
        for payload in (
            '{"online": true, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",  # too deep
            '{"online": true, "pad": "' + "p" * 100_000 + '"}',  # 100 kB: not stored
            '{"online": true, "dropped_samples": Infinity}',
            '{"online": true, "dropped_samples": 18446744073709551616}',
            '{"online": true, "queue_samples": 7, "dropped_samples": 2}',
        ):
            pub.publish(TOPIC + "status", payload, qos=1).wait_for_publish(5)
        admin = server.token(client, "ada")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            gws = client.get("/api/v1/parks/huolingol/gateways", headers=admin).json()
            g = next(g for g in gws if g["id"] == "gw-hlgl-01")
            if g["queue_samples"] == 7:
                break
            time.sleep(0.1)
        assert g["queue_samples"] == 7 and g["dropped_samples"] == 2 and g["online"] is True
        assert [r for r in caplog.records if r.exc_info] == []  # ignored, not a traceback
        with server.engine.connect() as conn:
            longest = conn.execute(text("SELECT MAX(LENGTH(status_json)) FROM gateway")).scalar()
        assert longest is not None and longest < 1000
        pub.loop_stop()
        pub.disconnect()
