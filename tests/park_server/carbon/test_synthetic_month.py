"""The synthetic month of tests/support/zctest_carbon.py against its hand-worked answers."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import zctest_carbon as z

from config import load_factors
from park_server.carbon import (
    UNASSIGNED,
    MonthTotals,
    Totals,
    budget_alarms,
    carbon_figures,
    carbon_response,
    response_dict,
)

REL = 1e-9

#: DESIGN.md §10, key for key
SECTION_10 = {
    "park", "enterprise", "period", "label", "completeness", "energy_kwh", "curtailment_basis",
    "green", "emissions_t", "energy_tce", "indicators", "intensity", "budget", "factors",
}  # fmt: skip
SECTION_10_SUB = {
    "energy_kwh": {
        "consumption", "pv", "wind", "direct_green", "grid_import", "grid_export",
        "storage_charge", "storage_discharge", "green_consumed_time_matched", "curtailed",
    },
    "green": {
        "volumetric_share", "time_matched_share", "certificates_kwh", "trades_kwh",
        "target_share", "meets_target",
    },
    "emissions_t": {
        "scope1_fuel", "scope2_location", "scope2_market", "process_anode", "process_pfc_co2e",
        "total_location", "total_market", "offsets_held",
    },
    "energy_tce": {"total", "counted_for_control"},
    "indicators": {
        "core_t_per_tce", "core_threshold_t_per_tce", "core_pass", "clean_energy_share",
        "clean_energy_pass",
    },
    "intensity": {
        "t_co2_per_t_product_direct", "t_co2_per_t_product_indirect_location",
        "t_co2_per_t_product_indirect_market", "t_co2_per_10k_yuan",
    },
    "budget": {
        "carbon_t", "used_t", "projected_t", "projection_basis", "energy_tce",
        "energy_used_tce", "energy_projected_tce",
    },
}  # fmt: skip


def _get(d: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        d = d[part]
    return d


@pytest.fixture(scope="module")
def factors() -> Any:
    return load_factors()


@pytest.fixture(scope="module")
def park(factors: Any) -> dict[str, Any]:
    return carbon_response(z.inputs(), factors)


@pytest.mark.parametrize("key", sorted(z.HAND))
def test_park_figure_equals_hand_answer(park: dict[str, Any], key: str) -> None:
    assert _get(park, key) == pytest.approx(z.HAND[key], rel=REL, abs=1e-12)


@pytest.mark.parametrize("key", sorted(z.HAND_FLAGS))
def test_park_labels_and_verdicts(park: dict[str, Any], key: str) -> None:
    assert _get(park, key) == z.HAND_FLAGS[key]


@pytest.mark.parametrize(("enterprise", "hand"), [("alu", z.HAND_ALU), ("bat", z.HAND_BAT)])
def test_enterprise_figures_equal_hand_answers(
    factors: Any, enterprise: str, hand: dict[str, float]
) -> None:
    r = carbon_response(z.inputs(), factors, enterprise=enterprise)
    assert r["enterprise"] == enterprise
    for key, want in hand.items():
        assert _get(r, key) == pytest.approx(want, rel=REL, abs=1e-12), key


def test_response_has_every_section_10_key(park: dict[str, Any]) -> None:
    assert set(park) >= SECTION_10
    for block, keys in SECTION_10_SUB.items():
        assert set(park[block]) >= keys, block
    assert (park["park"], park["enterprise"], park["period"], park["label"]) == (
        "synthpark", None, "month", "2026-11",
    )  # fmt: skip
    grid = next(f for f in park["factors"] if f["name"] == "grid_location")
    assert grid == {
        "name": "grid_location",
        "value": 0.6849,
        "unit": "tCO2/MWh",
        "source": grid["source"],
        "confidence": "H",
    }
    assert all(set(f) == {"name", "value", "unit", "source", "confidence"} for f in park["factors"])


def test_time_matched_never_above_volumetric(park: dict[str, Any]) -> None:
    assert park["green"]["time_matched_share"] <= park["green"]["volumetric_share"]


def test_enterprises_add_up_to_the_park(factors: Any) -> None:
    fig = carbon_figures(z.inputs(), factors)
    total = sum(fig.balance.enterprises.values())
    pd.testing.assert_frame_equal(total, fig.balance.park, rtol=1e-12)
    # every load meter has an owner: nothing is left unassigned
    assert fig.balance.enterprises[UNASSIGNED].fillna(0).abs().to_numpy().max() == 0


def test_check_meter_is_not_summed(factors: Any) -> None:
    data = z.intervals()
    data.loc[data["meter"] == "grid-check", "kwh"] = 1e9
    r = carbon_response(z.inputs(intervals=data), factors)
    assert r["energy_kwh"]["grid_import"] == pytest.approx(
        z.HAND["energy_kwh.grid_import"], rel=REL
    )


def test_gap_intervals_are_excluded_not_zero(factors: Any) -> None:
    fig = carbon_figures(z.inputs(), factors)
    incomplete = fig.balance.park[~fig.balance.complete]
    assert len(incomplete) == z.N  # day 20, 06:00-12:00 local
    assert incomplete.isna().all().all()
    local = incomplete.index.tz_convert(z.TZ)
    assert set(local.day) == {z.GAP_DAY} and set(local.hour) == {6, 7, 8, 9, 10, 11}


def test_storage_keeps_green_and_ends_empty(factors: Any) -> None:
    fig = carbon_figures(z.inputs(), factors)
    park = fig.balance.park
    # every discharge came from a noon charge out of green surplus: all green
    assert park["green_discharge"].sum() == pytest.approx(z.HAND["energy_kwh.storage_discharge"])
    assert fig.balance.storage_end.stored_kwh == pytest.approx(0.0, abs=1e-6)


def test_projection_at_this_years_rate_without_history(factors: Any) -> None:
    # no December of last year: December at the year-to-date daily rate, 334 days elapsed
    r = carbon_response(z.inputs(last_year={}), factors)
    ytd = z.HAND["budget.used_t"]
    assert r["budget"]["projected_t"] == pytest.approx(ytd + ytd / 334 * 31, rel=REL)
    assert r["budget"]["projection_basis"] == "this_year"
    # an incomplete month of last year is not used as a rate either
    partial = {None: (MonthTotals(month="2025-12", carbon_t=1.0, energy_tce=1.0, complete=False),)}
    r = carbon_response(z.inputs(last_year=partial), factors)
    assert r["budget"]["projection_basis"] == "this_year"


def test_intensity_alarm_names_target_and_excess(factors: Any) -> None:
    fig = carbon_figures(z.inputs(), factors)
    alarms = budget_alarms(fig.park.dual_control, "synthpark")
    # carbon 9469.6 t projected < 12000 t and energy 5399.7 tce < 6000 tce: no budget alarm;
    # year-to-date intensity (8000 + Nov CO2) / (2200 + 220) t > the 3.0 t/t target
    assert [a.kind for a in alarms] == ["intensity_per_t_product"]
    value = z.HAND["budget.used_t"] / (2200.0 + 220.0)
    assert alarms[0].value == pytest.approx(value, rel=REL)
    assert alarms[0].excess == pytest.approx(value - 3.0, rel=REL)
    assert "intensity per t product" in alarms[0].message and "over" in alarms[0].message


def test_budget_alarm_when_projection_passes(factors: Any) -> None:
    high = {None: Totals(carbon_t=11500.0, energy_tce=4500.0, production_t=1e6)}
    fig = carbon_figures(z.inputs(year_before=high), factors)
    alarms = budget_alarms(fig.park.dual_control, "synthpark")
    assert [a.kind for a in alarms] == ["carbon_budget"]
    projected = 11500.0 + (z.HAND["budget.used_t"] - 8000.0) + 800.0
    assert alarms[0].value == pytest.approx(projected, rel=REL)
    assert alarms[0].excess == pytest.approx(projected - 12000.0, rel=REL)


def test_offsets_listed_apart_not_in_core(park: dict[str, Any]) -> None:
    assert park["offsets"] == [
        {"kind": "ccer", "project": "Alxa sand-control forest", "vintage": 2025,
         "t_co2e": 100.0, "enterprise": None},
    ]  # fmt: skip
    assert park["emissions_t"]["total_market"] == pytest.approx(
        z.HAND["emissions_t.total_market"], rel=REL
    )
    assert park["indicators"]["core_t_per_tce"] == pytest.approx(
        z.HAND["indicators.core_t_per_tce"], rel=REL
    )


def test_guide_indicators_pass_and_fail(park: dict[str, Any]) -> None:
    ind = park["indicators"]
    assert (ind["solid_waste_utilisation"], ind["solid_waste_pass"]) == (0.85, True)
    assert (ind["waste_heat_utilisation"], ind["waste_heat_pass"]) == (0.4, False)
    assert (ind["water_reuse"], ind["water_reuse_pass"]) == (0.9, True)
    assert ind["core_regional_band_t_per_tce"] == [0.4, 0.6]
    assert ind["core_regional_pass"] is False  # 1.52 > 0.6


def test_day_period_prorates_monthly_entries(factors: Any) -> None:
    from datetime import date

    from park_server.carbon import period_of

    day = period_of("day", date(2026, 11, 3), z.TZ)
    r = response_dict(carbon_figures(z.inputs(period=day), factors))
    # an ordinary day: consumption 96 × 1200; diesel and gas 1/30 of the month's
    assert r["energy_kwh"]["consumption"] == pytest.approx(96 * 1200.0, rel=REL)
    assert r["completeness"] == 1.0
    assert r["emissions_t"]["scope1_fuel"] == pytest.approx(
        (2.0 * 3.0959 + 10000.0 / 1e4 * 21.6502) / 30, rel=REL
    )
    assert r["green"]["certificates_kwh"] == pytest.approx(550_000 / 30, rel=REL)
    # the alu trade's profile on that day: 24 intervals of 100 kWh; bat's 20 MWh pro rata
    assert r["green"]["trades_kwh"] == pytest.approx(24 * 100 + 20_000 / 30, rel=REL)


def test_response_is_plain_json(factors: Any) -> None:
    import json

    for enterprise in (None, "alu", "bat"):
        r = carbon_response(z.inputs(), factors, enterprise=enterprise)
        assert json.loads(json.dumps(r, allow_nan=False)) == r


def test_a_running_month_expects_intervals_only_up_to_now(factors: Any) -> None:
    # at 2026-11-11 00:00 local the ten first days are all there is, and all of it arrived
    now = pd.Timestamp("2026-11-11", tz=z.TZ)
    data = z.intervals()
    r = carbon_response(z.inputs(intervals=data[data["ts"] < now], as_of=now), factors)
    assert r["completeness"] == 1.0
    assert r["energy_kwh"]["consumption"] == pytest.approx(10 * 96 * 1200.0, rel=REL)
    # ytd 8000 + 10 days; the rest of November (20 days) and December at this year's rate
    # for November (no November last year), last December's for December
    ten_days = r["budget"]["used_t"] - 8000.0
    elapsed = 304 + 10
    want = 8000.0 + ten_days + 20 * (8000.0 + ten_days) / elapsed + 800.0
    assert r["budget"]["projected_t"] == pytest.approx(want, rel=REL)
    assert r["budget"]["projection_basis"] == "last_year+this_year"


def test_each_emission_line_carries_its_factors(park: dict[str, Any]) -> None:
    lines = {x["name"]: x for x in park["emission_lines"]}
    assert set(lines) == {"coal", "natural_gas", "diesel", "purchased_heat", "electricity_location",
                          "electricity_market", "anode", "pfc"}  # fmt: skip
    diesel = lines["diesel"]
    assert (diesel["quantity"], diesel["quantity_unit"]) == (2.0, "t")
    assert diesel["t"] == pytest.approx(2.0 * 3.0959, rel=REL)
    assert [(f["name"], f["value"], f["unit"], f["confidence"]) for f in diesel["factors"]] == [
        ("diesel_tco2_per_t", 3.0959, "tCO2/t", "M")
    ]
    assert all(f["source"] for x in lines.values() for f in x["factors"])
    market = lines["electricity_market"]
    # the residual after certificates and trades, in kWh
    assert market["quantity"] == pytest.approx(z.HAND["energy_kwh.grid_import"] - 550_000 - 92_000)
    assert sum(x["t"] for x in lines.values() if x["name"] != "electricity_location") == (
        pytest.approx(z.HAND["emissions_t.total_market"], rel=REL)
    )


def test_green_by_day(factors: Any) -> None:
    from park_server.carbon import green_by_day

    days = dict(green_by_day(carbon_figures(z.inputs(), factors)))
    assert len(days) == 30
    ordinary, gap = days["2026-11-03"], days["2026-11-20"]
    # an ordinary day: G = 24 × (400 + 1000 + 1200 + 580.5), M = 24 × 100, consumption 96 × 1200
    assert ordinary.time_matched_share == pytest.approx(
        (24 * (400 + 1000 + 1200 + 580.5) + 2400) / (96 * 1200), rel=REL
    )
    # certificates 550 MWh / 30 and the unprofiled 20 MWh / 30 a day, the alu profile 2400 kWh
    assert ordinary.volumetric_share == pytest.approx(
        min(1.0, (24 * 3180.5 + 550_000 / 30 + 20_000 / 30 + 2400) / (96 * 1200)), rel=REL
    )
    # the gap day counts 72 intervals
    assert gap.consumption_kwh == pytest.approx(72 * 1200.0, rel=REL)
    assert sum(d.physical_kwh for d in days.values()) == pytest.approx(
        z.HAND["energy_kwh.green_consumed_time_matched"] - 72_000, rel=REL
    )
