"""A real park server process (uvicorn on a free port, SQLite file) with data ingested through
its HTTP ingest API, forecasts and a plan made by the server's own job functions, and alarms
evaluated by the alarm job — what the console tests look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session
from zctest_server import Server, make_server
from zctest_services import service_unavailable

from config import Park
from park_server.db import crud
from park_server.timeutil import QUARTER_MS, format_ts, now_ms

REPO = Path(__file__).resolve().parents[2]

#: Huolin Gol meters and the power each reads in the test data [kW] (DESIGN.md §2 signs)
POWER_KW = {
    "grid-main": 180_000.0,
    "pv-1": 120_000.0,
    "wind-zhn": 420_000.0,
    "wind-2": 90_000.0,
    "bess-1": -25_000.0,
    "potline-zhn": 525_000.0,
    "potline-2": 375_000.0,
    "aux-load": 60_000.0,
}
SOC_PCT = 63.5


def pinned_app() -> object:
    """The app of the server process, on a running clock pinned to the tests' moment
    (zctest_clock.PINNED), the same that the test process uses (tests/park_server/conftest.py)."""
    from zctest_clock import PINNED, FakeClock

    from park_server import timeutil
    from park_server.app import create_app

    timeutil.set_clock(FakeClock(PINNED, running=True))
    return create_app()


def chromium_path() -> str:
    """The system chromium; skips without it, fails with ZCPARK_REQUIRE_SERVICES=1 (CI)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        service_unavailable("no system chromium (apt-get install chromium fonts-noto-cjk)")
    return path


@dataclass
class LiveServer:
    server: Server
    url: str
    process: subprocess.Popen[bytes]

    def api(self, user: str) -> httpx.Client:
        """An API client with the user's bearer token."""
        c = httpx.Client(base_url=self.url, timeout=30)
        r = c.post(
            "/api/v1/auth/token",
            data={"username": user, "password": self.server.passwords[user]},
        )
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return c

    def ingest(self, samples: list[dict[str, object]], batch: int) -> None:
        key = self.server.keys["gw-hlgl-01"]
        body = {"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": batch}
        r = httpx.post(
            f"{self.url}/api/v1/ingest",
            json={**body, "samples": samples},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(samples), r.json()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _samples(start_ms: int, end_ms: int, step_ms: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i, t in enumerate(range(start_ms, end_ms, step_ms)):
        wobble = (i % 7) - 3  # a little variation, so the charts are not flat lines
        for meter, kw in POWER_KW.items():
            value = kw + wobble * abs(kw) * 0.01
            out.append(
                {"ts": format_ts(t), "meter": meter, "quantity": "active_power_kw", "value": value}
            )
        out.append({"ts": format_ts(t), "meter": "bess-1", "quantity": "soc_pct", "value": SOC_PCT})
    return out


def start_live_server(folder: Path) -> Iterator[LiveServer]:
    from park_server.jobs.alarms import evaluate
    from park_server.jobs.dispatch import plan_park
    from park_server.jobs.forecast import issue_forecast
    from park_server.jobs.rollup import rollup_job
    from park_server.state import ServerState

    url = f"sqlite:///{folder / 'zcpark.db'}"
    server = make_server(url)
    port = _free_port()
    env = {
        **os.environ,
        "ZCPARK_DATABASE_URL": url,
        "ZCPARK_SECRET_KEY": server.settings.secret_key,
        "ZCPARK_RUN_SCHEDULER": "false",
        "PYTHONPATH": f"{REPO}:{REPO / 'tests' / 'support'}",
    }
    env.pop("ZCPARK_MQTT_URL", None)
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "zctest_console:pinned_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded 2-core machine imports slowly
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((folder / "server.log").read_text())
        time.sleep(0.1)
    live = LiveServer(server, base, process)
    from zctest_clock import FakeClock, pinned

    try:
        with pinned(FakeClock(running=True)):  # the moment the server's clock starts at
            now = now_ms()
            # whole quarter-hours of the last 54 hours, every 5 min: yesterday is scored, and
            # the day before it is persistence's forecast of yesterday
            end = now - now % QUARTER_MS
            samples = _samples(end - 54 * 3_600_000, end, 300_000)
            for i in range(0, len(samples), 2000):
                live.ingest(samples[i : i + 2000], batch=i)
            state = ServerState(server.settings, server.engine)
            rollup_job(state)
            with Session(server.engine) as session:
                park = crud.park_config(session, park_id="huolingol")
                assert isinstance(park, Park)
                # the day-ahead issue that scores yesterday (10:00 local the day before), and now
                zone = ZoneInfo(park.timezone)
                today = datetime.fromtimestamp(now / 1000, zone).replace(
                    hour=10, minute=0, second=0, microsecond=0
                )
                day_ahead = int((today - timedelta(days=2)).timestamp() * 1000)
                for target in ("pv", "wind", "load"):
                    assert issue_forecast(session, park, target, now=day_ahead) is not None
                    assert issue_forecast(session, park, target) is not None
            assert plan_park(state, "huolingol", "rolling") is not None
            with Session(server.engine) as session:
                evaluate(session)  # gw-bt-01 has never been heard: an open critical alarm
        yield live
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
