"""Helpers for edge tests: device simulators on a background event loop, gateway files, a pinned
clock."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import yaml

from edge_agent.simulate import DeviceSim, serve

T = TypeVar("T")


class SimThread:
    """An asyncio loop in a thread, serving DeviceSims on ports of this machine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[Any] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, sim: DeviceSim, port: int) -> None:
        self.servers.append(self.run(serve(sim, port)))

    def close(self) -> None:
        for s in self.servers:
            with contextlib.suppress(Exception):  # a server that failed already is fine
                self.run(s.shutdown(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def write_gateway(
    path: Path,
    *,
    mqtt_url: str,
    devices: list[dict[str, Any]],
    buses: list[dict[str, Any]] | None = None,
    park: str = "huolingol",
    gateway: str = "gw-hlgl-01",
    max_mb: float = 50,
    batch_max_samples: int = 200,
    batch_max_seconds: float = 0.5,
    status_interval_s: float = 1.0,
) -> Path:
    doc = {
        "gateway": gateway,
        "park": park,
        "uplink": {
            "mqtt": mqtt_url,
            "batch_max_samples": batch_max_samples,
            "batch_max_seconds": batch_max_seconds,
            "status_interval_s": status_interval_s,
        },
        "buffer": {"path": "buffer.sqlite", "max_mb": max_mb},
        "buses": buses
        or [
            {"name": "lan", "kind": "modbus_tcp", "host": "127.0.0.1", "port": 1, "timeout_s": 0.5}
        ],
        "devices": devices,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeClock:
    """Epoch seconds that move only when the test says so (pinned: the result never depends on the
    day the test runs)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def iso(epoch_s: float) -> str:
    """Epoch seconds as DESIGN.md's UTC time stamp with ``Z``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")
