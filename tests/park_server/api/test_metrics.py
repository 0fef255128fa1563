"""GET /api/v1/metrics: scraped after ingest over HTTP and over a real Mosquitto into PostgreSQL,
parsed with prometheus_client's own parser, every figure checked against what was sent."""

from __future__ import annotations

import json
import queue
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families
from zctest_server import batch, hour_ago, make_server

from park_server.jobs.scheduler import Jobs
from park_server.state import ServerState, reject_class

METRICS_TOKEN = "scrape-token-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(
    client: TestClient, headers: dict[str, str] = SCRAPER
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition as {(name, sorted labels): value}."""
    r = client.get("/api/v1/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def state_of(client: TestClient) -> ServerState:
    state: ServerState = client.app.state.zcpark  # type: ignore[attr-defined]
    return state


class Gateway:
    """A plain paho client where gateway gw-hlgl-01's uplink would be: batches out, acks in."""

    ROOT = "zcpark/v1/huolingol/gw-hlgl-01/"

    def __init__(self, host: str, port: int) -> None:
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-metrics-gw", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.acks.put(json.loads(m.payload))
        self.client.connect(host, port)
        self.client.subscribe(self.ROOT + "ack", qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def send(self, leaf: str, body: object, retain: bool = False) -> None:
        self.client.publish(
            self.ROOT + leaf, json.dumps(body), qos=1, retain=retain
        ).wait_for_publish(5)

    def close(self, clear: bool = False) -> None:
        if clear:  # no retained status left for the next test on this broker
            self.client.publish(self.ROOT + "status", b"", qos=1, retain=True).wait_for_publish(5)
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.mqtt
@pytest.mark.postgres
def test_metrics_count_what_came_over_http_and_mqtt(pg_fresh: Any, private_broker: Any) -> None:
    # a broker of its own: on the shared one, other servers in $share/zcpark take (and refuse)
    # a share of the batches
    mqtt_broker = private_broker
    server = make_server(pg_fresh.url, mqtt_url=mqtt_broker.url)
    server.settings = server.settings.model_copy(
        update={"metrics_token": METRICS_TOKEN, "instance_id": "test-metrics"}
    )
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client(background=True) as client:
        before = scrape(client)
        assert before[("zcpark_ingest_samples_total", (("outcome", "accepted"),))] == 0
        assert before[("zcpark_database_up", ())] == 1
        assert before[("zcpark_scheduler_leader", ())] == 0  # no scheduler in this app

        # HTTP: 100 samples, then the same again (duplicates), then 6 with 4 refused
        assert client.post("/api/v1/ingest", json=batch(100), headers=key).status_code == 200
        assert client.post("/api/v1/ingest", json=batch(100), headers=key).status_code == 200
        mixed = batch(6, batch_no=2, start_ms=None)
        samples = mixed["samples"]
        assert isinstance(samples, list)
        for s in samples:
            s["ts"] = s["ts"].replace(".000Z", ".500Z")
        samples[1]["meter"] = "no-such-meter"
        samples[2]["quantity"] = "voltage_kv"
        samples[3]["value"] = "NaN"
        samples[4]["ts"] = "2099-01-01T00:00:00Z"
        assert client.post("/api/v1/ingest", json=mixed, headers=key).json()["accepted"] == 2
        assert client.post("/api/v1/ingest", content=b"{nope", headers=key).status_code == 400

        # MQTT: 3 batches of 50 new samples, one resent, a status with its queue depth
        assert state_of(client).mqtt.wait_connected(10)
        time.sleep(0.3)
        gw = Gateway(mqtt_broker.host, mqtt_broker.port)
        try:
            for n in range(3):
                gw.send(
                    "telemetry",
                    batch(50, batch_no=10 + n, start_ms=hour_ago() + n * 60_000, meter="pv-1"),
                )
                assert gw.acks.get(timeout=10) == {"batch": 10 + n}
            gw.send(
                "telemetry", batch(50, batch_no=12, start_ms=hour_ago() + 2 * 60_000, meter="pv-1")
            )
            assert gw.acks.get(timeout=10) == {"batch": 12}
            gw.send(
                "status", {"online": True, "queue_samples": 1234, "dropped_samples": 7}, retain=True
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                m = scrape(client)
                if (
                    m.get(
                        (
                            "zcpark_gateway_queue_samples",
                            (("gateway", "gw-hlgl-01"), ("park", "huolingol")),
                        )
                    )
                    == 1234
                ):
                    break
                time.sleep(0.1)
        finally:
            gw.close()

        m = scrape(client)

        def v(name: str, **labels: str) -> float:
            return m[(name, tuple(sorted(labels.items())))]

        assert v("zcpark_ingest_samples_total", outcome="accepted") == 100 + 2 + 150
        assert v("zcpark_ingest_samples_total", outcome="duplicate") == 100 + 50
        assert v("zcpark_ingest_samples_total", outcome="rejected") == 4
        assert v("zcpark_ingest_batches_total") == 3 + 4
        assert v("zcpark_ingest_batches_rejected_total") == 1  # the body that is not JSON
        assert v("zcpark_ingest_rejects_total", reason="meter") == 1
        assert v("zcpark_ingest_rejects_total", reason="quantity") == 1
        assert v("zcpark_ingest_rejects_total", reason="value") == 1
        assert v("zcpark_ingest_rejects_total", reason="ts_future") == 1
        # one ack-latency observation per MQTT batch stored, none for HTTP
        assert v("zcpark_ack_latency_seconds_count") == 4
        assert v("zcpark_ack_latency_seconds_bucket", le="+Inf") == 4
        assert 0 < v("zcpark_ack_latency_seconds_sum") < 10
        assert v("zcpark_ack_latency_seconds_bucket", le="10.0") == 4
        gw_labels = {"park": "huolingol", "gateway": "gw-hlgl-01"}
        assert v("zcpark_gateway_queue_samples", **gw_labels) == 1234
        assert v("zcpark_gateway_online", **gw_labels) == 1
        assert v("zcpark_gateway_dropped_samples_total", **gw_labels) == 7
        assert v("zcpark_gateway_rejected_samples_total", **gw_labels) == 4
        assert 0 <= v("zcpark_gateway_status_age_seconds", **gw_labels) < 30
        bt = {"park": "baotou_aluminum", "gateway": "gw-bt-01"}
        assert v("zcpark_gateway_online", **bt) == 0
        assert ("zcpark_gateway_queue_samples", tuple(sorted(bt.items()))) not in m  # no status yet
        assert v("zcpark_mqtt_connected") == 1
        assert v("zcpark_mqtt_inbox_messages") == 0

        # a gateway's last will, {"online": false}, has no dropped_samples: on PostgreSQL its
        # update failed ("could not determine data type of parameter") and the gateway stayed online
        gw = Gateway(mqtt_broker.host, mqtt_broker.port)
        try:
            gw.send("status", {"online": False}, retain=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                m = scrape(client)
                if v("zcpark_gateway_online", **gw_labels) == 0:
                    break
                time.sleep(0.1)
        finally:
            gw.close(clear=True)
        assert v("zcpark_gateway_online", **gw_labels) == 0
        assert v("zcpark_gateway_dropped_samples_total", **gw_labels) == 7  # kept


def test_job_runs_failures_and_leadership_come_from_the_scheduler(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}")
    server.settings = server.settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    with server.client() as client:
        jobs = Jobs(state_of(client), retry_seconds=3600)
        jobs.add("works", lambda state: None, seconds=3600)

        def fails(state: ServerState) -> None:
            raise RuntimeError("injected failure")

        jobs.add("fails", fails, seconds=3600)
        jobs.start()
        try:
            deadline = time.monotonic() + 10
            while (
                jobs.runs.get("works", 0) < 1 or jobs.failures.get("fails", 0) < 1
            ) and time.monotonic() < deadline:
                time.sleep(0.05)
            client.app.state.jobs = jobs
            m = scrape(client)
        finally:
            jobs.stop()
    assert m[("zcpark_job_runs_total", (("job", "works"),))] == 1
    assert m[("zcpark_job_failures_total", (("job", "works"),))] == 0
    assert m[("zcpark_job_runs_total", (("job", "fails"),))] == 0
    assert m[("zcpark_job_failures_total", (("job", "fails"),))] == 1
    assert m[("zcpark_scheduler_leader", ())] == 1  # SQLite: the only instance leads


def test_access_to_metrics(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}")
    open_server = server.settings
    with server.client() as client:  # no token configured; TestClient's client is not loopback
        r = client.get("/api/v1/metrics")
        assert r.status_code == 401 and "loopback" in r.json()["detail"]
        assert client.get("/api/v1/metrics", headers=server.token(client, "ada")).status_code == 200
        r = client.get("/api/v1/metrics", headers=server.token(client, "mia"))
        assert r.status_code == 403 and "admins" in r.json()["detail"]
        r = client.get("/api/v1/metrics", headers={"Authorization": "Bearer forged"})
        assert r.status_code == 401
    server.settings = open_server.model_copy(update={"metrics_token": METRICS_TOKEN})
    with server.client() as client:
        assert client.get("/api/v1/metrics").status_code == 401
        assert client.get("/api/v1/metrics", headers=SCRAPER).status_code == 200
        wrong = {"Authorization": "Bearer scrape-token-0123456780"}
        assert client.get("/api/v1/metrics", headers=wrong).status_code == 401
        key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
        assert client.get("/api/v1/metrics", headers=key).status_code == 401


def test_two_apps_keep_their_own_figures(tmp_path: Any) -> None:
    a = make_server(f"sqlite:///{tmp_path / 'a.db'}")
    b = make_server(f"sqlite:///{tmp_path / 'b.db'}")
    for s in (a, b):
        s.settings = s.settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    with a.client() as ca, b.client() as cb:
        key = {"Authorization": f"Bearer {a.keys['gw-hlgl-01']}"}
        assert ca.post("/api/v1/ingest", json=batch(10), headers=key).status_code == 200
        assert scrape(ca)[("zcpark_ingest_samples_total", (("outcome", "accepted"),))] == 10
        assert scrape(cb)[("zcpark_ingest_samples_total", (("outcome", "accepted"),))] == 0


@pytest.mark.parametrize(
    ("reason", "cls"),
    [
        ("unknown meter 'x' in park huolingol", "meter"),
        ("unknown quantity []", "quantity"),
        ("value 'NaN' is not a finite number", "value"),
        ("ts: 'soon' is not ISO 8601", "ts"),
        ("ts '2099-01-01T00:00:00Z' is more than 300 s in the future", "ts_future"),
        ("ts '2020-01-01T00:00:00Z' is more than 400 days in the past", "ts_past"),
        ("quality 'meh' is not good, uncertain or bad", "quality"),
        ("a sample must be an object", "sample"),
        ("invalid sample", "other"),
    ],
)
def test_reject_classes(reason: str, cls: str) -> None:
    assert reject_class(reason) == cls
