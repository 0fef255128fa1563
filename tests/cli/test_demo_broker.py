"""`zcpark demo`'s broker (issue #14): the Mosquitto the demo starts for itself takes only the
server's user and the demo gateway's (password file and ACL from park_server.db.broker_auth), so
an anonymous client is refused; the gateway file carries the gateway's user:password and its
setpoint key. On a machine whose anonymous broker answers on 1883 the demo uses it and says so."""

from __future__ import annotations

import queue
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from zctest_services import service_unavailable

from config import load_gateway
from zcpark import demo

pytestmark = pytest.mark.mqtt


def _connects(port: int, user: str | None, password: str | None) -> bool:
    got: queue.Queue[Any] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}", protocol=mqtt.MQTTv5)
    if user:
        c.username_pw_set(user, password)
    c.on_connect = lambda cl, u, f, reason, p: got.put(reason)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        return not got.get(timeout=5).is_failure
    finally:
        c.loop_stop()
        c.disconnect()


def test_the_demos_own_broker_takes_only_its_users(tmp_path: Path) -> None:
    if shutil.which("mosquitto") is None:
        service_unavailable("no mosquitto binary")
    db = f"sqlite:///{tmp_path / 'zcpark.db'}"
    demo._prepare_database(db, tmp_path, "huolingol")
    creds = demo._credentials(db, "huolingol")
    broker = demo._start_own_broker(tmp_path, db, creds)
    assert broker.process is not None
    try:
        gw, server = urlsplit(broker.gateway_url), urlsplit(broker.server_url)
        assert gw.port == server.port and gw.username == "huolingol.gw-demo"
        assert _connects(gw.port or 0, gw.username, gw.password)
        assert _connects(server.port or 0, server.username, server.password)
        assert not _connects(gw.port or 0, None, None)
        assert not _connects(gw.port or 0, gw.username, "guess")
        path = demo._gateway_file(
            tmp_path, broker.gateway_url, 15020, "huolingol", creds.setpoint_key
        )
        uplink = load_gateway(path).uplink
        assert uplink.mqtt == broker.gateway_url and uplink.setpoint_key == creds.setpoint_key
        assert "started for the demo" in broker.note
    finally:
        broker.process.terminate()
        broker.process.wait(5)


def test_the_machines_anonymous_broker_is_named_as_such(tmp_path: Path) -> None:
    if not demo._port_open("127.0.0.1", 1883):
        service_unavailable("no broker on 127.0.0.1:1883")
    db = f"sqlite:///{tmp_path / 'zcpark.db'}"
    demo._prepare_database(db, tmp_path, "huolingol")
    used = demo._broker(tmp_path, None, db, demo._credentials(db, "huolingol"))
    assert used.process is None and used.server_url == "mqtt://127.0.0.1:1883"
    assert "anonymous" in used.note
