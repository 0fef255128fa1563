"""The carbon query layer on a small park: meter roles (direct green supply), signs applied once,
counters where a meter sends no power, the electricity method's default, and gaps left as gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from zctest_clock import FakeClock
from zctest_server import make_server

from park_server.db import crud
from park_server.db.crud import load_park_meters
from park_server.ingest.batches import ingest_batch
from park_server.jobs.rollup import rollup_job
from park_server.state import ServerState
from park_server.timeseries.carbon import carbon_answer, carbon_inputs, carbon_settings
from park_server.timeutil import QUARTER_MS, format_ts

PARK = """\
id: tinypark
name: Tiny park
location: {lat: 40.8, lon: 111.7}
grid: {id: grid, import_limit_kw: 20000}
tariff: mengxi-large-industry
emission_factor: {region: inner_mongolia, year: 2022%s}
enterprises:
  - {id: plant, name: Plant, meters: [load-1]}
assets:
  - {id: dg-1, kind: direct_green, plant: Ulanqab wind farm, capacity_kw: 5000}
  - {id: load-1, kind: load, nominal_kw: 5000}
meters:
  - {id: grid-main, asset: grid, profile: janitza-umg604, sign: -1}
  - {id: dg-1, asset: dg-1, profile: janitza-umg604}
  - {id: load-1, asset: load-1, profile: chint-dtsu666}
"""
#: 00:00 on 1 November 2026 in Asia/Shanghai [ms]
START = int(datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp() * 1000)


def _server(url: str, tmp: Path, method: str = "") -> object:
    server = make_server(url)
    path = tmp / "tinypark.yaml"
    path.write_text(PARK % method, encoding="utf-8")
    with Session(server.engine) as session:
        crud.sync_park_files(session, paths=[path])
        crud.create_gateway(session, park_id="tinypark", gateway_id="gw-tiny")
    return server


def _ingest(server: object, samples: list[dict[str, object]]) -> None:
    engine = server.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        body = {"v": 1, "park": "tinypark", "gateway": "gw-tiny", "batch": 1, "samples": samples}
        res = ingest_batch(
            session, body, park=load_park_meters(session, "tinypark"), gateway_id="gw-tiny"
        )
        assert res.accepted == len(samples), res.rejected[:3]
    rollup_job(ServerState(server.settings, engine))  # type: ignore[attr-defined]


def test_direct_green_signs_counters_and_gaps(
    database_url: str, tmp_path: Path, server_clock: FakeClock
) -> None:
    server_clock.t = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
    server = _server(database_url, tmp_path)
    samples: list[dict[str, object]] = []
    counter = 5000.0
    for i in range(8):  # the first two hours of 1 November
        t = START + i * QUARTER_MS
        # the grid meter is installed the other way round: it reads −import
        samples.append(
            {
                "ts": format_ts(t),
                "meter": "grid-main",
                "quantity": "active_power_kw",
                "value": -2000.0,
            }
        )
        if i != 5:  # one interval of the direct line is missing: a gap, not a zero
            samples.append(
                {
                    "ts": format_ts(t),
                    "meter": "dg-1",
                    "quantity": "active_power_kw",
                    "value": 1000.0,
                }
            )
        counter += 750.0  # the load meter sends only its import counter
        samples.append(
            {
                "ts": format_ts(t + 14 * 60_000),
                "meter": "load-1",
                "quantity": "energy_import_kwh",
                "value": counter,
            }
        )
    samples.append(
        {
            "ts": format_ts(START - 60_000),
            "meter": "load-1",
            "quantity": "energy_import_kwh",
            "value": 5000.0,
        }
    )
    _ingest(server, samples)
    with Session(server.engine) as session:  # type: ignore[attr-defined]
        park = crud.park_config(session, park_id="tinypark")
        assert park is not None
        inp = carbon_inputs(session, park, "day", date(2026, 11, 1))
        roles = {m.id: m.role for m in inp.meters}
        assert roles == {"grid-main": "grid", "dg-1": "direct_green", "load-1": "load"}
        kwh = inp.intervals.set_index(["meter", "ts"])["kwh"]
        assert kwh.xs("grid-main").tolist() == [500.0] * 8  # + import, the sign applied once
        assert kwh.xs("dg-1").tolist() == [250.0] * 7
        assert kwh.xs("load-1").tolist() == [750.0] * 8
        ans = carbon_answer(session, park, "day", date(2026, 11, 1))
    e = ans["energy_kwh"]
    # seven complete intervals: 250 direct green + 500 import = 750 consumed in each
    assert (e["direct_green"], e["grid_import"], e["consumption"]) == (1750.0, 3500.0, 5250.0)
    assert ans["green"]["time_matched_share"] == pytest.approx(1750.0 / 5250.0, rel=1e-12)
    assert ans["completeness"] == pytest.approx((3 * 8 - 1) / (3 * 96), rel=1e-12)
    assert ans["curtailment_basis"] == "none" and e["curtailed"] is None


def test_electricity_method_default(database_url: str, tmp_path: Path) -> None:
    server = _server(database_url, tmp_path)
    engine = server.engine  # type: ignore[attr-defined]
    for method, expected in (("", "market"), (", method: location", "location")):
        path = tmp_path / "tinypark.yaml"
        path.write_text(PARK % method, encoding="utf-8")
        with Session(engine) as session:
            crud.sync_park_files(session, paths=[path])
            park = crud.park_config(session, park_id="tinypark")
            assert park is not None
            assert carbon_settings(park).electricity_method == expected


def test_planned_curtailment_and_reductions_from_day_ahead_plans(
    database_url: str, tmp_path: Path, server_clock: FakeClock
) -> None:
    """Without available power, curtailment is the day-ahead plans' (labelled planned), the
    newest plan's where two overlap; each plan's uplift over its baseline counts once."""
    from park_server.db.plans import store_plan

    server_clock.t = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
    server = _server(database_url, tmp_path)
    engine = server.engine  # type: ignore[attr-defined]
    samples = [
        {
            "ts": format_ts(START + i * QUARTER_MS),
            "meter": m,
            "quantity": "active_power_kw",
            "value": v,
        }
        for i in range(4)
        for m, v in (("grid-main", -2000.0), ("dg-1", 1000.0), ("load-1", 3000.0))
    ]
    _ingest(server, samples)

    def plan(co2_kg: float, curtailed_kw: list[float]) -> dict[str, object]:
        return {
            "status": "optimal",
            "kpis": {"co2_kg": co2_kg},
            "baseline_kpis": {"co2_kg": 1000.0},
            "series": {
                "renewables": {"dg-1": {"used_kw": [0.0] * 4, "curtailed_kw": curtailed_kw}}
            },
        }

    with Session(engine) as session:
        # an older plan for the first hour, then a newer one from its second quarter on
        store_plan(
            session,
            park_id="tinypark",
            kind="day_ahead",
            created_ms=START - 7200_000,
            start_ms=START,
            end_ms=START + 4 * QUARTER_MS,
            plan=plan(900.0, [400.0] * 4),
        )
        store_plan(
            session,
            park_id="tinypark",
            kind="day_ahead",
            created_ms=START - 3600_000,
            start_ms=START + QUARTER_MS,
            end_ms=START + 5 * QUARTER_MS,
            plan=plan(700.0, [40.0] * 4),
        )
        park = crud.park_config(session, park_id="tinypark")
        assert park is not None
        ans = carbon_answer(session, park, "day", date(2026, 11, 1))
    assert ans["curtailment_basis"] == "planned"
    # 400 kW in the first quarter, then 40 kW (the newer plan) in the three other measured ones:
    # an interval without data counts no flow, planned curtailment included
    assert ans["energy_kwh"]["curtailed"] == pytest.approx(400 * 0.25 + 3 * 40 * 0.25, rel=1e-12)
    assert ans["reductions_t"]["dispatch_uplift"] == pytest.approx(
        (100.0 + 300.0) / 1000, rel=1e-12
    )
