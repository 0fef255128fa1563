"""The synthetic carbon month end to end: telemetry through the real ingest path, rolled up by the
rollup job, instruments, budgets, inputs and offsets entered through the API, then
``GET /carbon?period=month`` against the hand answers (tests/support/zctest_carbon.py), on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import zctest_carbon as synth
from fastapi.testclient import TestClient
from zctest_carbon_park import (
    AFTER_NOVEMBER,
    alu_profile_body,
    carbon_server,
    csv_upload,
    profiled_trade_row,
)
from zctest_clock import FakeClock

from park_server.db.engine import Session
from park_server.db.plans import store_plan

REL = 1e-9
URL = "/api/v1/parks/synthpark"


def _get(d: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        d = d[part]
    return d


def _close(got: Any, want: float) -> bool:
    return got is not None and abs(got - want) <= REL * max(1.0, abs(want))


def enter_month(client: TestClient, h: dict[str, str]) -> None:
    """Everything a manager enters for the synthetic month, through the API."""
    r = client.post(
        f"{URL}/certificates", content=csv_upload(), headers={**h, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["rejected"] == []
    r = client.post(f"{URL}/certificates", json=[profiled_trade_row()], headers=h)
    assert r.status_code == 200, r.text
    (trade_id,) = r.json()["ids"]
    r = client.post(f"{URL}/trades/{trade_id}/profile", json=alu_profile_body(), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["intervals"] == 30 * 24 and r.json()["kwh"] == pytest.approx(72_000.0)
    r = client.put(
        f"{URL}/inputs/2026-11",
        json={
            "entries": [
                {
                    "enterprise": "alu",
                    "production_t": 220.0,
                    "output_10k_yuan": 1800.0,
                    "fuels": {"diesel_t": 2.0},
                },
                {
                    "enterprise": "bat",
                    "output_10k_yuan": 500.0,
                    "fuels": {"natural_gas_m3": 10000.0, "purchased_heat_gj": 100.0},
                },
            ],
            "guide": {
                "solid_waste_utilisation": 0.85,
                "waste_heat_utilisation": 0.4,
                "water_reuse": 0.9,
            },
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    # the year before November, accounted outside zcpark (its meters ran from November on)
    before = synth.YEAR_BEFORE[None]
    r = client.put(
        f"{URL}/inputs/2026-10",
        json={
            "entries": [
                {
                    "enterprise": None,
                    "production_t": before.production_t,
                    "output_10k_yuan": before.output_10k_yuan,
                    "recorded_carbon_t": before.carbon_t,
                    "recorded_energy_tce": before.energy_tce,
                }
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    (december,) = synth.LAST_YEAR[None]
    r = client.put(
        f"{URL}/inputs/{december.month}",
        json={
            "entries": [
                {
                    "enterprise": None,
                    "recorded_carbon_t": december.carbon_t,
                    "recorded_energy_tce": december.energy_tce,
                }
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = client.put(
        f"{URL}/budgets/2026",
        json={
            "budgets": [
                {
                    "enterprise": b.enterprise,
                    "carbon_t": b.carbon_t,
                    "energy_tce": b.energy_tce,
                    "t_co2_per_t_product": b.t_co2_per_t_product,
                }
                for b in synth.BUDGETS
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{URL}/offsets", json=[o.model_dump() for o in synth.OFFSETS], headers=h)
    assert r.status_code == 200, r.text


def store_the_plan(engine: Any) -> None:
    """One day-ahead plan of the month and its rule-based baseline, as the dispatcher stores it."""
    (plan,) = synth.PLANS
    start = int(synth.PERIOD.start.value // 1_000_000) + 16 * 3600_000
    with Session(engine) as session:
        store_plan(
            session,
            park_id="synthpark",
            kind="day_ahead",
            created_ms=start - 3600_000,
            start_ms=start,
            end_ms=start + 24 * 3600_000,
            plan={
                "status": "optimal",
                "kpis": plan.kpis.model_dump(),
                "baseline_kpis": plan.baseline_kpis.model_dump(),
            },
        )


def test_synthetic_month_through_the_api(
    database_url: str, tmp_path: Path, server_clock: FakeClock
) -> None:
    server_clock.t = AFTER_NOVEMBER.timestamp()
    cs = carbon_server(database_url, tmp_path)
    store_the_plan(cs.server.engine)
    with cs.server.client() as client:
        manager = cs.server.token(client, "cara")
        enter_month(client, manager)
        viewer = cs.server.token(client, "vera")
        answers = {}
        for enterprise in (None, "alu", "bat"):
            params = {"period": "month", "date": "2026-11-15"}
            if enterprise:
                params["enterprise"] = enterprise
            r = client.get(f"{URL}/carbon", params=params, headers=viewer)
            assert r.status_code == 200, r.text
            answers[enterprise] = r.json()

    park = answers[None]
    assert (park["park"], park["enterprise"], park["period"], park["label"]) == (
        "synthpark",
        None,
        "month",
        "2026-11",
    )
    wrong = {k: (_get(park, k), v) for k, v in synth.HAND.items() if not _close(_get(park, k), v)}
    assert not wrong
    assert {k: _get(park, k) for k in synth.HAND_FLAGS} == synth.HAND_FLAGS
    for name, hand in (("alu", synth.HAND_ALU), ("bat", synth.HAND_BAT)):
        got = answers[name]
        assert got["enterprise"] == name
        wrong = {k: (_get(got, k), v) for k, v in hand.items() if not _close(_get(got, k), v)}
        assert not wrong, name
    assert answers["alu"]["budget"]["projection_basis"] == "this_year"
    # the enterprises add up to the park (on-site green shared pro rata, nothing unassigned)
    for key in ("consumption", "grid_import", "pv", "wind", "storage_charge"):
        total = answers["alu"]["energy_kwh"][key] + answers["bat"]["energy_kwh"][key]
        assert total == pytest.approx(park["energy_kwh"][key], rel=REL)
