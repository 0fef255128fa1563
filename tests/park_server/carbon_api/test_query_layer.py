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


def _november(first: int, count: int) -> list[dict[str, object]]:
    """Quarters ``first`` … of 1 November: 2,000 kW imported, 1,000 kW direct green, 3,000 kW of
    load (power only)."""
    return [
        {
            "ts": format_ts(START + i * QUARTER_MS),
            "meter": m,
            "quantity": "active_power_kw",
            "value": v,
        }
        for i in range(first, first + count)
        for m, v in (("grid-main", -2000.0), ("dg-1", 1000.0), ("load-1", 3000.0))
    ]


def test_closed_months_are_cached_until_their_inputs_change(
    database_url: str, tmp_path: Path, server_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """December's answer needs the year's earlier months: a closed month is read once, and read
    again after a late sample, a monthly entry or a certificate changes it — each answer equal
    to one computed with the cache emptied."""
    import park_server.timeseries.carbon as carbon_module
    from park_server.carbon import Certificate, Fuels, MonthlyInputs
    from park_server.carbon.instruments import SerialRange
    from park_server.db import carbon_crud
    from park_server.timeseries import carbon_cache

    server_clock.t = datetime(2026, 12, 2, 3, tzinfo=UTC).timestamp()
    server = _server(database_url, tmp_path)
    engine = server.engine  # type: ignore[attr-defined]
    _ingest(server, _november(0, 4))
    reads: list[tuple[int, int]] = []
    original = carbon_module.interval_energy

    def counted(session: Session, park_id: str, meters: object, start: int, end: int) -> object:
        if meters:
            reads.append((start, end))
        return original(session, park_id, meters, start, end)  # type: ignore[arg-type]

    monkeypatch.setattr(carbon_module, "interval_energy", counted)

    def year_before() -> tuple[float, float, float]:
        with Session(engine) as session:
            park = crud.park_config(session, park_id="tinypark")
            assert park is not None
            yb = carbon_inputs(session, park, "month", date(2026, 12, 2)).year_before[None]
        return yb.carbon_t, yb.energy_tce, yb.production_t

    def uncached() -> tuple[float, float, float]:
        carbon_cache._stores.clear()
        return year_before()

    first = year_before()
    assert first[0] > 0 and first[1] > 0
    november = int(datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp() * 1000)
    assert (november, november + 30 * 86_400_000) in reads
    reads.clear()
    assert year_before() == first  # from the cache: only December itself is read
    assert all(start >= november + 30 * 86_400_000 for start, _ in reads)

    # a late sample for November: the rollup refresh renews the park's token
    _ingest(server, _november(4, 2))
    reads.clear()
    late = year_before()
    assert late[1] == pytest.approx(first[1] * 6 / 4, rel=1e-12)
    assert any(start == november for start, _ in reads)
    assert late == uncached()

    # a monthly entry (production) and a certificate for November change it again
    with Session(engine) as session:
        carbon_crud.put_month(
            session,
            park_id="tinypark",
            month="2026-11",
            entries=[
                (MonthlyInputs(month="2026-11", production_t=12.5, fuels=Fuels()), None, None)
            ],
            guide_entry=None,
            by="test",
        )
    entered = year_before()
    # 12.5 t of aluminium bring their anode's process CO2; the electricity is the same
    assert entered[2] == 12.5 and entered[0] > late[0] and entered[1] == late[1]
    assert entered == uncached()
    with Session(engine) as session:
        carbon_crud.add_instruments(
            session,
            park_id="tinypark",
            items=[
                Certificate(
                    "plant", SerialRange("GEC", 1, 2, 6), 2.0, "wind", "W", "2026-11", "2026-11"
                )
            ],
            by="test",
        )
    certified = year_before()
    assert certified[0] < entered[0]  # market-based: 2 of the 3 MWh imported are certified
    assert certified == uncached()


def test_region_totals_add_the_parks_answers(
    database_url: str, tmp_path: Path, server_clock: FakeClock
) -> None:
    """GET /region/carbon: per league and for the region, the sums of the parks' own §10 answers
    and the ratios of those sums; a viewer's region holds only the parks they may read."""
    server_clock.t = datetime(2026, 12, 2, 3, tzinfo=UTC).timestamp()
    server = _server(database_url, tmp_path)
    _ingest(server, _november(0, 8))
    params = {"period": "month", "date": "2026-11-15"}
    with server.client() as client:  # type: ignore[attr-defined]
        admin = server.token(client, "ada")  # type: ignore[attr-defined]
        region = client.get("/api/v1/region/carbon", params=params, headers=admin).json()
        parks = client.get("/api/v1/parks", headers=admin).json()
        answers = {
            p["id"]: client.get(
                f"/api/v1/parks/{p['id']}/carbon", params=params, headers=admin
            ).json()
            for p in parks
        }
        viewer = server.token(client, "vic")  # type: ignore[attr-defined]
        own = client.get("/api/v1/region/carbon", params=params, headers=viewer).json()
        bad = client.get("/api/v1/region/carbon", params={"date": "2031-01-01"}, headers=admin)
    total = region["region"]
    assert sorted(total["parks"]) == sorted(answers) and region["left_out"] == []
    consumption = sum(a["energy_kwh"]["consumption"] for a in answers.values())
    assert consumption == 8 * 750.0  # tinypark's eight quarters; the shipped parks have no data
    assert total["energy_kwh"]["consumption"] == pytest.approx(consumption, rel=1e-12)
    matched = sum(a["energy_kwh"]["green_consumed_time_matched"] for a in answers.values())
    assert total["green"]["time_matched_share"] == pytest.approx(matched / consumption, rel=1e-12)
    market = sum(a["emissions_t"]["total_market"] for a in answers.values())
    tce = sum(a["energy_tce"]["total"] for a in answers.values())
    assert total["intensity_t_per_tce"]["market"] == pytest.approx(market / tce, rel=1e-12)
    leagues = {g["league"]: sorted(g["parks"]) for g in region["leagues"]}
    assert leagues["Baotou"] == ["baotou_aluminum", "damao"] and leagues[""] == ["tinypark"]
    assert own["region"]["parks"] == ["huolingol"]
    assert bad.status_code == 200 and bad.json()["region"]["parks"] == []
    assert {x["park"] for x in bad.json()["left_out"]} == set(answers)


def test_region_totals_by_hand() -> None:
    """Two parks' answers added up: sums, and ratios of the sums (not means of the ratios)."""
    from park_server.carbon.region import region_totals

    def answer(park: str, kwh: float, vol: float, matched: float, loc: float, mkt: float,
               tce: float, budget: float | None, used: float, offsets: float) -> dict[str, object]:  # fmt: skip
        return {
            "park": park,
            "completeness": 0.5 if park == "a" else 1.0,
            "energy_kwh": {
                "consumption": kwh,
                "pv": 0.0,
                "wind": 0.0,
                "direct_green": 0.0,
                "grid_import": kwh,
                "grid_export": 0.0,
                "curtailed": None,
                "green_consumed_time_matched": matched,
            },
            "green": {"volumetric_share": vol},
            "emissions_t": {"total_location": loc, "total_market": mkt, "offsets_held": offsets},
            "energy_tce": {"total": tce},
            "budget": {
                "carbon_t": budget,
                "used_t": used,
                "projected_t": used * 12,
                "energy_tce": None,
                "energy_used_tce": tce,
                "energy_projected_tce": None,
            },
        }

    t = region_totals(
        [
            answer("a", 100.0, 0.5, 30.0, 10.0, 12.0, 5.0, 100.0, 10.0, 1.0),
            answer("b", 300.0, 0.2, 60.0, 20.0, 18.0, 15.0, None, 25.0, 0.0),
        ]
    )
    assert t["energy_kwh"]["consumption"] == 400.0 and t["energy_kwh"]["curtailed"] is None
    assert t["green"]["volumetric_share"] == pytest.approx((50.0 + 60.0) / 400.0, rel=1e-12)
    assert t["green"]["time_matched_share"] == pytest.approx(90.0 / 400.0, rel=1e-12)
    assert t["emissions_t"] == {"total_location": 30.0, "total_market": 30.0}
    assert t["intensity_t_per_tce"]["market"] == pytest.approx(30.0 / 20.0, rel=1e-12)
    b = t["budget"]  # only park a has a carbon budget: its figures alone
    assert (b["parks_with_carbon_budget"], b["carbon_t"], b["used_t"], b["projected_t"]) == (
        1, 100.0, 10.0, 120.0
    )  # fmt: skip
    assert b["parks_with_energy_budget"] == 0 and b["energy_tce"] is None
    assert t["offsets_held_t"] == 1.0 and t["completeness_min"] == 0.5
    assert t["parks_with_data"] == 2
    assert t["parks_with_curtailment"] == 0
    # a budgeted park without a projection: no regional projection (a partial sum would pass
    # for the whole), the budgets and use still added
    c = answer("c", 10.0, 0.0, 0.0, 1.0, 1.0, 1.0, 50.0, 5.0, 0.0)
    c["budget"]["projected_t"] = None  # type: ignore[index]
    two = region_totals([answer("a", 100.0, 0.5, 30.0, 10.0, 12.0, 5.0, 100.0, 10.0, 1.0), c])
    assert (two["budget"]["carbon_t"], two["budget"]["used_t"]) == (150.0, 15.0)
    assert two["budget"]["projected_t"] is None
    # by league, one period only: an answer of another month is named, not added
    from park_server.carbon.region import by_league

    a, b = answer("a", 100.0, 0.5, 30.0, 10.0, 12.0, 5.0, 100.0, 10.0, 1.0), c
    a["label"], b["label"] = "2026-11", "2026-12"
    leagues, region = by_league([("Baotou", a), ("", b)])
    assert [name for name, _ in leagues] == ["Baotou"] and region["parks"] == ["a"]
    assert region["label"] == "2026-11"
    assert region["other_period"] == [{"park": "c", "label": "2026-12"}]


def test_a_refresh_in_a_months_last_hour_renews_the_token(
    database_url: str, tmp_path: Path, server_clock: FakeClock
) -> None:
    """At 23:30 on 30 November a refresh rewrites November's quarters: a reader may deem November
    closed a moment later (or on a host whose clock is ahead), so the token is renewed already;
    earlier in the month it is not."""
    from park_server.timeseries import carbon_cache

    server = _server(database_url, tmp_path)
    engine = server.engine  # type: ignore[attr-defined]
    server_clock.t = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()  # 20:00 local
    _ingest(server, _november(0, 2))  # 1 November, a month-old rewrite within the month
    with Session(engine) as session:
        assert carbon_cache.token(session, "tinypark") is None
    server_clock.t = datetime(2026, 11, 30, 15, 30, tzinfo=UTC).timestamp()  # 23:30 local
    _ingest(server, _november(2, 2))
    with Session(engine) as session:
        assert carbon_cache.token(session, "tinypark") is not None
