"""The month's forecast accuracy in the report, from stored forecasts and the measured rollups of
the synthetic month: nMAE of the day-ahead forecasts, nMAE of persistence (yesterday's profile)
on the same days, skill, coverage — worked out by hand from the month's PV shape."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import zctest_carbon as synth
from zctest_carbon_park import AFTER_NOVEMBER, carbon_server
from zctest_clock import FakeClock

from park_server.db import crud
from park_server.db.engine import Session
from park_server.db.tables import ForecastRow
from park_server.reports.issue import month_accuracy
from park_server.timeutil import format_ts

PV_CAPACITY_KW = 10_000.0  # the synthetic park file's pv-1
OFFSET_KW = 100.0  # every forecast is the measured PV power + 100 kW


def test_month_accuracy_and_persistence_by_hand(tmp_path: Path, server_clock: FakeClock) -> None:
    server_clock.t = AFTER_NOVEMBER.timestamp()
    cs = carbon_server(f"sqlite:///{tmp_path / 'zcpark.db'}", tmp_path)
    frame = synth.intervals()
    pv = frame[frame["meter"] == "pv-1"].set_index("ts")["kwh"] * 4  # kW, the gap has no row
    with Session(cs.server.engine) as session:
        # a day-ahead PV forecast for days 2..30, issued at 10:00 local the day before
        for day in range(2, synth.DAYS + 1):
            start = pd.Timestamp(date(2026, 11, day), tz=synth.TZ)
            issued = start - timedelta(hours=14)
            idx = pd.date_range(start, periods=96, freq="15min").tz_convert("UTC")
            points = [
                {
                    "ts": format_ts(int(t.value // 1_000_000)),
                    "p10": float(pv.get(t, 0.0)),
                    "p50": float(pv.get(t, 0.0)) + OFFSET_KW,
                    "p90": float(pv.get(t, 0.0)) + 2 * OFFSET_KW,
                }
                for t in idx
            ]
            session.add(
                ForecastRow(
                    park_id="synthpark",
                    target="pv",
                    issued_ms=int(issued.value // 1_000_000),
                    model="test",
                    values_json=json.dumps(points),
                )
            )
        session.commit()
        park = crud.park_config(session, park_id="synthpark")
        assert park is not None
        acc = {a.target: a for a in month_accuracy(session, park, date(2026, 11, 1))}

    got = acc["pv"]
    # 29 days; day 20 has 72 measured intervals (block B missing), the others 96
    assert got.days == 29
    assert got.intervals == 28 * 96 + 72
    assert abs(got.nmae - OFFSET_KW / PV_CAPACITY_KW) < 1e-12  # type: ignore[operator]
    assert got.coverage_p10_p90 == 1.0
    # persistence: the same profile every day except the export day 15 (block C 2000 instead
    # of 1200 kWh: 3200 kW apart in 24 intervals), which differs from day 14 and from day 16;
    # days 20 and 21 compare only the 72 intervals both days measured
    intervals = 27 * 96 + 2 * 72
    errors = 2 * 24 * 3200.0 / PV_CAPACITY_KW
    assert abs(got.persistence_nmae - errors / intervals) < 1e-12  # type: ignore[operator]
    assert abs(got.skill - (1 - got.nmae / got.persistence_nmae)) < 1e-12  # type: ignore[operator]
    # no wind or load forecast was stored: nothing compared
    assert (acc["wind"].days, acc["wind"].nmae, acc["wind"].skill) == (0, None, None)
    assert acc["load"].days == 0
