"""Ingest and rollups at the same time on a real PostgreSQL: no mark is lost, no rollup raises,
and what is left equals a recomputation from scratch."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlmodel import Session
from zctest_rollups import MIN, T0, all_rollups, recompute_from_scratch, roll, row, store
from zctest_server import make_server

from park_server.timeseries.rollups import refresh_rollups
from park_server.timeutil import QUARTER_MS

pytestmark = pytest.mark.postgres


def _approx(rows: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {
        k: {c: pytest.approx(v) if isinstance(v, float) else v for c, v in r.items()}
        for k, r in rows.items()
    }


def test_ingest_while_two_rollups_run_loses_nothing(pg_fresh: Any) -> None:
    server = make_server(pg_fresh.url)
    errors: list[BaseException] = []
    done = threading.Event()
    batches = 150

    def ingest() -> None:
        try:
            for i in range(batches):
                # two buckets take turns, so a rollup is often busy with the one written to
                t = T0 + (i % 2) * QUARTER_MS + (i // 2) * 5_000
                store(
                    server.engine,
                    [
                        row("grid-main", "active_power_kw", t, 100.0 + i),
                        row("wind-zhn", "energy_import_kwh", t, 1000.0 + i),
                        row("weather-1", "wind_direction_deg", t, float(i * 7 % 360)),
                    ],
                )
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            done.set()

    def rollup(tz: dict[str, str]) -> None:
        try:
            while not done.is_set():
                with Session(server.engine) as session:
                    refresh_rollups(session.connection(), timezones=tz)
                    session.commit()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    tz = {"huolingol": "Asia/Shanghai"}
    threads = [threading.Thread(target=ingest)] + [
        threading.Thread(target=rollup, args=(tz,)) for _ in range(2)
    ]
    started = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    assert time.monotonic() - started < 120
    roll(server.engine, server.settings)  # the job's next run finds what is still dirty
    got = all_rollups(server.engine)
    assert got[("grid-main", "active_power_kw", "15min", T0)]["count"] == batches // 2
    assert got[("wind-zhn", "energy_import_kwh", "15min", T0 + QUARTER_MS)]["count"] == (
        batches // 2
    )
    assert recompute_from_scratch(server.engine, server.settings) == _approx(got)
    _ = MIN
