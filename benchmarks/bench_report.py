"""The monthly report of a park of 500 meters, from one month of 1-minute data rolled up,
against a bare pandas aggregation of the same rollup rows.

The park is bench_carbon's (grid, PV, wind, direct green, storage, and load meters of ten
enterprises). Each meter gets a month of 1-minute power, rolled up here to the 15-minute means
the rollup job stores (mean of the 15 samples, energy = mean × 0.25 h) and written to the rollup
table. Timed in the same run, on the same database:

- issue: ``park_server.reports.issue.issue`` — the carbon query layer for the park and each
  enterprise (rollups and every stored record), the forecast accuracy, the report model (the
  park and ten enterprise sections, completeness of 500 meters), its data hash, stored as
  revision 1;
- html, xlsx, pdf: each rendering of the stored revision (``rendering``, zh), the first time
  (rendered and stored); the PDF in two processes (park_server.reports.pdf), whose CPU time is
  counted with this one's;
- again: ``issue`` with no new data (hash, no new revision);
- bare: the same rollup rows read with one query and summed by meter role with one groupby.

Goals (issue #12): issue + HTML + XLSX ≤ 10 s, issue + PDF ≤ 20 s. Prints each and the ratios.
Usage: ``python benchmarks/bench_report.py [--database-url URL] [--meters 500]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from bench_carbon import MONTH, TZ, bare, park_of
from sqlalchemy import text
from sqlmodel import Session

from config import Park
from park_server import timeutil
from park_server.db import crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.reports.issue import issue, rendering
from park_server.timeutil import QUARTER_MS

T = TypeVar("T")


def minute_power(
    park: Park, start_ms: int, n_minutes: int
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """One month of 1-minute power per meter [kW] (and available power of PV and wind)."""
    rng = np.random.default_rng(12)
    t = np.arange(n_minutes)
    hour = (start_ms / 3_600_000 + 8 + t / 60) % 24
    sun = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for m in park.meters:
        role = park.meter_role(m)
        noise = rng.normal(0, 1, n_minutes)
        if role == "pv":
            kw = 1800 * sun * (1 + 0.03 * noise).clip(0.5, 1.1)
            out[m.id] = (kw, 1900 * sun)
        elif role == "wind":
            kw = (1500 + 1000 * np.sin(t / 600) + 50 * noise).clip(0, 3000)
            out[m.id] = (kw, kw * 1.02)
        elif role == "direct_green":
            out[m.id] = (np.full(n_minutes, 20000.0) + 100 * noise, None)
        elif role == "storage":
            out[m.id] = (np.where(sun > 0.5, -600.0, np.where(hour >= 18, 540.0, 0.0)), None)
        elif role == "grid":
            out[m.id] = (150000.0 + 2000 * noise, None)
        else:
            out[m.id] = (900 + 30 * noise, None)
    return out


def roll_up(minutes: np.ndarray) -> np.ndarray:
    """15-minute means of 1-minute values (what the rollup job stores for power)."""
    means: np.ndarray = minutes.reshape(-1, 15).mean(axis=1)
    return means


def fill(engine: object, park: Park, start_ms: int, n_intervals: int) -> tuple[int, float]:
    """Roll the month's 1-minute data up and write the 15-minute rows [rows, s rolling up]."""
    t0 = time.perf_counter()
    data = minute_power(park, start_ms, n_intervals * 15)
    rows: list[dict[str, object]] = []
    gap = slice(1000, 1024)  # one meter of every 50 misses six hours
    for k, (mid, (kw, avail)) in enumerate(data.items()):
        for q, series in (("active_power_kw", kw), ("available_power_kw", avail)):
            if series is None:
                continue
            means = roll_up(series)
            for i, v in enumerate(means.tolist()):
                if k % 50 == 7 and gap.start <= i < gap.stop:
                    continue
                rows.append(
                    {
                        "p": park.id,
                        "m": mid,
                        "q": q,
                        "t": start_ms + i * QUARTER_MS,
                        "v": v,
                        "e": v * 0.25 if q == "active_power_kw" else None,
                        "c": QUARTER_MS if q == "active_power_kw" else None,
                    }
                )
    rolled_s = time.perf_counter() - t0
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
    return len(rows), rolled_s


def pdf_pages(pdf: bytes) -> str:
    """Page count by poppler's pdfinfo ("?" without it)."""
    if shutil.which("pdfinfo") is None:
        return "?"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    found = re.search(r"^Pages:\s+(\d+)", out, re.M)
    return found.group(1) if found else "?"


def cpu_s() -> float:
    """CPU time of this process and of its ended children (the PDF's second part) [s]."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def timed(f: Callable[..., T], *a: object, **k: object) -> tuple[T, tuple[float, float]]:
    """One call's result, wall time and CPU time [s] (this process and its children)."""
    t0, c0 = time.perf_counter(), cpu_s()
    out = f(*a, **k)
    return out, (time.perf_counter() - t0, cpu_s() - c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    ap.add_argument("--meters", type=int, default=500)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    park = park_of(args.meters)
    start_ms = int(pd.Timestamp(MONTH, tz=TZ).value // 1_000_000)
    end_ms = int((pd.Timestamp(MONTH, tz=TZ) + pd.offsets.MonthBegin(1)).value // 1_000_000)
    n_intervals = (end_ms - start_ms) // QUARTER_MS
    with Session(engine) as session:
        crud.sync_park(session, park=park)
    written, rolled_s = fill(engine, park, start_ms, n_intervals)
    timeutil.set_clock(lambda: datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    month = f"{MONTH.year:04d}-{MONTH.month:02d}"
    with Session(engine) as session:
        done, (issue_s, issue_c) = timed(issue, session, park, month, by="bench")
        (_, html), (html_s, html_c) = timed(rendering, session, park.id, month, "html", "zh")
        (_, xlsx), (xlsx_s, xlsx_c) = timed(rendering, session, park.id, month, "xlsx", "zh")
        (_, pdf), (pdf_s, pdf_c) = timed(rendering, session, park.id, month, "pdf", "zh")
        again, (again_s, again_c) = timed(issue, session, park, month, by="bench")
        _, (bare_s, bare_c) = timed(bare, session, park, start_ms, end_ms)
    assert done.created and not again.created and again.info.revision == 1
    pages = pdf_pages(pdf)
    print(
        f"# monthly report, {args.meters} meters, {len(park.enterprises)} enterprises, {engine.dialect.name}"
    )
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"rollup rows: {written:,} (1-min data rolled up in {rolled_s:.1f} s)")
    print(
        f"sizes: html {len(html) / 1e6:.1f} MB, xlsx {len(xlsx) / 1e6:.1f} MB, pdf {len(pdf) / 1e6:.1f} MB ({pages} pages)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| step | wall s | CPU s | wall × bare |")
    print("|---|---|---|---|")
    for name, s, c in (
        ("issue (query layer, model, hash, store)", issue_s, issue_c),
        ("html (render, store)", html_s, html_c),
        ("xlsx (render, store)", xlsx_s, xlsx_c),
        ("pdf (render, store)", pdf_s, pdf_c),
        ("issue again, no new data", again_s, again_c),
        ("bare: same rows, one groupby", bare_s, bare_c),
    ):
        print(f"| {name} | {s:.2f} | {c:.2f} | {s / bare_s:.1f} |")
    for label, wall, cpu, goal in (
        ("issue + HTML + XLSX", issue_s + html_s + xlsx_s, issue_c + html_c + xlsx_c, 10),
        ("issue + PDF", issue_s + pdf_s, issue_c + pdf_c, 20),
    ):
        verdict = (
            "met" if wall <= goal else ("NOT met; CPU time within" if cpu <= goal else "NOT met")
        )
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (goal <= {goal} s: {verdict})")
    tmp.cleanup()


if __name__ == "__main__":
    main()
