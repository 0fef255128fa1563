"""A server killed with SIGKILL and restarted resumes its own MQTT session (a stable client id per
instance): what gateways sent while it was dead is delivered to it and acked, and no dead session
is left in the shared group to swallow half of the telemetry."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from zctest_server import batch, make_server

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.mqtt


class Gateway:
    def __init__(self, host: str, port: int) -> None:
        self.acks: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-session-gw", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.acks.put(json.loads(m.payload)["batch"])
        self.client.connect(host, port)
        self.client.subscribe("zcpark/v1/huolingol/gw-hlgl-01/ack", qos=1)
        self.client.loop_start()

    def send(self, n: int) -> None:
        body = batch(10, batch_no=n, start_ms=None)
        samples = body["samples"]
        assert isinstance(samples, list)
        for i, s in enumerate(samples):  # each batch its own time stamps
            s["ts"] = s["ts"].replace(".000Z", f".{n:03d}Z")
            s["value"] = float(n * 100 + i)
        self.client.publish(
            "zcpark/v1/huolingol/gw-hlgl-01/telemetry", json.dumps(body), qos=1
        ).wait_for_publish(5)

    def acked(self, expected: set[int], timeout: float) -> set[int]:
        got: set[int] = set()
        deadline = time.monotonic() + timeout
        while not expected <= got and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                got.add(self.acks.get(timeout=0.2))
        return got

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcpark", "server", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).json()
            if health["mqtt"] == "connected":
                time.sleep(0.5)  # let the subscription settle
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not come up: " + log.read_text()[-2000:])


def test_a_killed_server_resumes_its_session_after_a_restart(
    tmp_path: Path, private_broker: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    make_server(url)
    port = free_port()
    env = {
        **os.environ,
        "ZCPARK_DATABASE_URL": url,
        "ZCPARK_MQTT_URL": private_broker.url,
        "ZCPARK_SECRET_KEY": "test-secret-" * 4,
        "ZCPARK_RUN_SCHEDULER": "false",
    }
    env.pop("ZCPARK_INSTANCE_ID", None)  # the default: {hostname}-{port}
    log = tmp_path / "server.log"
    gw = Gateway(private_broker.host, private_broker.port)
    proc = _start(env, port, log)
    try:
        gw.send(1)
        assert gw.acked({1}, 10) == {1}
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for n in range(2, 7):  # sent while the server is dead: the broker queues them
            gw.send(n)
        proc = _start(env, port, log)
        assert gw.acked(set(range(2, 7)), 15) == set(range(2, 7))
        for n in range(7, 17):  # no dead session in the group: every batch acked at once
            gw.send(n)
        assert gw.acked(set(range(7, 17)), 10) == set(range(7, 17))
    finally:
        gw.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
