"""Real processes for the fault and scale-out tests: `zcpark server` as a subprocess (one or
several, killed with SIGKILL at will), a gateway's real buffer and uplink (edge_agent.Buffer and
Uplink, in this process) publishing numbered samples, and the count from source to database.

Every sample a test makes has its own key (meter, quantity, ts) and its value is its sequence
number, so "nothing lost, nothing duplicated" is checked as: the stored (key, value) pairs equal
the source's exactly (no missing pair, no extra pair, no value twice).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

from config import shipped_parks
from config.loader import load_gateway
from edge_agent.buffer import Buffer, Sample
from edge_agent.uplink import Uplink
from park_server.db import crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent.parent
PARK, GATEWAY = "huolingol", "gw-hlgl-01"
METERS = ("grid-main", "pv-1", "bess-1", "potline-zhn")
SECRET = "test-secret-" * 4


def prepare_database(url: str) -> Engine:
    """Migrate, store the Huolin Gol park only (its jobs stay light) and register its gateway."""
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        crud.sync_park_files(session, paths=[p for p in shipped_parks() if p.stem == PARK])
        crud.create_gateway(session, park_id=PARK, gateway_id=GATEWAY)
    return engine


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProc:
    """One `zcpark server --port …` process (the real command, on the real clock)."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def make(
        cls, tmp: Path, name: str, database_url: str, mqtt_url: str, **extra: str
    ) -> ServerProc:
        env = {
            **os.environ,
            "ZCPARK_DATABASE_URL": database_url,
            "ZCPARK_MQTT_URL": mqtt_url,
            "ZCPARK_SECRET_KEY": SECRET,
            "ZCPARK_INSTANCE_ID": name,
            **extra,
        }
        return cls(env=env, log=tmp / f"server-{name}.log")

    def start(self, timeout: float = 90) -> ServerProc:
        return self.launch().wait_up(timeout)

    def launch(self) -> ServerProc:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zcpark", "server", "--port", str(self.port)],
            env=self.env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_up(self, timeout: float = 90) -> ServerProc:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            try:
                health = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2).json()
                if health.get("mqtt") == "connected":
                    time.sleep(0.5)  # let the subscription settle
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        self.kill()
        raise AssertionError("the server did not come up: " + self.tail())

    def kill(self) -> None:
        """SIGKILL: no clean stop, no MQTT disconnect, no lock released by the process itself."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def lines(self, needle: str) -> list[str]:
        return [ln for ln in self.tail(10**8).splitlines() if needle in ln]


def write_gateway_file(tmp: Path, mqtt_url: str, *, batch: int = 200, client: str = "") -> Path:
    import yaml

    doc = {
        "gateway": GATEWAY,
        "park": PARK,
        "uplink": {
            "mqtt": mqtt_url,
            "batch_max_samples": batch,
            "batch_max_seconds": 0.2,
            "client_id": client or f"zctest-{os.getpid()}-{time.monotonic_ns() % 10**9}",
        },
        "buffer": {"path": "buffer.sqlite", "max_mb": 200},
        "buses": [{"name": "lan", "kind": "modbus_tcp", "host": "127.0.0.1", "port": 1}],
        "devices": [
            {"meter": "grid-main", "bus": "lan", "unit_id": 1, "profile": "janitza-umg604"}
        ],
    }
    path = tmp / "gw.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def numbered(n: int, start_ms: int, step_ms: int = 1000, first: int = 0) -> list[Sample]:
    """``n`` samples over METERS, each key its own, each value its sequence number."""
    from park_server.timeutil import format_ts

    return [
        Sample(
            format_ts(start_ms + ((first + i) // len(METERS)) * step_ms),
            METERS[(first + i) % len(METERS)],
            "active_power_kw",
            float(first + i),
        )
        for i in range(n)
    ]


class Gateway:
    """A gateway's real buffer and uplink in this process: samples put into the buffer are
    batched, published (QoS 1), resent every 3 s until acked, and deleted only on their ack."""

    def __init__(self, tmp: Path, mqtt_url: str, *, batch: int = 200, window: int = 40) -> None:
        self.file = write_gateway_file(tmp, mqtt_url, batch=batch)
        self.cfg = load_gateway(self.file)
        self.buffer = Buffer(tmp / "buffer.sqlite", 200)
        self.uplink = Uplink(self.cfg, self.buffer, lambda payload: None, window=window)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.ack_times: list[float] = []

    def start(self) -> Gateway:
        self.uplink.start()
        self._thread.start()
        return self

    def put(self, samples: list[Sample]) -> None:
        self.buffer.put(samples)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the test sees what was not delivered
                self.uplink.pump()
            self._stop.wait(0.05)

    def queued(self) -> int:
        return int(self.buffer.stats()["queue_samples"])

    def wait_drained(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queued() == 0:
                return True
            time.sleep(0.1)
        return self.queued() == 0

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.uplink.stop()
        self.buffer.close()


@dataclass
class Count:
    sent: int
    stored: int
    missing: int
    extra: int
    values_twice: int

    @property
    def exact(self) -> bool:
        return self.stored == self.sent and not (self.missing or self.extra or self.values_twice)


def count(engine: Engine, source: Iterable[Sample], until_ms: int | None = None) -> Count:
    """The samples of ``source`` against the park's stored rows (stamped before ``until_ms``),
    by key and value."""
    from park_server.timeutil import parse_ts

    want = {(s.meter, s.quantity, parse_ts(s.ts), s.value) for s in source}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT meter_id, quantity, ts_ms, value FROM measurement WHERE park_id = :p "
                "AND ts_ms < :until"
            ),
            {"p": PARK, "until": until_ms if until_ms is not None else 2**62},
        ).all()
    got = [(str(m), str(q), int(t), float(v)) for m, q, t, v in rows]
    values = [g[3] for g in got]
    return Count(
        sent=len(want),
        stored=len(got),
        missing=len(want - set(got)),
        extra=len(set(got) - want),
        values_twice=len(values) - len(set(values)),
    )


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM measurement WHERE park_id = :p"), {"p": PARK}
            ).scalar_one()
        )


def wait_for(pred: Callable[[], Any], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return bool(pred())
