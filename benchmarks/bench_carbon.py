"""Carbon figures of a month for a park of 500 meters, from the 15-minute rollups, against a bare
pandas groupby of the same rollup rows.

A park of ``--meters`` meters (grid, PV, wind, direct green, storage, and load meters shared by
ten enterprises) gets one month of 15-minute ``active_power_kw`` rollups (and
``available_power_kw`` for PV and wind), written straight into the rollup table. It times, in
the same run and on the same database:

- ours: ``park_server.timeseries.carbon.carbon_answer`` for the month — reading the rollups and
  every stored record, the earlier months of the year (empty here) and last year's December for
  the projection, the 15-minute balance of the park and its enterprises, both green shares,
  emissions, indicators, dual control, the §10 dict;
- bare: the same rollup rows read with the same SQL and summed by meter role with one pandas
  groupby — the least a figure from those rows could cost.

Goal: ours ≤ 2 s (issue #16). Prints both and the ratio; the median of ``--repeat`` runs.
Usage: ``python benchmarks/bench_carbon.py [--database-url URL] [--meters 500] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from config import Park
from park_server import timeutil
from park_server.db import crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.timeseries.carbon import QUANTITIES, carbon_answer
from park_server.timeutil import HOUR_MS, QUARTER_MS

TZ = "Asia/Shanghai"
MONTH = date(2026, 11, 1)
ENTERPRISES = 10


def park_of(n: int) -> Park:
    """A park with ``n`` meters: 1 grid, 20 % PV, 10 % wind, 1 % direct green, 4 % storage,
    the rest load meters spread over ten enterprises."""
    n_pv, n_wind, n_dg, n_sto = n // 5, n // 10, max(1, n // 100), max(1, n // 25)
    n_load = n - 1 - n_pv - n_wind - n_dg - n_sto
    assets: list[dict[str, object]] = []
    meters: list[dict[str, object]] = [
        {"id": "grid-main", "asset": "grid", "profile": "janitza-umg604"}
    ]

    def add(prefix: str, count: int, asset: dict[str, object], profile: str) -> list[str]:
        ids = []
        for i in range(count):
            aid = f"{prefix}-{i}"
            assets.append({"id": aid, **asset})
            meters.append({"id": aid, "asset": aid, "profile": profile})
            ids.append(aid)
        return ids

    add("pv", n_pv, {"kind": "pv", "capacity_kw": 2000}, "sunspec-inverter-float")
    curve = {"wind_speed_ms": [0, 3, 12, 25], "power_kw": [0, 0, 3000, 3000]}
    add(
        "wind",
        n_wind,
        {"kind": "wind", "turbines": 1, "turbine_rated_kw": 3000, "power_curve": curve},
        "wind-scada-gateway",
    )
    add(
        "dg",
        n_dg,
        {"kind": "direct_green", "plant": "Ulanqab wind", "capacity_kw": 50000},
        "janitza-umg604",
    )
    add(
        "bess",
        n_sto,
        {"kind": "storage", "energy_kwh": 4000, "power_kw": 1000},
        "sma-storage-pcs",
    )
    loads = add("load", n_load, {"kind": "load", "nominal_kw": 1500}, "chint-dtsu666")
    enterprises = [
        {"id": f"ent-{e}", "name": f"Enterprise {e}", "meters": loads[e::ENTERPRISES]}
        for e in range(ENTERPRISES)
    ]
    return Park.model_validate(
        {
            "id": "bench",
            "name": "Benchmark park",
            "timezone": TZ,
            "location": {"lat": 40.8, "lon": 111.7},
            "grid": {"import_limit_kw": 900000, "export_limit_kw": 0},
            "tariff": "mengxi-large-industry",
            "green_share_target": 0.5,
            "enterprises": enterprises,
            "assets": assets,
            "meters": meters,
        }
    )


def fill_rollups(engine: object, park: Park, start_ms: int, n_intervals: int) -> int:
    """A month of 15-minute rollups for every meter [rows written]."""
    rng = np.random.default_rng(16)
    t = np.arange(n_intervals)
    hour = (start_ms / HOUR_MS + 8 + t * 0.25) % 24
    sun = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    rows: list[dict[str, object]] = []
    for m in park.meters:
        role = park.meter_role(m)
        if role == "pv":
            kw, avail = 1800 * sun, 1900 * sun
        elif role == "wind":
            kw = 1500 + 1000 * np.sin(t / 40) + rng.normal(0, 50, n_intervals).clip(-500, 500)
            avail = kw * 1.02
        elif role == "direct_green":
            kw, avail = np.full(n_intervals, 20000.0), None
        elif role == "storage":
            kw, avail = np.where(sun > 0.5, -600.0, np.where(hour >= 18, 540.0, 0.0)), None
        elif role == "grid":
            kw, avail = np.full(n_intervals, 150000.0), None
        else:
            kw, avail = 900 + rng.normal(0, 30, n_intervals), None
        for q, series in (("active_power_kw", kw), ("available_power_kw", avail)):
            if series is None:
                continue
            for i, v in enumerate(series.tolist()):
                rows.append(
                    {
                        "p": park.id,
                        "m": m.id,
                        "q": q,
                        "t": start_ms + i * QUARTER_MS,
                        "v": v,
                        "e": v * 0.25 if q == "active_power_kw" else None,
                        "c": QUARTER_MS if q == "active_power_kw" else None,
                    }
                )
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for i in range(0, len(rows), 50_000):
            conn.execute(
                text(
                    "INSERT INTO rollup (park_id, meter_id, quantity, resolution, ts_ms, value, "
                    "min, max, count, energy_kwh, covered_ms, suspect_decreases) VALUES "
                    "(:p, :m, :q, '15min', :t, :v, :v, :v, 15, :e, :c, 0)"
                ),
                rows[i : i + 50_000],
            )
    return len(rows)


def bare(session: Session, park: Park, start_ms: int, end_ms: int) -> pd.Series:
    """The same rollup rows, read with one query on the driver's own cursor and summed by meter
    role with one groupby [kWh]."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "SELECT meter_id, quantity, ts_ms, value, energy_kwh, covered_ms FROM rollup "
        f"WHERE park_id = {mark} AND resolution = '15min' AND ts_ms >= {mark} AND "
        f"ts_ms < {mark} AND count > 0 AND quantity IN ({', '.join([mark] * len(QUANTITIES))})",
        (park.id, start_ms, end_ms, *QUANTITIES),
    )
    frame = pd.DataFrame.from_records(
        cursor.fetchall(), columns=["meter", "quantity", "ts", "value", "energy_kwh", "covered"]
    )
    cursor.close()
    roles = {m.id: park.meter_role(m) for m in park.meters}
    frame["role"] = frame["meter"].map(roles)
    return frame[frame["quantity"] == "active_power_kw"].groupby("role")["energy_kwh"].sum()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    park = park_of(args.meters)
    start = pd.Timestamp(MONTH, tz=TZ).tz_convert("UTC")
    start_ms = int(start.value // 1_000_000)
    end_ms = int((pd.Timestamp(MONTH, tz=TZ) + pd.offsets.MonthBegin(1)).value // 1_000_000)
    n_intervals = (end_ms - start_ms) // QUARTER_MS
    with Session(engine) as session:
        crud.sync_park(session, park=park)
    t0 = time.perf_counter()
    written = fill_rollups(engine, park, start_ms, n_intervals)
    fill_s = time.perf_counter() - t0
    # the server's clock after the month: the month is complete, nothing of it is still to come
    timeutil.set_clock(lambda: datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    ours_s: list[float] = []
    bare_s: list[float] = []
    ours_cpu: list[float] = []
    bare_cpu: list[float] = []
    answer: dict[str, object] = {}
    for _ in range(args.repeat):
        with Session(engine) as session:
            t0, c0 = time.perf_counter(), time.process_time()
            answer = carbon_answer(session, park, "month", MONTH)
            ours_s.append(time.perf_counter() - t0)
            ours_cpu.append(time.process_time() - c0)
        with Session(engine) as session:
            t0, c0 = time.perf_counter(), time.process_time()
            sums = bare(session, park, start_ms, end_ms)
            bare_s.append(time.perf_counter() - t0)
            bare_cpu.append(time.process_time() - c0)
    ours, ref = statistics.median(ours_s), statistics.median(bare_s)
    print(f"# carbon figures of a month, {args.meters} meters, {engine.dialect.name}")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"rollup rows: {written:,} ({fill_s:.1f} s to write)")
    print(
        f"completeness: {answer['completeness']}; consumption {answer['energy_kwh']['consumption']:,.0f} kWh "  # type: ignore[index]
        f"(bare groupby: {sums.get('load', 0.0):,.0f} kWh)"
    )
    cpu, ref_cpu = statistics.median(ours_cpu), statistics.median(bare_cpu)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at the end: {load:.1f}")
    print("| figures | wall s (median) | runs | CPU s of this process (median) |")
    print("|---|---|---|---|")
    print(
        f"| ours: carbon_answer (month) | {ours:.3f} | {', '.join(f'{x:.3f}' for x in ours_s)} "
        f"| {cpu:.3f} |"
    )
    print(
        f"| bare: same rows, one groupby | {ref:.3f} | {', '.join(f'{x:.3f}' for x in bare_s)} "
        f"| {ref_cpu:.3f} |"
    )
    print(f"ratio ours / bare: wall {ours / ref:.2f}, CPU {cpu / ref_cpu:.2f}")
    print(f"goal ours <= 2 s (wall): {'met' if ours <= 2 else 'NOT met'}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
