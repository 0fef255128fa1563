"""Soak: many gateways through Mosquitto into PostgreSQL while the console's API is queried.

A real ``zcpark server`` process (its own PostgreSQL schema, made and dropped here; the machine's
Mosquitto) takes telemetry from ``--gateways`` simulated gateways (default 50) of ``--meters``
meters each (default 100), each sending one 100-sample batch a second for ``--minutes`` (default
10), as the edge agent does: QoS 1, a batch kept until its ack, resent after ``--resend-s``. A
console loop signs in as an admin and asks ``/latest``, ``/kpis`` and ``/measurements`` of the park
over and over. At the end every gateway drains its unacked batches, and the database is counted.

Prints: samples/s offered and held (committed, from the server's /metrics) and their ratio (the
reference measured in the same run), p50/p99 of the ingest latency (a sample's time stamp to its
row's ``received_ms``, set in the committing transaction, and the batch's publish → ack), the
server's RSS at the start and the end, samples lost (sent, acked or not, but not in the
database: must be 0) and duplicated (rows beyond the samples sent: must be 0; resends the server
found already stored are counted apart), and the console's answer times and errors.

Only loopback traffic; bounded by ``--minutes`` and the drain timeout. Not in the test suite.

Usage: .venv/bin/python benchmarks/bench_soak.py [--minutes 10] [--gateways 50] [--meters 100]
       [--pg postgresql://postgres@127.0.0.1:5432/test] [--mqtt mqtt://127.0.0.1:1883]

Without ``--mqtt`` the soak starts a Mosquitto of its own on a free loopback port (the machine's
Mosquitto is shared by every test server, whose shared subscriptions would each take a part of
the soak's telemetry and drop it as from an unknown gateway).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
import psycopg
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from config import Park
from park_server.db import crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
PARK = "huolingol"
ADMIN, PASSWORD = "soak-admin", "soak-admin-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def soak_park(gateways: int, meters: int) -> Park:
    """Huolin Gol with ``gateways`` × ``meters`` extra meters ``soak-GG-MMM`` (a DTSU666 each)."""
    raw = yaml.safe_load((REPO / "config" / "parks" / f"{PARK}.yaml").read_text())
    raw["meters"] += [
        {
            "id": f"soak-{g:02d}-{m:03d}",
            "asset": "aux",
            "profile": "chint-dtsu666",
            "duty": "sub",
        }
        for g in range(gateways)
        for m in range(meters)
    ]
    return Park.model_validate(raw)


@dataclass
class SimGateway:
    """One gateway's uplink as the edge agent runs it (edge_agent/uplink.py): a numbered batch a
    second, at most ``window`` batches in flight, each kept until its ack and sent again when no
    ack came within ``resend_s``; batches beyond the window wait in the gateway's queue."""

    index: int
    meters: int
    host: str
    port: int
    run_id: str
    window: int = 40
    resend_s: float = 3.0
    queued: deque[tuple[int, bytes, int]] = field(default_factory=deque)
    #: batch -> [payload, last sent, first sent (monotonic s), samples]
    inflight: dict[int, list[Any]] = field(default_factory=dict)
    ack_latency_s: list[float] = field(default_factory=list)
    #: the time stamps [epoch ms] of the batches acked (each batch has its own)
    acked_ts_ms: list[int] = field(default_factory=list)
    sent_samples: int = 0
    resends: int = 0
    acks_unknown: int = 0
    next_batch: int = 1

    def __post_init__(self) -> None:
        self.id = f"gw-soak-{self.index:02d}"
        self.root = f"zcpark/v1/{PARK}/{self.id}/"
        self.lock = threading.Lock()
        self.ts_of: dict[int, int] = {}
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"soak-{self.run_id}-{self.index:02d}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(self.window * 2)
        self.client.on_message = self._on_ack

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        self.client.connect(self.host, self.port, keepalive=30, clean_start=True, properties=props)
        self.client.subscribe(self.root + "ack", qos=1)
        self.client.loop_start()

    def _on_ack(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        n = json.loads(msg.payload)["batch"]
        with self.lock:
            item = self.inflight.pop(n, None)
        if item is None:
            self.acks_unknown += 1  # the ack of a resent batch already acked
            return
        self.ack_latency_s.append(now - item[2])
        self.acked_ts_ms.append(self.ts_of[n])

    def tick(self, ts_ms: int, rng: random.Random) -> None:
        """Form this second's batch (every meter's active power at ``ts_ms``)."""
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000)) + (
            f".{ts_ms % 1000:03d}Z"
        )
        samples = [
            {
                "ts": ts,
                "meter": f"soak-{self.index:02d}-{m:03d}",
                "quantity": "active_power_kw",
                "value": round(500 + 100 * rng.random(), 3),
                "quality": "good",
            }
            for m in range(self.meters)
        ]
        n = self.next_batch
        self.next_batch += 1
        body = {"v": 1, "park": PARK, "gateway": self.id, "batch": n, "samples": samples}
        self.queued.append((n, json.dumps(body).encode(), len(samples)))
        self.ts_of[n] = ts_ms
        self.sent_samples += len(samples)

    def pump(self) -> None:
        """Send again what is late, then fill the window from the queue."""
        now = time.monotonic()
        with self.lock:
            late = [(n, item) for n, item in self.inflight.items() if now - item[1] > self.resend_s]
            for _, item in late:
                item[1] = now
            free = self.window - len(self.inflight)
            fresh = []
            while free > 0 and self.queued:
                n, payload, count = self.queued.popleft()
                self.inflight[n] = [payload, now, now, count]
                fresh.append(payload)
                free -= 1
        for _, item in late:
            self.resends += 1
            self.client.publish(self.root + "telemetry", item[0], qos=1)
        for payload in fresh:
            self.client.publish(self.root + "telemetry", payload, qos=1)

    def waiting(self) -> int:
        with self.lock:
            return len(self.inflight) + len(self.queued)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class Console:
    """The console's reads, one after the other, for as long as the soak runs."""

    base: str
    meter: str
    times_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            r = http.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})
            r.raise_for_status()
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            while not stop.is_set():
                end = time.time()
                for name, path, params in (
                    ("latest", f"/api/v1/parks/{PARK}/latest", {}),
                    ("kpis", f"/api/v1/parks/{PARK}/kpis", {"period": "day"}),
                    (
                        "measurements",
                        f"/api/v1/parks/{PARK}/measurements",
                        {
                            "meter": self.meter,
                            "quantity": "active_power_kw",
                            "start": iso(end - 300),
                            "end": iso(end),
                            "resolution": "raw",
                        },
                    ),
                ):
                    t0 = time.perf_counter()
                    try:
                        code = http.get(path, params=params).status_code
                    except httpx.HTTPError:
                        code = -1
                    self.times_ms.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
                    if code != 200:
                        self.errors[name] = self.errors.get(name, 0) + 1
                stop.wait(0.2)


def server_metrics(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/api/v1/metrics", timeout=30).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + "".join(f"|{v}" for _, v in sorted(s.labels.items()))
            out[key] = s.value
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--gateways", type=int, default=50)
    ap.add_argument("--meters", type=int, default=100)
    ap.add_argument("--resend-s", type=float, default=3.0, help="the agent's resend_after_s")
    ap.add_argument("--drain-s", type=float, default=300.0)
    ap.add_argument(
        "--pg",
        default=os.environ.get("ZCPARK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument(
        "--mqtt",
        default=None,
        help="an existing loopback broker (default: a Mosquitto of the soak's own, with the "
        "machine broker's default limits; on a shared broker other servers' shared "
        "subscriptions take part of the telemetry)",
    )
    ap.add_argument(
        "--no-console", action="store_true", help="no console queries (to see what they cost)"
    )
    args = ap.parse_args()
    if not (1 <= args.gateways <= 99 and 1 <= args.meters <= 999 and 0 < args.minutes <= 60):
        ap.error("at most 99 gateways of 999 meters for 60 minutes")
    own_broker: subprocess.Popen[bytes] | None = None
    if args.mqtt is None:
        mq_port = free_port()
        conf = Path(f"/tmp/zcpark-soak-mosquitto-{mq_port}.conf")
        conf.write_text(f"listener {mq_port} 127.0.0.1\nallow_anonymous true\nlog_type error\n")
        own_broker = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        args.mqtt = f"mqtt://127.0.0.1:{mq_port}"
        time.sleep(0.5)
    broker = urlsplit(args.mqtt)
    if broker.hostname not in ("127.0.0.1", "localhost", "::1"):
        ap.error("the soak stays on loopback: --mqtt must be a local broker")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (schema, server) on kill
    run_id = uuid.uuid4().hex[:8]
    schema = f"zcpark_soak_{run_id}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
    url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    server: subprocess.Popen[bytes] | None = None
    gws: list[SimGateway] = []
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            crud.sync_park(session, park=soak_park(args.gateways, args.meters))
            for g in range(args.gateways):
                crud.create_gateway(session, park_id=PARK, gateway_id=f"gw-soak-{g:02d}")
            crud.create_user(session, name=ADMIN, role="admin", parks=[], password=PASSWORD)
        engine.dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "ZCPARK_DATABASE_URL": url,
            "ZCPARK_MQTT_URL": args.mqtt,
            "ZCPARK_SECRET_KEY": f"soak-secret-{run_id}-" * 3,
            "ZCPARK_INSTANCE_ID": f"soak-{run_id}",
        }
        env.pop("ZCPARK_METRICS_TOKEN", None)  # loopback scrapes are open without one
        log = open(f"/tmp/zcpark-soak-{run_id}.log", "wb")  # noqa: SIM115 - the server's
        server = subprocess.Popen(
            [
                str(REPO / ".venv" / "bin" / "zcpark"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    m = server_metrics(base)
                    if m.get("zcpark_mqtt_connected") == 1:
                        break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see /tmp/zcpark-soak-{run_id}.log")
            time.sleep(0.5)
        time.sleep(1.0)  # the shared subscription stands

        gws = [
            SimGateway(
                g,
                args.meters,
                broker.hostname or "127.0.0.1",
                broker.port or 1883,
                run_id,
                resend_s=args.resend_s,
            )
            for g in range(args.gateways)
        ]
        for gw in gws:
            gw.start()
        time.sleep(1.0)
        rss_start = rss_mb(server.pid)
        m0 = server_metrics(base)
        stop = threading.Event()
        console = Console(base, "soak-00-000")
        console_thread = threading.Thread(target=console.run, args=(stop,), daemon=True)
        if not args.no_console:
            console_thread.start()

        rng = random.Random(7)
        duration_s = args.minutes * 60
        t0 = time.monotonic()
        wall0 = time.time()
        ticks = 0
        last_report = t0
        next_pump = t0
        while True:
            now = time.monotonic()
            if now - t0 >= duration_s:
                break
            if now >= t0 + ticks:  # this second's batch of every gateway
                ts_ms = int((wall0 + ticks) * 1000)
                for gw in gws:
                    gw.tick(ts_ms, rng)
                ticks += 1
            if now >= next_pump:  # the agent pumps every 50 ms; 250 ms is enough here
                for gw in gws:
                    gw.pump()
                next_pump = now + 0.25
            if now - last_report >= 60:
                last_report = now
                print(
                    f"  {ticks} s: {sum(g.waiting() for g in gws)} batches unacked, "
                    f"{sum(g.resends for g in gws)} resent, server RSS {rss_mb(server.pid):.0f} MB",
                    flush=True,
                )
            time.sleep(max(0.0, min(t0 + ticks, next_pump) - time.monotonic()))
        sending_s = time.monotonic() - t0
        rss_end_load = rss_mb(server.pid)
        m1 = server_metrics(base)
        held_window_s = time.monotonic() - t0
        stop.set()
        if console_thread.is_alive():
            console_thread.join(timeout=60)

        # drain: resend what is still unacked until every batch is acked or the drain times out
        drain_deadline = time.monotonic() + args.drain_s
        while any(g.waiting() for g in gws) and time.monotonic() < drain_deadline:
            time.sleep(0.25)
            for gw in gws:
                gw.pump()
        unacked = sum(g.waiting() for g in gws)
        time.sleep(1.0)
        rss_end = rss_mb(server.pid)
        m2 = server_metrics(base)

        sent = sum(g.sent_samples for g in gws)
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            rows, distinct, p50, p99 = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT (meter_id, ts_ms)), "
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY received_ms - ts_ms), "
                "percentile_cont(0.99) WITHIN GROUP (ORDER BY received_ms - ts_ms) "
                "FROM measurement WHERE park_id = %s AND meter_id LIKE 'soak-%%'",
                (PARK,),
            ).fetchone()  # type: ignore[misc]
            stored = {
                (int(g), int(ts)): int(n)
                for g, ts, n in conn.execute(
                    "SELECT substr(meter_id, 6, 2), ts_ms, COUNT(*) FROM measurement "
                    "WHERE park_id = %s AND meter_id LIKE 'soak-%%' GROUP BY 1, 2",
                    (PARK,),
                ).fetchall()
            }
        # lost: samples of an acked batch (the gateway has deleted them) missing from the database
        acked_samples = sum(len(g.acked_ts_ms) * args.meters for g in gws)
        lost = sum(args.meters - stored.get((g.index, ts), 0) for g in gws for ts in g.acked_ts_ms)
        duplicated = rows - distinct
        not_delivered = sent - distinct
        offered = args.gateways * args.meters
        acc = "zcpark_ingest_samples_total|accepted"
        held = (m1[acc] - m0[acc]) / held_window_s
        acks = [x for g in gws for x in g.ack_latency_s]
        print(
            f"soak: {args.gateways} gateways x {args.meters} meters at 1 s for "
            f"{sending_s / 60:.1f} min through Mosquitto ({args.mqtt}) into PostgreSQL, "
            f"console querying; Python {sys.version.split()[0]}, {os.cpu_count()} cores"
        )
        print(f"  offered            {offered:,.0f} samples/s ({sent:,} samples)")
        print(f"  held               {held:,.0f} samples/s committed during the load")
        print(f"  held / offered     {held / offered:.3f}")
        print(
            f"  ingest latency     sample time -> committed: p50 {p50 / 1000:.2f} s, "
            f"p99 {p99 / 1000:.2f} s (each second's batch is sent as soon as it is read)"
        )
        print(
            f"  publish -> ack     p50 {pct(acks, 0.5) * 1000:.0f} ms, "
            f"p99 {pct(acks, 0.99) * 1000:.0f} ms, max {max(acks, default=0) * 1000:.0f} ms"
        )
        print(
            f"  server RSS         {rss_start:.0f} MB at start, {rss_end_load:.0f} MB at the end "
            f"of the load, {rss_end:.0f} MB after the drain"
        )
        print(
            f"  samples lost       {lost:,}  (of {acked_samples:,} acked; stored {distinct:,} of "
            f"{sent:,} sent; must be 0)"
        )
        print(
            f"  not yet delivered  {not_delivered:,} samples still queued at the gateways after "
            f"the {args.drain_s:.0f} s drain ({unacked} batches; kept there, not lost)"
        )
        print(f"  samples duplicated {duplicated:,}  (rows beyond the samples sent; must be 0)")
        resends = sum(g.resends for g in gws)
        dup_seen = (
            m2["zcpark_ingest_samples_total|duplicate"]
            - m0["zcpark_ingest_samples_total|duplicate"]
        )
        print(
            f"  resends            {resends:,} batches resent, {dup_seen:,.0f} samples the server "
            f"found already stored"
        )
        rejected = (
            m2["zcpark_ingest_samples_total|rejected"] - m0["zcpark_ingest_samples_total|rejected"]
        )
        print(f"  samples rejected   {rejected:,.0f}")
        for name, times in console.times_ms.items():
            print(
                f"  console {name:<12} {len(times):,} requests, p50 {pct(times, 0.5):.0f} ms, "
                f"p99 {pct(times, 0.99):.0f} ms, errors {console.errors.get(name, 0)}"
            )
        return 0 if lost == 0 and duplicated == 0 else 1
    finally:
        for gw in gws:
            gw.stop()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        if own_broker is not None:
            own_broker.terminate()
            own_broker.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
