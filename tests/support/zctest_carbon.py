"""A synthetic month for the carbon accounting, with its figures worked out by hand.

November 2026 (30 days, Asia/Shanghai), two enterprises: ``alu`` (a potline, 1000 kWh in every
15-min interval) and ``bat`` (a battery plant, 200 kWh). The park has a grid meter, a check
meter beside it (never summed), PV and wind meters that report available power, and one
battery (800 kW, η 0.95 each way). Every day has four six-hour blocks of 24 intervals; values
are kWh per interval:

    block        wind  pv    pv avail  storage          grid import  consumption
    A 00-06      400   0     0         idle             800          1200
    B 06-12      200   800   800       idle             200          1200
    C 12-18      200   1200  1300      charge 200       0            1200   (100 curtailed)
    D 18-24      400   0     0         discharge 180.5  619.5        1200

180.5 = 200 × 0.95 × 0.95: the battery empties every evening what it took at noon. Day 15
is the export day: PV 2000 (available 2100) in block C, charge 200, export 800. Day 20 has a
6-hour gap: grid-main and pv-1 send nothing in block B (the rollup has no row), so those 24
intervals are incomplete. Day 10 had a counter reset on grid-main: the rollup already turned it
into correct interval energy, so the day is an ordinary one here.

Instruments: ``alu`` holds GEC-000001..000500 (500 MWh) and a green-power trade of 72 MWh with a
15-min profile (100 kWh in every block-A interval); ``bat`` holds GEC-000501..000550 (50 MWh)
and a monthly trade of 20 MWh without a profile. Factors are the shipped config/factors
(Inner Mongolia 2022 location 0.6849, residual 0.5856 tCO2/MWh).

``HAND`` holds every figure of the month, each written out as the arithmetic on the numbers
above — not by calling the code under test — so the carbon, report and API tests compare
against the same answers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from park_server.carbon import (
    Budget,
    CarbonInputs,
    CarbonSettings,
    Certificate,
    EnterpriseSettings,
    Fuels,
    GuideIndicators,
    MeterSpec,
    MonthlyInputs,
    MonthTotals,
    Offset,
    PlanOutcome,
    SerialRange,
    Totals,
    Trade,
    period_of,
)

TZ = "Asia/Shanghai"
PARK = "synthpark"
DAYS = 30
N = 24  # intervals in a six-hour block
EXPORT_DAY = 15
GAP_DAY = 20
RESET_DAY = 10

METERS = (
    MeterSpec(id="grid-main", role="grid"),
    MeterSpec(id="grid-check", role="grid", primary=False),
    MeterSpec(id="pv-1", role="pv"),
    MeterSpec(id="wind-1", role="wind"),
    MeterSpec(id="bess-1", role="storage"),
    MeterSpec(id="pot-1", role="flexible_load", enterprise="alu"),
    MeterSpec(id="load-b", role="load", enterprise="bat"),
)
PRIMARY = 6  # meters summed (grid-check is not)

SETTINGS = CarbonSettings(
    park=PARK,
    timezone=TZ,
    green_share_target=0.8,
    enterprises=(
        EnterpriseSettings(id="alu", green_share_target=0.8),
        EnterpriseSettings(id="bat", green_share_target=0.5),
    ),
)

PERIOD = period_of("month", date(2026, 11, 1), TZ)

# (wind, pv, pv available, storage (+ discharge, - charge), grid) per interval of each block
_BLOCKS = {
    0: (400.0, 0.0, 0.0, 0.0, 800.0),
    1: (200.0, 800.0, 800.0, 0.0, 200.0),
    2: (200.0, 1200.0, 1300.0, -200.0, 0.0),
    3: (400.0, 0.0, 0.0, 180.5, 619.5),
}
_EXPORT_BLOCK_C = (200.0, 2000.0, 2100.0, -200.0, -800.0)


def interval_starts() -> pd.DatetimeIndex:
    return pd.date_range("2026-11-01", periods=DAYS * 96, freq="15min", tz=TZ).tz_convert("UTC")


def intervals() -> pd.DataFrame:
    """The month's interval energy in the rollups' long form (ts, meter, kwh, available_kwh)."""
    rows: list[tuple[pd.Timestamp, str, float, float]] = []
    rng = np.random.default_rng(16)
    for ts in interval_starts():
        local = ts.tz_convert(TZ)
        day, block = local.day, local.hour // 6
        wind, pv, pv_avail, storage, grid = _BLOCKS[block]
        if day == EXPORT_DAY and block == 2:
            wind, pv, pv_avail, storage, grid = _EXPORT_BLOCK_C
        gap = day == GAP_DAY and block == 1
        if not gap:
            rows.append((ts, "grid-main", grid, np.nan))
            rows.append((ts, "pv-1", pv, pv_avail))
        rows.append((ts, "grid-check", grid + float(rng.normal(0, 50)), np.nan))
        rows.append((ts, "wind-1", wind, wind))
        rows.append((ts, "bess-1", storage, np.nan))
        rows.append((ts, "pot-1", 1000.0, np.nan))
        rows.append((ts, "load-b", 200.0, np.nan))
    return pd.DataFrame(rows, columns=["ts", "meter", "kwh", "available_kwh"])


def alu_profile() -> pd.Series:
    idx = interval_starts()
    local_hour = idx.tz_convert(TZ).hour
    return pd.Series(np.where(local_hour < 6, 100.0, 0.0), index=idx)


CERTIFICATES = (
    Certificate(
        "alu", SerialRange("GEC-", 1, 500, 6), 500.0, "wind", "Zahanaoer wind", "2026-10", "2026-11"
    ),
    Certificate(
        "bat", SerialRange("GEC-", 501, 550, 6), 50.0, "pv", "Etuoke PV", "2026-10", "2026-11"
    ),
)


def trades() -> tuple[Trade, ...]:
    return (
        Trade(
            "alu",
            72.0,
            "wind",
            "Mengxi wind PPA",
            "2026-11",
            "2026-11",
            profile_kwh=alu_profile(),
            id="t-alu",
        ),
        Trade("bat", 20.0, "pv", "Mengxi PV PPA", "2026-11", "2026-11", id="t-bat"),
    )


MONTHLY = (
    MonthlyInputs(
        month="2026-11",
        enterprise="alu",
        production_t=220.0,
        output_10k_yuan=1800.0,
        fuels=Fuels(diesel_t=2.0),
    ),
    MonthlyInputs(
        month="2026-11",
        enterprise="bat",
        output_10k_yuan=500.0,
        fuels=Fuels(natural_gas_m3=10000.0, purchased_heat_gj=100.0),
    ),
)
GUIDE = (
    GuideIndicators(
        month="2026-11", solid_waste_utilisation=0.85, waste_heat_utilisation=0.4, water_reuse=0.9
    ),
)
OFFSETS = (Offset(kind="ccer", project="Alxa sand-control forest", vintage=2025, t_co2e=100.0),)
BUDGETS = (
    Budget(year=2026, carbon_t=12000.0, energy_tce=6000.0, t_co2_per_t_product=3.0),
    Budget(year=2026, enterprise="alu", carbon_t=8000.0),
)
YEAR_BEFORE = {
    None: Totals(carbon_t=8000.0, energy_tce=4500.0, production_t=2200.0, output_10k_yuan=19000.0)
}
LAST_YEAR = {None: (MonthTotals(month="2025-12", carbon_t=800.0, energy_tce=460.0),)}
PLANS = (
    PlanOutcome.model_validate(
        {"kpis": {"co2_kg": 900000.0, "cost": 1.0}, "baseline_kpis": {"co2_kg": 1000000.0}}
    ),
)


def inputs(**overrides: Any) -> CarbonInputs:
    """The synthetic month as :class:`CarbonInputs` (fields replaceable for variants)."""
    base: dict[str, Any] = {
        "settings": SETTINGS,
        "meters": METERS,
        "intervals": intervals(),
        "period": PERIOD,
        "monthly": MONTHLY,
        "guide": GUIDE,
        "certificates": CERTIFICATES,
        "trades": trades(),
        "offsets": OFFSETS,
        "budgets": BUDGETS,
        "year_before": YEAR_BEFORE,
        "last_year": LAST_YEAR,
        "plans": PLANS,
    }
    base.update(overrides)
    return CarbonInputs(**base)


# ---- the figures, by hand --------------------------------------------------------------
# Factors (config/factors, shipped values), written here as numbers, not read from the code:
GRID_LOCATION = 0.6849  # tCO2/MWh, Inner Mongolia 2022
GRID_MARKET = 0.5856  # tCO2/MWh, national excluding market-traded non-fossil, 2022
KGCE_PER_KWH = 0.1229
DIESEL_T_CO2 = 3.0959
GAS_T_CO2_PER_1E4 = 21.6502
HEAT_T_CO2_PER_GJ = 0.11
DIESEL_KGCE_PER_KG = 1.4571
GAS_KGCE_PER_M3 = 1.2143
MJ_PER_KGCE = 29.3076
ANODE_TC_PER_T = 0.415
ANODE_S, ANODE_ASH = 0.02, 0.004
CF4_KG, C2F6_KG, GWP_CF4, GWP_C2F6 = 0.034, 0.0034, 6630.0, 11100.0

# Energy by source: 29 ordinary days + the export day, less the gap (day 20 block B: pv 800,
# wind 200, consumption 1200, import 200 in each of its 24 intervals).
_pv = 29 * N * (0 + 800 + 1200 + 0) + N * (0 + 800 + 2000 + 0) - N * 800
_wind = 30 * N * (400 + 200 + 200 + 400) - N * 200
_cons = 30 * 4 * N * 1200 - N * 1200
_import = 30 * N * (800 + 200 + 0 + 619.5) - N * 200
_export = N * 800
_charge = 30 * N * 200
_discharge = 30 * N * 180.5
_loss = 30 * N * (200 * 0.05 + 180.5 * (1 / 0.95 - 1))
_curtailed = 30 * N * (1300 - 1200)
# G per interval: A 400 (wind), B 1000 (wind + pv), C 1200 (the loads; the surplus charges),
# D 400 + 180.5 (wind + the battery's green discharge); the gap removes block B of day 20.
_green = 30 * N * (400 + 1000 + 1200 + (400 + 180.5)) - N * 1000
# on-site part of G: everything (no direct supply)
_green_onsite = _green
# the alu trade: 100 kWh in each block-A interval, all 30 days, all below alu's residual
# (1000 - 400 × 5/6 = 666.67 kWh)
_matched = 30 * N * 100
_certs = (500 + 50) * 1000
_trades = (72 + 20) * 1000
_vol_share = min(1.0, (_green + _certs + _trades) / _cons)
_tm_share = (_green + _matched) / _cons

# Enterprises: every interval splits 1000 : 200, so alu takes 5/6 and bat 1/6 of every flow.
_alu, _bat = 5 / 6, 1 / 6
_alu_cons = N * (4 * 30 - 1) * 1000
_bat_cons = N * (4 * 30 - 1) * 200

# Emissions, tCO2
_scope2_loc = _import / 1000 * GRID_LOCATION
_scope2_mkt = max(0.0, _import - _certs - _trades) / 1000 * GRID_MARKET
_diesel = 2.0 * DIESEL_T_CO2
_gas = 10000.0 / 1e4 * GAS_T_CO2_PER_1E4
_heat = 100.0 * HEAT_T_CO2_PER_GJ
_anode = 220.0 * ANODE_TC_PER_T * (1 - ANODE_S - ANODE_ASH) * 44 / 12
_pfc = 220.0 * (CF4_KG * GWP_CF4 + C2F6_KG * GWP_C2F6) / 1000
_scope1 = _diesel + _gas
_direct = _scope1 + _anode + _pfc
_co2_market = _scope1 + _anode + _heat + _scope2_mkt  # CO2 only: no PFC

# Energy, tce
_tce_el = _cons * KGCE_PER_KWH / 1000
_tce_fuel = 2.0 * DIESEL_KGCE_PER_KG + 10000.0 * GAS_KGCE_PER_M3 / 1000
_tce_heat = 100.0 * 1000 / MJ_PER_KGCE / 1000
_tce = _tce_el + _tce_fuel + _tce_heat
_non_fossil = min(_cons, _green + _certs + _trades) * KGCE_PER_KWH / 1000

# Dual control: 8000 t and 4500 tce before November; December at last December's daily rate
_ytd_c = 8000.0 + _co2_market
_ytd_e = 4500.0 + _tce
_proj_c = _ytd_c + 800.0 / 31 * 31
_proj_e = _ytd_e + 460.0 / 31 * 31

HAND: dict[str, float] = {
    "completeness": (PRIMARY * DAYS * 96 - 2 * N) / (PRIMARY * DAYS * 96),
    "energy_kwh.consumption": _cons,
    "energy_kwh.pv": _pv,
    "energy_kwh.wind": _wind,
    "energy_kwh.direct_green": 0.0,
    "energy_kwh.grid_import": _import,
    "energy_kwh.grid_export": _export,
    "energy_kwh.storage_charge": _charge,
    "energy_kwh.storage_discharge": _discharge,
    "energy_kwh.storage_loss": _loss,
    "energy_kwh.green_consumed_time_matched": _green + _matched,
    "energy_kwh.curtailed": _curtailed,
    "green.volumetric_share": _vol_share,
    "green.time_matched_share": _tm_share,
    "green.certificates_kwh": _certs,
    "green.trades_kwh": _trades,
    "green.target_share": 0.8,
    "emissions_t.scope1_fuel": _scope1,
    "emissions_t.scope2_location": _scope2_loc,
    "emissions_t.scope2_market": _scope2_mkt,
    "emissions_t.scope2_heat": _heat,
    "emissions_t.process_anode": _anode,
    "emissions_t.process_pfc_co2e": _pfc,
    "emissions_t.total_location": _direct + _heat + _scope2_loc,
    "emissions_t.total_market": _direct + _heat + _scope2_mkt,
    "emissions_t.offsets_held": 100.0,
    "energy_tce.total": _tce,
    "energy_tce.counted_for_control": _tce - _non_fossil,
    "indicators.core_t_per_tce": _co2_market / _tce,
    "indicators.core_threshold_t_per_tce": 0.20,  # the park uses far less than 1 Mtce a year
    "indicators.clean_energy_share": _non_fossil / _tce,
    "intensity.t_co2_per_t_product_direct": _direct / 220.0,
    "intensity.t_co2_per_t_product_indirect_location": _scope2_loc / 220.0,
    "intensity.t_co2_per_t_product_indirect_market": _scope2_mkt / 220.0,
    "intensity.t_co2_per_10k_yuan": _co2_market / (1800.0 + 500.0),
    "budget.carbon_t": 12000.0,
    "budget.used_t": _ytd_c,
    "budget.projected_t": _proj_c,
    "budget.energy_tce": 6000.0,
    "budget.energy_used_tce": _ytd_e,
    "budget.energy_projected_tce": _proj_e,
    "reductions_t.onsite_renewables": _green_onsite / 1000 * GRID_LOCATION,
    "reductions_t.dispatch_uplift": (1000000.0 - 900000.0) / 1000,
}
HAND_FLAGS: dict[str, object] = {
    "curtailment_basis": "measured",
    "green.meets_target": _vol_share >= 0.8,  # 0.8485 ≥ 0.8
    "indicators.core_pass": False,
    "indicators.clean_energy_pass": False,  # 0.81 < 0.90
    "budget.projection_basis": "last_year",
}

# alu: its potline meter and the park's four supply meters, 5/6 of every shared flow
_alu_import = _import * _alu
_alu_green = _green * _alu
_alu_mkt = max(0.0, _alu_import - 500_000 - 72_000) / 1000 * GRID_MARKET
_alu_anode_pfc_diesel = _anode + _pfc + _diesel
_alu_co2 = _diesel + _anode + _alu_mkt
_alu_tce = _alu_cons * KGCE_PER_KWH / 1000 + 2.0 * DIESEL_KGCE_PER_KG
HAND_ALU: dict[str, float] = {
    "completeness": (5 * DAYS * 96 - 2 * N) / (5 * DAYS * 96),
    "energy_kwh.consumption": _alu_cons,
    "energy_kwh.pv": _pv * _alu,
    "energy_kwh.wind": _wind * _alu,
    "energy_kwh.grid_import": _alu_import,
    "energy_kwh.grid_export": _export * _alu,
    "energy_kwh.storage_charge": _charge * _alu,
    "energy_kwh.storage_discharge": _discharge * _alu,
    "energy_kwh.green_consumed_time_matched": _alu_green + _matched,
    "green.volumetric_share": (_alu_green + 500_000 + 72_000) / _alu_cons,
    "green.time_matched_share": (_alu_green + _matched) / _alu_cons,
    "green.certificates_kwh": 500_000,
    "green.trades_kwh": 72_000,
    "emissions_t.scope1_fuel": _diesel,
    "emissions_t.scope2_location": _alu_import / 1000 * GRID_LOCATION,
    "emissions_t.scope2_market": _alu_mkt,
    "emissions_t.process_anode": _anode,
    "emissions_t.process_pfc_co2e": _pfc,
    "energy_tce.total": _alu_tce,
    "intensity.t_co2_per_t_product_direct": _alu_anode_pfc_diesel / 220.0,
    "intensity.t_co2_per_t_product_indirect_location": _alu_import / 1000 * GRID_LOCATION / 220.0,
    "intensity.t_co2_per_t_product_indirect_market": _alu_mkt / 220.0,
    "intensity.t_co2_per_10k_yuan": _alu_co2 / 1800.0,
    "budget.carbon_t": 8000.0,
    "budget.used_t": _alu_co2,
    # no history for alu: December at this year's daily rate (Nov only: 334 days elapsed)
    "budget.projected_t": _alu_co2 + _alu_co2 / 334 * 31,
}
_bat_import = _import * _bat
_bat_green = _green * _bat
HAND_BAT: dict[str, float] = {
    "energy_kwh.consumption": _bat_cons,
    "energy_kwh.grid_import": _bat_import,
    "green.volumetric_share": (_bat_green + 50_000 + 20_000) / _bat_cons,
    "green.time_matched_share": _bat_green / _bat_cons,
    "emissions_t.scope1_fuel": _gas,
    "emissions_t.scope2_heat": _heat,
    "emissions_t.scope2_market": max(0.0, _bat_import - 50_000 - 20_000) / 1000 * GRID_MARKET,
}
