"""Helpers for server tests: a migrated database with the shipped parks, users and gateway keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from config import shipped_parks
from park_server.app import create_app
from park_server.db import crud
from park_server.db.crud import load_park_meters
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.ingest.batches import ingest_batch
from park_server.settings import Settings


@dataclass
class Server:
    engine: Engine
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)  # gateway id -> key
    passwords: dict[str, str] = field(default_factory=dict)

    def client(self, background: bool = False) -> TestClient:
        return TestClient(create_app(self.settings, self.engine, background=background))

    def token(self, client: TestClient, user: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/token", data={"username": user, "password": self.passwords[user]}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def make_server(url: str, mqtt_url: str | None = None) -> Server:
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(
        database_url=url,
        mqtt_url=mqtt_url,
        secret_key="test-secret-" * 4,
        run_scheduler=False,
        login_attempts_per_minute=5,
    )
    server = Server(engine, settings)
    with Session(engine) as session:
        crud.sync_park_files(session, paths=shipped_parks())
        for gw, park in (("gw-hlgl-01", "huolingol"), ("gw-bt-01", "baotou_aluminum")):
            server.keys[gw] = crud.create_gateway(session, park_id=park, gateway_id=gw)
        for name, role, parks in (
            ("ada", "admin", []),
            ("mia", "manager", ["huolingol"]),
            ("vic", "viewer", ["huolingol"]),
        ):
            password = f"{name}-password-1"
            crud.create_user(session, name=name, role=role, parks=parks, password=password)
            server.passwords[name] = password
    return server


def batch(
    n: int,
    *,
    batch_no: int = 1,
    start_ms: int | None = None,
    meter: str = "grid-main",
    quantity: str = "active_power_kw",
    park: str = "huolingol",
    gateway: str = "gw-hlgl-01",
    step_ms: int = 1000,
) -> dict[str, object]:
    from park_server.timeutil import format_ts

    if start_ms is None:
        start_ms = hour_ago()
    return {
        "v": 1,
        "park": park,
        "gateway": gateway,
        "batch": batch_no,
        "samples": [
            {
                "ts": format_ts(start_ms + i * step_ms),
                "meter": meter,
                "quantity": quantity,
                "value": 800.0 + i,
                "quality": "good",
            }
            for i in range(n)
        ],
    }


def hour_ago(hours: int = 24) -> int:
    """A whole hour ``hours`` hours ago [epoch ms]: test data always lies in the accepted window."""
    from park_server.timeutil import HOUR_MS, now_ms

    now = now_ms()
    return now - now % HOUR_MS - hours * HOUR_MS


TZ_PARK = ZoneInfo("Asia/Shanghai")


def ingest_samples(session: Session, samples: list[dict[str, object]]) -> None:
    """Store samples through the ingest path in 500-sample batches; every one must be accepted."""
    meters = load_park_meters(session, "huolingol")
    for i in range(0, len(samples), 500):
        chunk = samples[i : i + 500]
        body = {"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": i, "samples": chunk}
        res = ingest_batch(session, body, park=meters, gateway_id="gw-hlgl-01")
        assert res.accepted == len(chunk), res.rejected[:3]


def pv_kw(ms: int, day_factor: float) -> float:
    local = datetime.fromtimestamp(ms / 1000, TZ_PARK)
    hour = local.hour + local.minute / 60
    return 200_000 * max(0.0, float(np.sin((hour - 6) / 12 * np.pi))) * day_factor


def store_power(server: Server, meter: str, series: list[tuple[int, float]]) -> None:
    """Ingest (time ms, kW) samples of one Huolin Gol meter and roll them up, as the server's
    jobs would, so that forecasts can read them."""
    from park_server.jobs.rollup import rollup_job
    from park_server.state import ServerState
    from park_server.timeutil import format_ts

    samples: list[dict[str, object]] = [
        {"ts": format_ts(t), "meter": meter, "quantity": "active_power_kw", "value": float(v)}
        for t, v in series
    ]
    with Session(server.engine) as session:
        ingest_samples(session, samples)
    rollup_job(ServerState(server.settings, server.engine))
