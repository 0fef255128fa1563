"""Console pages against the API calls behind them, with 90 days of 15-minute data for 200 meters.

Each console page is rendered (signed in, TestClient, SQLite) and timed against the same figures
fetched from the API routes the page is built from (bearer token). The ratio page / API is the
console's own cost: templates, formatting, session and access checks. Goal: every page < 1 s.

Usage: python benchmarks/bench_console.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from config import Park, shipped_parks
from config.park import Meter
from park_server.app import create_app
from park_server.db import crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.db.tables import EventRow, ForecastRow
from park_server.jobs.dispatch import plan_park
from park_server.settings import Settings
from park_server.state import ServerState
from park_server.timeutil import DAY_MS, QUARTER_MS, format_ts, now_ms

PARK = "huolingol"
T0 = time.perf_counter()
METERS = 200
DAYS = 90


def build(url: str, days: int) -> Settings:
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, secret_key="bench-secret-" * 3, run_scheduler=False)
    with Session(engine) as session:
        crud.sync_park_files(session, paths=shipped_parks())
        base = crud.park_config(session, park_id=PARK)
        assert base is not None
        # 200 meters spread over the park's assets (many meters per asset: duty "sub")
        assets = [m for m in base.meters if m.asset != "met-1"]
        meters = list(base.meters)
        for i in range(METERS - len(meters)):
            src = assets[i % len(assets)]
            meters.append(
                Meter.model_validate({**src.model_dump(), "id": f"{src.id}-{i:03d}", "duty": "sub"})
            )
        park = base.model_copy(update={"meters": meters})
        crud.sync_park(session, park=Park.model_validate(park.model_dump()))
        crud.create_user(session, name="ada", role="admin", parks=[], password="bench-pass-1")
        crud.create_gateway(session, park_id=PARK, gateway_id="gw-hlgl-01")
        roles = dict(
            session.connection()
            .execute(text("SELECT id, role FROM meter WHERE park_id = :p"), {"p": PARK})
            .all()
        )
    now = now_ms()
    end = now - now % QUARTER_MS
    start = end - days * DAY_MS
    stamps = np.arange(start, end, QUARTER_MS)
    rng = np.random.default_rng(1)
    scale = {"grid": 150_000, "pv": 60_000, "wind": 120_000, "storage": 10_000,
             "flexible_load": 150_000, "load": 20_000, "weather": 1}  # fmt: skip
    raw = engine.raw_connection()
    cur = raw.cursor()
    recv = now
    for meter, role in roles.items():
        values = scale[role] * (0.5 + rng.random(len(stamps)))
        rows = [
            (PARK, meter, "active_power_kw", int(t), float(v), 0, recv)
            for t, v in zip(stamps, values, strict=True)
        ]
        cur.executemany(
            "INSERT INTO measurement (park_id, meter_id, quantity, ts_ms, value, quality, received_ms) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        cur.executemany(
            "INSERT INTO rollup (park_id, meter_id, quantity, resolution, ts_ms, value, min, max, count, energy_kwh, suspect_decreases) "
            "VALUES (?,?,?,'15min',?,?,?,?,1,?,0)",
            [
                (PARK, meter, "active_power_kw", t, v, v, v, v * 0.25)
                for _, _, _, t, v, _, _ in rows
            ],
        )
    raw.commit()
    raw.close()
    print(f"  measurements and rollups stored ({time.perf_counter() - T0:.0f} s)", flush=True)
    with Session(engine) as session:
        for target in ("pv", "wind", "load"):  # one day-ahead issue per day, as the accuracy reads
            for d in range(days + 1):
                issued = (
                    start + d * DAY_MS - 14 * 3_600_000 + 3 * 3_600_000
                )  # 10:00 local the day before
                pts = [
                    {
                        "ts": format_ts(issued + (k + 1) * QUARTER_MS),
                        "p10": 1.0,
                        "p50": 2.0,
                        "p90": 3.0,
                    }
                    for k in range(192)
                ]
                session.add(
                    ForecastRow(
                        park_id=PARK,
                        target=target,
                        issued_ms=issued,
                        model="bench",
                        values_json=json.dumps(pts),
                    )
                )
            # and the last 7 days as the forecast job issues: every 15 minutes, 48 h ahead
            # (the accuracy page scores the first of each hour by lead time)
            for issued in range(end - 7 * DAY_MS, end, QUARTER_MS):
                pts = [
                    {"ts": format_ts(issued + (k + 1) * QUARTER_MS), "p10": 1.0, "p50": 2.0,
                     "p90": 3.0}
                    for k in range(192)
                ]  # fmt: skip
                session.add(
                    ForecastRow(
                        park_id=PARK,
                        target=target,
                        issued_ms=issued + 60_000,
                        model="bench-live",
                        values_json=json.dumps(pts),
                    )
                )
        for i in range(30):
            session.add(
                EventRow(
                    park_id=PARK,
                    kind="meter_stale",
                    subject=f"m{i}",
                    message="bench",
                    opened_ms=now - i * 60_000,
                )
            )
        session.commit()
    print(f"  forecasts and events stored ({time.perf_counter() - T0:.0f} s)", flush=True)
    plan_park(ServerState(settings, engine), PARK, "rolling")
    print(f"  plan made ({time.perf_counter() - T0:.0f} s)", flush=True)
    return settings


def timed(
    client: TestClient, calls: list[str], headers: dict[str, str] | None, repeat: int
) -> float:
    """Median seconds to fetch every URL of ``calls`` once."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for url in calls:
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (url, r.status_code, r.text[:200])
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--days", type=int, default=DAYS)
    ap.add_argument("--only", default="", help="comma-separated page names (default: all)")
    ap.add_argument(
        "--keep", type=Path, help="build the data into this SQLite file once and reuse it after"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "bench.db"
        url = f"sqlite:///{db}"
        t0 = time.perf_counter()
        if args.keep and db.exists():
            settings = Settings(
                database_url=url, secret_key="bench-secret-" * 3, run_scheduler=False
            )
        else:
            settings = build(url, args.days)
        print(
            f"data: {METERS} meters x {args.days} days of 15-min values, built in {time.perf_counter() - t0:.0f} s"
        )
        client = TestClient(create_app(settings, background=False))
        token = client.post(
            "/api/v1/auth/token", data={"username": "ada", "password": "bench-pass-1"}
        ).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "ada", "password": "bench-pass-1", "csrf": csrf})
        p = f"/api/v1/parks/{PARK}"
        today = time.strftime("%Y-%m-%d", time.gmtime((now_ms() + 8 * 3_600_000) / 1000))
        parks = [r["id"] for r in client.get("/api/v1/parks", headers=bearer).json()]
        pages = {
            "overview /": ("/", [u for q in parks for u in (
                f"/api/v1/parks/{q}/kpis?period=day&date={today}",
                f"/api/v1/parks/{q}/kpis?period=month&date={today}",
                f"/api/v1/parks/{q}/events?open_only=true")] + [f"/api/v1/region/carbon?period=month&date={today}"]),
            "dashboard": (f"/parks/{PARK}", [p, f"{p}/kpis?date={today}", f"{p}/meters", f"{p}/latest",
                          f"{p}/forecasts?target=pv", f"{p}/forecasts?target=wind", f"{p}/forecasts?target=load",
                          f"{p}/dispatch/latest", f"{p}/events?open_only=true"]),
            "live.json (poll)": (f"/parks/{PARK}/live.json", [f"{p}/latest"]),
            "meters+gateways": (f"/parks/{PARK}/gateways", [p, f"{p}/meters", f"{p}/latest", f"{p}/gateways", f"{p}/completeness"]),
            "gateway detail": (f"/parks/{PARK}/gateways/gw-hlgl-01", [p, f"{p}/gateways", f"{p}/meters", f"{p}/latest", f"{p}/completeness"]),
            "accuracy 30 d": (f"/parks/{PARK}/forecasts?days=30", [p, f"{p}/meters"] + [f"{p}/forecasts/accuracy{k}?target={t}&days={d}" for t in ("pv", "wind", "load") for k, d in (("", 30), ("/by-lead", 7))]),
            "accuracy 90 d": (f"/parks/{PARK}/forecasts?days=90", [p, f"{p}/meters"] + [f"{p}/forecasts/accuracy{k}?target={t}&days={d}" for t in ("pv", "wind", "load") for k, d in (("", 90), ("/by-lead", 7))]),
            "alarms": (f"/parks/{PARK}/alarms?show=all", [p, f"{p}/events?limit=500"]),
            "carbon": (f"/parks/{PARK}/carbon", [p, f"{p}/carbon?period=month&date={today}",
                       f"{p}/budgets/{today[:4]}", f"{p}/certificates"]),
            "reports": (f"/parks/{PARK}/reports", [p, f"{p}/reports"]),
        }  # fmt: skip
        # first s: the page's first render (caches cold: closed months' carbon totals, see
        # park_server/timeseries/carbon_cache.py); page s: the median of the next --repeat
        print(f"{'page':<18} {'first s':>8} {'page s':>8} {'API s':>8} {'ratio':>6}")
        for name, (page, api_calls) in pages.items():
            if args.only and not any(o in name for o in args.only.split(",")):
                continue
            first = timed(client, [page], None, 1)
            tp = timed(client, [page], None, args.repeat)
            ta = timed(client, api_calls, bearer, args.repeat)
            print(f"{name:<18} {first:8.3f} {tp:8.3f} {ta:8.3f} {tp / ta:6.2f}", flush=True)


if __name__ == "__main__":
    main()
