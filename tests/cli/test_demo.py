"""`zcpark demo` runs the whole system, with its history, in one command: within 90 s the API has
fresh measurements, a forecast, a plan in force, carbon figures and last month's report, and the
console's dashboard shows live numbers in Chromium; Ctrl-C (SIGINT) stops every process it
started and frees its ports. Shortened, the same for each of the six shipped parks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from zctest_console import chromium_path

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

PARKS = ["huolingol", "baotou_aluminum", "mengsu", "damao", "etuoke", "alxa_wusi"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_base(n: int) -> int:
    """A port with the ``n`` after it free (the simulators take a run of ports)."""
    for _ in range(50):
        base = _free_port()
        if base + n < 65000 and all(_bindable(base + i) for i in range(n)):
            return base
    raise RuntimeError("no run of free ports")


def _bindable(port: int) -> bool:
    """Whether a server could listen on ``port`` now (as servers do, past TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    url: str
    workdir: Path
    ports: list[int]
    lines: list[str]

    def api(self) -> httpx.Client:
        password = (self.workdir / "admin-password.txt").read_text().strip()
        c = httpx.Client(base_url=f"{self.url}/api/v1", timeout=60)
        r = c.post("/auth/token", data={"username": "admin", "password": password})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return c


@contextmanager
def demo(tmp_path: Path, broker_url: str, park: str, history_days: int) -> Iterator[Demo]:
    port, base = _free_port(), _free_base(16)
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zcpark",
            "demo",
            "--workdir",
            str(workdir),
            "--port",
            str(port),
            "--modbus-port-base",
            str(base),
            "--mqtt-url",
            broker_url,
            "--park",
            park,
            "--history-days",
            str(history_days),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:  # drain the demo's output, or a full pipe would stall it
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.strip().startswith("ready."):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(90):
            raise AssertionError("not ready within 90 s:\n" + "\n".join(lines[-40:]))
        yield Demo(
            proc, f"http://127.0.0.1:{port}", workdir, [port, *range(base, base + 12)], lines
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        reader.join(10)


def _wait(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def _figures(api: httpx.Client, park: str) -> dict[str, Any]:
    """What the API says of the park: all must be there from the first minute."""
    now = datetime.now(UTC)
    latest = api.get(f"/parks/{park}/latest").json()
    fresh = [
        r
        for r in latest
        if (now - datetime.fromisoformat(r["ts"].replace("Z", "+00:00"))).total_seconds() < 60
    ]
    forecasts = {
        t: api.get(f"/parks/{park}/forecasts", params={"target": t}) for t in ("pv", "wind", "load")
    }
    plan = api.get(f"/parks/{park}/dispatch/latest")
    carbon = api.get(f"/parks/{park}/carbon", params={"period": "month"})
    return {"fresh": fresh, "forecasts": forecasts, "plan": plan, "carbon": carbon}


def test_demo_is_a_living_park_within_90_s_then_stops_clean(
    tmp_path: Path, private_broker: Any
) -> None:
    with demo(tmp_path, private_broker.url, "huolingol", 35) as d:
        api = d.api()
        got = _wait(lambda: (f := _figures(api, "huolingol"))["fresh"] and f)
        assert got, "no fresh measurement"
        assert {r["meter"] for r in got["fresh"]} >= {"grid-main", "bess-1", "potline-zhn"}
        for target, r in got["forecasts"].items():
            assert r.status_code == 200, (target, r.text)
            assert r.json()["model"] != "fallback", target  # 35 days of history: trained models
        assert got["plan"].status_code == 200 and got["plan"].json()["status"] == "optimal"
        carbon = got["carbon"].json()
        assert got["carbon"].status_code == 200, carbon
        assert carbon["energy_kwh"]["consumption"] > 0 and carbon["green"]["certificates_kwh"] == 0
        reports = api.get("/parks/huolingol/reports").json()
        assert reports and reports[0]["revision"] >= 1, reports
        last = api.get(
            "/parks/huolingol/carbon",
            params={"period": "month", "date": reports[0]["month"] + "-15"},
        ).json()
        assert last["green"]["certificates_kwh"] > 0  # the demo's certificates of last month
        # the console's dashboard shows live numbers
        from playwright.sync_api import sync_playwright

        password = (d.workdir / "admin-password.txt").read_text().strip()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{d.url}/login?next=/parks/huolingol")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_selector(".live[data-meter='grid-main'][data-value]", timeout=30_000)
            first = page.get_attribute(".live[data-meter='grid-main'][data-value]", "data-value")
            assert first is not None and float(first) != 0.0
            changed = _wait(
                lambda: page.get_attribute(".live[data-meter='grid-main']", "data-value") != first,
                timeout=30,
            )
            assert changed, "the dashboard's live grid power did not move"
            page.screenshot(path=str(tmp_path / "demo-dashboard.png"))
            browser.close()
        proc, ports = d.proc, d.ports
    assert proc.returncode == 0, "\n".join(d.lines[-20:])
    assert all(_bindable(p) for p in ports), "a port of the demo is still taken"
    summary = json.loads(next(x for x in d.lines if x.startswith("summary: "))[9:])
    assert summary["meters_reporting"] == 11


@pytest.mark.parametrize("park", PARKS[1:])
def test_every_shipped_park_runs_as_a_demo(tmp_path: Path, private_broker: Any, park: str) -> None:
    with demo(tmp_path, private_broker.url, park, 2) as d:
        api = d.api()
        got = _wait(lambda: (f := _figures(api, park))["fresh"] and f)
        assert got, f"{park}: no fresh measurement"
        assert any(r.status_code == 200 for r in got["forecasts"].values()), park
        assert got["plan"].status_code in (200, 404)  # a park with nothing to dispatch has none
        if got["plan"].status_code == 404:
            assert "no plan in force" in got["plan"].text
        assert got["carbon"].status_code == 200, got["carbon"].text
        assert got["carbon"].json()["energy_kwh"]["consumption"] > 0
    assert d.proc.returncode == 0
