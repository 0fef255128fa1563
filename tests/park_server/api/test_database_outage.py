"""The database away (a real PostgreSQL behind a TCP proxy the test kills): every route answers 503
with a reason, /health 503, one log line when it goes and one when it is back, no tracebacks; and
the server serves again by itself when the database returns."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from zctest_proxy import TcpProxy
from zctest_server import batch, make_server

from park_server.app import create_app


def _through(url: str, proxy: TcpProxy) -> str:
    assert "127.0.0.1:5432" in url, url
    return url.replace("127.0.0.1:5432", proxy.address)


def test_database_away_gives_503_with_a_reason_and_one_log_line(
    pg_fresh: Any, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    try:
        server = make_server(_through(pg_fresh.url, proxy))
        app = create_app(server.settings, server.engine, background=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            admin = server.token(client, "ada")
            key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
            assert client.get("/api/v1/parks", headers=admin).status_code == 200
            assert client.get("/api/v1/health").status_code == 200

            proxy.stop()  # the database is away
            caplog.clear()
            caplog.set_level(logging.INFO)
            answers = []
            for i in range(10):
                answers.append(client.get("/api/v1/parks", headers=admin))
                answers.append(client.get("/api/v1/parks/huolingol/latest", headers=admin))
                answers.append(client.post("/api/v1/ingest", json=batch(5), headers=key))
                if i < 3:  # (the login limiter allows 5 a minute in these tests)
                    login = {"username": "ada", "password": "x"}
                    answers.append(client.post("/api/v1/auth/token", data=login))
            assert {r.status_code for r in answers} == {503}
            for r in answers:
                assert r.json()["detail"].startswith("database unavailable: "), r.text
            health = client.get("/api/v1/health")
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
            down = [r for r in caplog.records if r.name == "zcpark.db"]
            assert len(down) == 1 and down[0].getMessage().startswith("database unavailable: ")
            assert [r for r in caplog.records if r.exc_info] == []  # no traceback at all

            proxy.start()  # back, on the same address: served again without a restart
            caplog.clear()
            for _ in range(5):
                assert client.get("/api/v1/parks", headers=admin).status_code == 200
            assert client.get("/api/v1/health").status_code == 200
            r = client.post("/api/v1/ingest", json=batch(5), headers=key)
            assert r.status_code == 200 and r.json()["accepted"] == 5
            back = [r.getMessage() for r in caplog.records if r.name == "zcpark.db"]
            assert len(back) == 1 and back[0].startswith("database reachable again after ")
    finally:
        proxy.stop()


def test_mqtt_ingest_waits_out_the_outage_without_tracebacks(
    pg_fresh: Any, private_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import queue
    import time

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    try:
        server = make_server(_through(pg_fresh.url, proxy), mqtt_url=private_broker.url)
        with server.client(background=True) as client:
            assert cast(Any, client.app).state.zcpark.mqtt.wait_connected(10)
            acks: queue.Queue[int] = queue.Queue()
            gw = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            gw.on_message = lambda c, u, m: acks.put(json.loads(m.payload)["batch"])
            gw.connect(private_broker.host, private_broker.port)
            gw.subscribe("zcpark/v1/huolingol/gw-hlgl-01/ack", qos=1)
            gw.loop_start()
            time.sleep(0.3)

            def send(n: int) -> None:
                gw.publish(
                    "zcpark/v1/huolingol/gw-hlgl-01/telemetry",
                    json.dumps(batch(5, batch_no=n)),
                    qos=1,
                ).wait_for_publish(5)

            try:
                send(1)
                assert acks.get(timeout=10) == 1
                proxy.stop()
                caplog.clear()
                caplog.set_level(logging.INFO)
                for n in range(2, 12):  # ten batches while the database is away: none acked
                    send(n)
                with pytest.raises(queue.Empty):
                    acks.get(timeout=2)
                down = [r for r in caplog.records if r.name == "zcpark.db"]
                assert len(down) == 1 and [r for r in caplog.records if r.exc_info] == []
                proxy.start()
                send(12)  # the gateway resends; ingest resumes by itself
                assert acks.get(timeout=10) == 12
            finally:
                gw.loop_stop()
                gw.disconnect()
    finally:
        proxy.stop()
