"""Ingest throughput against bare inserts, and MQTT publish-to-committed latency.

1. Throughput: the full ingest path (JSON parse, validate, insert ignoring duplicates, mark
   rollups dirty, update the gateway row, commit) against a bare insert of the same rows prepared
   in advance — ``executemany`` on SQLite, ``COPY`` on PostgreSQL — one transaction per batch of
   500 samples in both. Goal: ours / bare >= 0.5.
2. Latency: a gateway publishes 500-sample batches at 5,000 samples/s to Mosquitto; the server's
   MQTT link ingests them and acks after commit. Publish-to-ack time is an upper bound of
   publish-to-committed; p50 and p99 are printed.

Usage: python benchmarks/bench_ingest.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text
from sqlmodel import Session

from config import shipped_parks
from park_server.db import crud
from park_server.db.crud import load_park_meters
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.ingest.batches import ingest_batch
from park_server.ingest.mqtt_link import MqttLink
from park_server.settings import Settings
from park_server.state import ServerState
from park_server.timeutil import HOUR_MS, format_ts, now_ms

BATCH = 500
METERS = [
    "grid-main",
    "wind-zhn",
    "wind-2",
    "pv-1",
    "bess-1",
    "potline-zhn",
    "potline-2",
    "aux-load",
]


def make_batches(n_batches: int, start_ms: int) -> list[bytes]:
    out = []
    for b in range(n_batches):
        samples = []
        for i in range(BATCH):
            k = b * BATCH + i
            samples.append(
                {
                    "ts": format_ts(start_ms + (k // len(METERS)) * 1000),
                    "meter": METERS[k % len(METERS)],
                    "quantity": "active_power_kw",
                    "value": 1000.0 + k % 97,
                    "quality": "good",
                }
            )
        out.append(
            json.dumps(
                {"v": 1, "park": "huolingol", "gateway": "gw-bench", "batch": b, "samples": samples}
            ).encode()
        )
    return out


def prepare(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        crud.sync_park_files(session, paths=[p for p in shipped_parks() if p.stem == "huolingol"])
        crud.create_gateway(session, park_id="huolingol", gateway_id="gw-bench")
    return engine


def time_ours(engine: Engine, batches: list[bytes]) -> float:
    with Session(engine) as session:
        meters = load_park_meters(session, "huolingol")
    started = time.perf_counter()
    with Session(engine) as session:  # as the server's MQTT worker: one session, a commit a batch
        for raw in batches:
            result = ingest_batch(session, json.loads(raw), park=meters, gateway_id="gw-bench")
            assert result.accepted == BATCH, result
    return time.perf_counter() - started


def rows_of(batches: list[bytes]) -> list[list[tuple[Any, ...]]]:
    from park_server.timeutil import parse_ts

    out = []
    for raw in batches:
        body = json.loads(raw)
        out.append(
            [
                ("huolingol", s["meter"], s["quantity"], parse_ts(s["ts"]), s["value"], 0, 0)
                for s in body["samples"]
            ]
        )
    return out


def time_bare(engine: Engine, rows: list[list[tuple[Any, ...]]]) -> float:
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE bare_measurement AS SELECT * FROM measurement WHERE 1 = 0"))
        conn.execute(
            text(
                "ALTER TABLE bare_measurement ADD PRIMARY KEY (park_id, meter_id, quantity, ts_ms)"
            )
            if engine.dialect.name == "postgresql"
            else text("SELECT 1")
        )
        if engine.dialect.name != "postgresql":
            conn.execute(
                text(
                    "CREATE UNIQUE INDEX bare_pk ON bare_measurement "
                    "(park_id, meter_id, quantity, ts_ms)"
                )
            )
        conn.commit()
    raw_conn = engine.raw_connection()
    started = time.perf_counter()
    try:
        cur = raw_conn.cursor()
        for batch in rows:
            if engine.dialect.name == "postgresql":
                with cur.copy(
                    "COPY bare_measurement (park_id, meter_id, quantity, ts_ms, value, "  # type: ignore[attr-defined]
                    "quality, received_ms) FROM STDIN"
                ) as copy:
                    for r in batch:
                        copy.write_row(r)
            else:
                cur.executemany("INSERT INTO bare_measurement VALUES (?,?,?,?,?,?,?)", batch)
            raw_conn.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw_conn.close()
    return elapsed


def throughput(url: str, label: str, n_batches: int) -> None:
    engine = prepare(url)
    batches = make_batches(n_batches, now_ms() - now_ms() % HOUR_MS - 20 * HOUR_MS)
    ours = time_ours(engine, batches)
    bare = time_bare(engine, rows_of(batches))
    n = n_batches * BATCH
    print(f"{label:>10} {n:>8} {n / ours:>12,.0f} {n / bare:>12,.0f} {bare / ours:>7.2f}")
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latency(url: str, label: str, seconds: float, rate: int) -> None:
    if shutil.which("mosquitto") is None:
        print("latency: no mosquitto binary; skipped")
        return
    port = free_port()
    conf = Path(tempfile.mkdtemp()) / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    engine = prepare(url)
    settings = Settings(database_url=url, mqtt_url=f"mqtt://127.0.0.1:{port}", run_scheduler=False)
    link = MqttLink(ServerState(settings, engine), settings.mqtt_url or "")
    link.start()
    assert link.wait_connected(10)
    sent: dict[int, float] = {}
    lat: queue.Queue[float] = queue.Queue()
    gw = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
    )

    def on_ack(c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
        b = json.loads(m.payload)["batch"]
        lat.put(time.perf_counter() - sent[b])

    gw.on_message = on_ack
    gw.connect("127.0.0.1", port)
    gw.subscribe("zcpark/v1/huolingol/gw-bench/ack", qos=1)
    gw.loop_start()
    time.sleep(0.3)
    n_batches = int(seconds * rate / BATCH)
    batches = make_batches(n_batches, now_ms() - now_ms() % HOUR_MS - 10 * HOUR_MS)
    interval = BATCH / rate
    t0 = time.perf_counter()
    for b, raw in enumerate(batches):
        target = t0 + b * interval
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[b] = time.perf_counter()
        gw.publish("zcpark/v1/huolingol/gw-bench/telemetry", raw, qos=1)
    got = []
    deadline = time.perf_counter() + 30
    while len(got) < n_batches and time.perf_counter() < deadline:
        with contextlib.suppress(queue.Empty):
            got.append(lat.get(timeout=1))
    gw.loop_stop()
    gw.disconnect()
    link.stop()
    broker.terminate()
    got.sort()
    p = lambda q: got[min(len(got) - 1, int(q * len(got)))] * 1000  # noqa: E731
    print(
        f"{label:>10} latency at {rate:,} samples/s for {seconds:.0f} s "
        f"({len(got)}/{n_batches} batches acked): p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"max {got[-1] * 1000:.1f} ms"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get("ZCPARK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=5000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'database':>10} {'samples':>8} {'ours /s':>12} {'bare /s':>12} {'ratio':>7}"
        "  (goal >= 0.5)"
    )
    tmp = Path(tempfile.mkdtemp())
    throughput(f"sqlite:///{tmp / 'bench.db'}", "sqlite", args.batches)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    import psycopg

    try:
        with psycopg.connect(args.pg, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        print(f"postgresql: not reachable ({exc}); skipped")
        schema = ""
    if schema:
        pg_url = (
            args.pg.replace("postgresql://", "postgresql+psycopg://")
            + f"?options=-csearch_path%3D{schema}"
        )
        try:
            throughput(pg_url, "postgresql", args.batches)
            latency(pg_url, "postgresql", args.seconds, args.rate)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    latency(f"sqlite:///{tmp / 'lat.db'}", "sqlite", args.seconds, args.rate)


if __name__ == "__main__":
    main()
