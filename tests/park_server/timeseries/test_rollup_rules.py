"""The rollup rules (docs/rollups.md), at pinned times: counters (resets, jitter, late samples),
bad samples, the mean of angles, the covered time of a partial interval, KPI completeness, and
GETs that read without writing."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session
from zctest_rollups import (
    MIN,
    T0,
    all_rollups,
    count,
    recompute_from_scratch,
    roll,
    rollups,
    row,
    store,
)
from zctest_server import make_server

from park_server.db import crud
from park_server.timeseries.kpis import park_kpis
from park_server.timeseries.rollups import counter_energy
from park_server.timeutil import HOUR_MS, QUARTER_MS, format_ts

E = "energy_import_kwh"
P = "active_power_kw"


def test_counter_energy_resets_jitter_and_rollover() -> None:
    vals = np.array([1000.0, 1002.0, 1001.999, 1004.0, 0.5, 2.5, 1.0, 3.0])
    inc, suspect = counter_energy(vals)
    # a small decrease is suspect and adds nothing; a drop to near zero is a reset (the counter
    # restarted from zero, so the new reading is the energy since); 2.5 -> 1.0 is not near zero
    np.testing.assert_allclose(inc, [0.0, 2.0, 0.0, 2.001, 0.5, 2.0, 0.0, 2.0])
    assert suspect.tolist() == [False, False, True, False, False, False, True, False]
    # a counter that wraps at a known value: the energy up to the wrap counts as well
    inc, suspect = counter_energy(np.array([99_990.0, 99_998.0, 4.0]), rollover_kwh=1e5)
    np.testing.assert_allclose(inc, [0.0, 8.0, 6.0])
    assert not suspect.any()


def test_counter_jitter_is_flagged_and_never_counted(database_url: str) -> None:
    server = make_server(database_url)
    vals = [1000, 1002, 1004, 1006, 1008, 1007.999, 1010, 1012, 1014, 1016]
    vals += [0.5, 2.5, 4.5, 6.5, 8.5]  # reset at minute 10
    store(server.engine, [row("grid-main", E, T0 + i * MIN, v) for i, v in enumerate(vals)])
    roll(server.engine, server.settings)
    q = rollups(server.engine, "grid-main", E, "15min")[T0]
    # 4 × 2, the jitter 0, 2.001 from the lowered reading, 3 × 2, the reset's 0.5, 4 × 2
    assert q["value"] == pytest.approx(24.501)
    assert q["energy_kwh"] == pytest.approx(24.501)
    assert q["suspect_decreases"] == 1 and q["count"] == 15
    h = rollups(server.engine, "grid-main", E, "1h")[T0]
    assert h["value"] == pytest.approx(24.501) and h["suspect_decreases"] == 1
    with server.client() as client:
        admin = server.token(client, "ada")
        params = {
            "meter": "grid-main",
            "quantity": E,
            "start": format_ts(T0),
            "end": format_ts(T0 + HOUR_MS),
        }
        body = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin)
    assert body.status_code == 200, body.text
    assert body.json()["points"] == [
        {"ts": format_ts(T0), "value": pytest.approx(24.501), "suspect_decreases": 1}
    ]


def _counter(minutes: list[int], quality: dict[int, str] | None = None) -> list[Any]:
    """A counter rising 1 kWh a minute, read at the given minutes after T0."""
    quality = quality or {}
    return [row("grid-main", E, T0 + m * MIN, 100.0 + m, quality.get(m, "good")) for m in minutes]


def test_late_counter_sample_updates_every_bucket_it_changes(database_url: str) -> None:
    """Polled every 40 min: the late 00:40 sample splits the increase that 01:20 carried."""
    server = make_server(database_url)
    store(server.engine, _counter([0, 80, 120]))
    roll(server.engine, server.settings)
    assert rollups(server.engine, "grid-main", E, "15min")[T0 + 75 * MIN]["value"] == 80.0
    store(server.engine, _counter([40]))
    roll(server.engine, server.settings)
    late = {t: r["value"] for t, r in rollups(server.engine, "grid-main", E, "15min").items()}
    assert late == {T0: 0.0, T0 + 30 * MIN: 40.0, T0 + 75 * MIN: 40.0, T0 + 120 * MIN: 40.0}
    hours = {t: r["value"] for t, r in rollups(server.engine, "grid-main", E, "1h").items()}
    assert hours == {T0: 40.0, T0 + HOUR_MS: 40.0, T0 + 2 * HOUR_MS: 40.0}
    # and all of it equals a recomputation from scratch
    before = all_rollups(server.engine)
    assert recompute_from_scratch(server.engine, server.settings) == before


def test_bad_samples_are_stored_but_not_rolled_up_or_latest(database_url: str) -> None:
    server = make_server(database_url)
    good = [row("grid-main", P, T0 + i * MIN, 800.0 + i) for i in range(6)]
    bad = [row("grid-main", P, T0 + i * MIN, 0.0, "bad") for i in range(6, 10)]
    counters = _counter([0, 5]) + _counter([9], {9: "bad"})
    store(server.engine, good + bad + counters)
    roll(server.engine, server.settings)
    assert count(server.engine, "measurement") == 13  # stored, every one
    q = rollups(server.engine, "grid-main", P, "15min")[T0]
    assert q["value"] == pytest.approx(802.5) and q["count"] == 6
    assert rollups(server.engine, "grid-main", E, "15min")[T0]["value"] == 5.0
    with server.client() as client:
        admin = server.token(client, "ada")
        latest = client.get("/api/v1/parks/huolingol/latest", headers=admin).json()
        raw = client.get(
            "/api/v1/parks/huolingol/measurements",
            params={
                "meter": "grid-main",
                "quantity": P,
                "start": format_ts(T0),
                "end": format_ts(T0 + HOUR_MS),
                "resolution": "raw",
            },
            headers=admin,
        ).json()
    assert latest == [
        {"meter": "grid-main", "quantity": P, "ts": format_ts(T0 + 5 * MIN), "value": 805.0},
        {"meter": "grid-main", "quantity": E, "ts": format_ts(T0 + 5 * MIN), "value": 105.0},
    ]
    # raw points are every stored sample, each with its quality
    assert len(raw["points"]) == 10
    assert raw["points"][9] == {"ts": format_ts(T0 + 9 * MIN), "value": 0.0, "quality": "bad"}
    assert raw["points"][0]["quality"] == "good"


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_wind_direction_is_a_vector_mean_at_every_resolution(database_url: str) -> None:
    server = make_server(database_url)
    quarters = [[350.0, 10.0], [20.0, 20.0, 20.0, 20.0], [80.0, 100.0, 170.0], [355.0]]
    rows, every = [], []
    for q, angles in enumerate(quarters):
        for i, a in enumerate(angles):
            rows.append(row("weather-1", "wind_direction_deg", T0 + q * QUARTER_MS + i * MIN, a))
            every.append(a)
    store(server.engine, rows)
    roll(server.engine, server.settings)

    def vector_mean(angles: list[float]) -> float:
        r = np.radians(angles)
        return float(np.degrees(np.arctan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0)

    got = rollups(server.engine, "weather-1", "wind_direction_deg", "15min")
    assert _angle_diff(got[T0]["value"], 0.0) < 1e-9  # not 180
    for q, angles in enumerate(quarters):
        value = got[T0 + q * QUARTER_MS]["value"]
        assert 0.0 <= value < 360.0
        assert _angle_diff(value, vector_mean(angles)) < 1e-9
    hour = rollups(server.engine, "weather-1", "wind_direction_deg", "1h")[T0]
    assert _angle_diff(hour["value"], vector_mean(every)) < 1e-9  # of every sample, not of 4 means
    day_start = T0 - 8 * HOUR_MS  # 00:00 in Asia/Shanghai
    day = rollups(server.engine, "weather-1", "wind_direction_deg", "1d")[day_start]
    assert _angle_diff(day["value"], vector_mean(every)) < 1e-9
    assert day["count"] == len(every)


def _power(minutes: list[int], kw: float = 100.0, meter: str = "grid-main") -> list[Any]:
    return [row(meter, P, T0 + m * MIN, kw) for m in minutes]


def test_energy_of_a_partial_interval_is_mean_power_times_covered_time(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'c.db'}")
    # 00:00-00:15 every minute; 00:15-00:30 minus one missed poll (00:22); 00:30-00:45 minus
    # two (00:37, 00:38); 00:45-01:00 the interval in progress, read at 00:45 ... 00:51
    minutes = list(range(15)) + [m for m in range(15, 30) if m != 22]
    minutes += [m for m in range(30, 45) if m not in (37, 38)] + list(range(45, 52))
    store(server.engine, _power(minutes))
    roll(server.engine, server.settings)
    got = rollups(server.engine, "grid-main", P, "15min")
    covered = {t - T0: r["covered_ms"] / MIN for t, r in got.items()}
    # each sample stands for the time to the next one, at most twice the gap before it and at
    # most 15 min: one missed poll is bridged, two leave a minute uncovered; the newest sample
    # stands for twice the gap before it
    assert covered == {0: 15.0, 15 * MIN: 15.0, 30 * MIN: 14.0, 45 * MIN: 8.0}
    assert got[T0]["energy_kwh"] == pytest.approx(100.0 * 0.25)
    assert got[T0 + 30 * MIN]["energy_kwh"] == pytest.approx(100.0 * 14 / 60)
    assert got[T0 + 45 * MIN]["energy_kwh"] == pytest.approx(100.0 * 8 / 60)  # not 25
    hour = rollups(server.engine, "grid-main", P, "1h")[T0]
    assert hour["energy_kwh"] == pytest.approx(100.0 * (15 + 15 + 14 + 8) / 60)
    assert hour["covered_ms"] == (15 + 15 + 14 + 8) * MIN
    # the next samples shorten the newest one's span and fill the interval
    store(server.engine, _power(list(range(52, 60))))
    roll(server.engine, server.settings)
    assert rollups(server.engine, "grid-main", P, "15min")[T0 + 45 * MIN]["covered_ms"] == 15 * MIN


def test_late_power_sample_recomputes_the_neighbouring_intervals(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'n.db'}")
    store(server.engine, _power([0, 1, 2, 3, 4, 5, 6, 20, 21, 22]))
    roll(server.engine, server.settings)
    store(server.engine, _power([13, 14]))  # late: fills 00:06-00:15 and changes 00:15-00:30
    roll(server.engine, server.settings)
    before = all_rollups(server.engine)
    assert recompute_from_scratch(server.engine, server.settings) == before
    got = rollups(server.engine, "grid-main", P, "15min")
    # 00:00-00:08 (6 spans 2 min), 00:13-00:15; 00:15-00:16 (14 spans 2 min), 00:20-00:24
    assert got[T0]["covered_ms"] == 10 * MIN and got[T0 + QUARTER_MS]["covered_ms"] == 5 * MIN


def test_kpis_say_how_complete_they_are(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'k.db'}")
    minutes = list(range(0, 67))  # 00:00-01:06 UTC, every minute
    store(
        server.engine,
        _power(minutes, 100.0, "grid-main")
        + _power(minutes, 300.0, "wind-zhn")
        + _power(minutes, 400.0, "potline-zhn"),
    )
    roll(server.engine, server.settings)
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert park is not None
        primary = sum(
            1
            for m in park.meters
            if park.counts(m)
            and park.meter_role(m) in ("grid", "pv", "wind", "storage", "load", "flexible_load")
        )
        assert primary == 8
        local_day = date(2026, 11, 23)  # began at 2026-11-22T16:00Z
        # a finished day: 5 intervals of 3 meters out of 96 of 8
        past = park_kpis(session.connection(), park, "day", local_day, now_ms=T0 + 30 * HOUR_MS)
        assert past["completeness"] == pytest.approx(15 / (8 * 96))
        # the day in progress at 01:07 UTC: 8 h + 5 intervals have begun
        now = park_kpis(session.connection(), park, "day", local_day, now_ms=T0 + 67 * MIN)
        assert now["completeness"] == pytest.approx(15 / (8 * 37))
        assert now["meter_intervals"] == {"expected": 8 * 37, "with_data": 15}
        # the last interval (01:00-01:06, the newest sample standing for 2 min) counts 8 min
        covered_h = 1 + 8 / 60
        assert now["energy_kwh"]["wind"] == pytest.approx(300.0 * covered_h)
        assert now["energy_kwh"]["grid_import"] == pytest.approx(100.0 * covered_h)
        assert now["consumption_kwh"] == pytest.approx(400.0 * covered_h)
        # a day that has not begun expects nothing
        future = park_kpis(session.connection(), park, "day", date(2026, 11, 24), now_ms=T0)
        assert future["completeness"] is None


def test_gets_read_what_is_there_and_never_write(database_url: str) -> None:
    server = make_server(database_url)
    store(server.engine, _power(list(range(15))))
    dirty = count(server.engine, "rollup_dirty")
    assert dirty > 0
    params = {
        "meter": "grid-main",
        "quantity": P,
        "start": format_ts(T0),
        "end": format_ts(T0 + HOUR_MS),
        "resolution": "15min",
    }
    with server.client() as client:
        admin = server.token(client, "ada")
        url = "/api/v1/parks/huolingol/measurements"
        assert client.get(url, params=params, headers=admin).json()["points"] == []
        for period in ("day", "month"):
            r = client.get(
                "/api/v1/parks/huolingol/kpis",
                params={"period": period, "date": "2026-11-23"},
                headers=admin,
            )
            assert r.status_code == 200 and r.json()["consumption_kwh"] == 0.0
        assert count(server.engine, "rollup") == 0
        assert count(server.engine, "rollup_dirty") == dirty
        roll(server.engine, server.settings)  # the job, every 30 s, brings them up to date
        pts = client.get(url, params=params, headers=admin).json()["points"]
    assert count(server.engine, "rollup_dirty") == 0
    assert pts == [{"ts": format_ts(T0), "value": 100.0}]
    assert math.isfinite(pts[0]["value"])
