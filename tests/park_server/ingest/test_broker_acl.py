"""MQTT authenticated and confined (issue #14): `zcpark gateways add` writes a Mosquitto password
file and ACL; a private Mosquitto run with them (``allow_anonymous false``) lets each gateway
publish only as itself and read only its own acks and setpoints, refuses anonymous clients and
wrong passwords, and the server, as its own user, still ingests and acks.

On today's code before this change, every step passed unchallenged: anyone who could reach the
broker published as any gateway and read every gateway's setpoints."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text
from zctest_server import batch, make_server

from park_server.db.broker_auth import mosquitto_hash, mosquitto_hash_matches
from tests.conftest import REPO

pytestmark = pytest.mark.mqtt

SERVER_PASSWORD = "server-broker-password-1"


class Client:
    """A paho client that records every message it receives, per topic."""

    def __init__(self, port: int, user: str | None, password: str | None, cid: str) -> None:
        self.got: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[Any] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_message = lambda c, u, m: self.got.put((m.topic, bytes(m.payload)))
        self.client.on_connect = lambda c, u, f, reason, p: self.connack.put(reason)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def connected(self) -> bool:
        reason = self.connack.get(timeout=5)
        return not reason.is_failure

    def subscribe(self, *topics: str) -> None:
        for t in topics:
            self.client.subscribe(t, qos=1)
        time.sleep(0.2)

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)

    def messages(self, wait_s: float) -> list[tuple[str, bytes]]:
        out = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                out.append(self.got.get(timeout=0.1))
            except queue.Empty:
                continue
        return out

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _zcpark(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcpark", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_mosquitto_hash_is_pbkdf2_sha512_as_mosquitto_passwd_writes_it() -> None:
    h = mosquitto_hash("pw", salt=bytes(range(12)))
    kind, rounds, salt, digest = h.split("$")[1:]
    assert (kind, rounds, salt) == ("7", "101", "AAECAwQFBgcICQoL")
    assert len(digest) == 88  # 64 bytes of SHA-512 in base64
    assert mosquitto_hash_matches("pw", h) and not mosquitto_hash_matches("pW", h)


def test_gateways_are_confined_to_their_own_topics(tmp_path: Path, secured_broker: Any) -> None:
    db = f"sqlite:///{tmp_path / 'zcpark.db'}"
    port = secured_broker.port
    server_url = f"mqtt://zcpark-server:{SERVER_PASSWORD}@127.0.0.1:{port}"
    server = make_server(db, mqtt_url=server_url)
    env = {"ZCPARK_DATABASE_URL": db, "ZCPARK_MQTT_URL": server_url}
    creds: dict[str, dict[str, str]] = {}
    for gw, park in (("gw-hlgl-01", "huolingol"), ("gw-bt-01", "baotou_aluminum")):
        out = tmp_path / f"{gw}-uplink.yaml"
        done = _zcpark(
            env,
            *("gateways", "add", gw, "--park", park, "--uplink-out", str(out)),
            *("--mosquitto-passwd", str(secured_broker.password_file)),
            *("--mosquitto-acl", str(secured_broker.acl_file)),
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("zcgk_")  # the key alone on one line
        assert SERVER_PASSWORD not in done.stderr
        assert out.stat().st_mode & 0o777 == 0o600
        creds[gw] = yaml.safe_load(out.read_text())["uplink"]
        assert len(creds[gw]["setpoint_key"]) == 64
    assert secured_broker.password_file.stat().st_mode & 0o777 == 0o600
    passwd = secured_broker.password_file.read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        "zcpark-server",
        "baotou_aluminum.gw-bt-01",
        "huolingol.gw-hlgl-01",
    ]
    assert SERVER_PASSWORD not in passwd and creds["gw-bt-01"]["mqtt"].split(":")[2] not in passwd
    secured_broker.start()

    def gateway(gw: str) -> Client:
        url = urlsplit(creds[gw]["mqtt"])
        assert (url.hostname, url.port) == ("127.0.0.1", port)
        return Client(port, url.username, url.password, f"test-{gw}")

    hl_root, bt_root = "zcpark/v1/huolingol/gw-hlgl-01", "zcpark/v1/baotou_aluminum/gw-bt-01"
    with server.client(background=True) as api:
        link = api.app.state.mqtt
        assert link.wait_connected(10)  # the server's own user is let in
        time.sleep(0.3)
        hl, bt = gateway("gw-hlgl-01"), gateway("gw-bt-01")
        anon = Client(port, None, None, "test-anonymous")
        wrong = Client(port, "huolingol.gw-hlgl-01", "not-the-password", "test-wrong")
        try:
            assert hl.connected() and bt.connected()
            assert not anon.connected() and not wrong.connected()
            hl.subscribe(f"{hl_root}/ack", f"{hl_root}/setpoints")
            # a gateway trying to read others: the broker delivers it nothing
            hl.subscribe(f"{bt_root}/setpoints", f"{bt_root}/ack", "zcpark/v1/+/+/telemetry", "#")
            bt.subscribe(f"{bt_root}/ack", f"{bt_root}/setpoints")

            # publishing as another gateway, and forging acks and setpoints: dropped
            hl.publish(
                f"{bt_root}/telemetry",
                batch(5, batch_no=7, park="baotou_aluminum", gateway="gw-bt-01", meter="grid-main"),
            )
            hl.publish(f"{bt_root}/ack", {"batch": 7})
            hl.publish(f"{bt_root}/setpoints", {"plan_id": "forged", "setpoints": []})
            hl.publish(f"{hl_root}/ack", {"batch": 99})  # nor acks of its own batches
            # the server ingests and acks each gateway's own batches
            hl.publish(f"{hl_root}/telemetry", batch(10, batch_no=41))
            bt.publish(
                f"{bt_root}/telemetry",
                batch(3, batch_no=8, park="baotou_aluminum", gateway="gw-bt-01", meter="grid-main"),
            )
            link.publish("baotou_aluminum", "gw-bt-01", "setpoints", {"plan_id": "p-bt"})
            link.publish("huolingol", "gw-hlgl-01", "setpoints", {"plan_id": "p-hl"})

            hl_got = hl.messages(2.0)
            bt_got = bt.messages(0.5)
            # (its own messages twice: they match "#" too)
            assert set(hl_got) == {
                (f"{hl_root}/ack", b'{"batch": 41}'),
                (f"{hl_root}/setpoints", b'{"plan_id": "p-hl"}'),
            }
            assert sorted(bt_got) == [
                (f"{bt_root}/ack", b'{"batch": 8}'),
                (f"{bt_root}/setpoints", b'{"plan_id": "p-bt"}'),
            ]
            # an anonymous client got nothing in and nothing out
            assert anon.got.empty()
        finally:
            for c in (hl, bt, anon, wrong):
                c.close()
    with server.engine.connect() as conn:
        rows = dict(
            conn.execute(text("SELECT park_id, COUNT(*) FROM measurement GROUP BY park_id")).all()
        )
    assert rows == {"huolingol": 10, "baotou_aluminum": 3}  # the forged batch of 5 is not there
