"""The accounting's rules on a few intervals each, with the answers worked out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from config import load_factors
from park_server.carbon import (
    UNASSIGNED,
    CarbonInputs,
    CarbonSettings,
    EnterpriseSettings,
    MeterSpec,
    MonthTotals,
    StorageState,
    Totals,
    Trade,
    apply_offsets,
    carbon_figures,
    carbon_response,
    dual_control,
    energy_balance,
    match_trades,
    period_of,
    project_year_end,
)

DAY = period_of("day", date(2026, 6, 1))
TWO = CarbonSettings(park="p", enterprises=(EnterpriseSettings(id="a"), EnterpriseSettings(id="b")))


def frame(
    series: dict[str, list[float]], available: dict[str, list[float]] | None = None
) -> pd.DataFrame:
    idx = DAY.intervals()
    rows = []
    for meter, values in series.items():
        for i, v in enumerate(values):
            avail = (available or {}).get(meter)
            rows.append({"ts": idx[i], "meter": meter, "kwh": v,
                         "available_kwh": np.nan if avail is None else avail[i]})  # fmt: skip
    return pd.DataFrame(rows)


def until(n: int) -> pd.Timestamp:
    return DAY.start + pd.Timedelta(minutes=15 * n)


METERS = (
    MeterSpec(id="grid", role="grid"),
    MeterSpec(id="pv", role="pv"),
    MeterSpec(id="bess", role="storage"),
    MeterSpec(id="la", role="load", enterprise="a"),
    MeterSpec(id="lb", role="load", enterprise="b"),
)


def test_storage_charged_from_the_grid_is_not_green() -> None:
    # 0: pv 300, loads 100, charge 200 out of the green surplus -> cell 190 green of 190
    # 1: grid 300, loads 100, charge 200 while importing   -> cell 380, green 190 (0.5)
    # 2, 3: loads 100, discharge 95 each (100 of cell)       -> green 95 × 0.5 = 47.5 each
    data = frame(
        {
            "grid": [0, 300, 5, 5],
            "pv": [300, 0, 0, 0],
            "bess": [-200, -200, 95, 95],
            "la": [100, 100, 100, 100],
            "lb": [0, 0, 0, 0],
        }
    )
    bal = energy_balance(data, METERS, TWO, DAY, as_of=until(4))
    assert bal.completeness == 1.0
    assert list(bal.park["green"]) == pytest.approx([100, 0, 47.5, 47.5])
    assert list(bal.park["green_charge"]) == pytest.approx([200, 0, 0, 0])
    # cell: 380 − 2 × 100 = 180, half of it green
    assert bal.storage_end.stored_kwh == pytest.approx(180.0)
    assert bal.storage_end.green_fraction == pytest.approx(0.5)
    # losses: 2 × 200 × 0.05 + 2 × 95 × (1/0.95 − 1) = 20 + 10
    assert bal.park["storage_loss"].sum() == pytest.approx(30.0)


def test_storage_starts_with_what_it_held() -> None:
    s = TWO.model_copy(
        update={"storage_initial": StorageState(stored_kwh=1000, green_fraction=0.6)}
    )
    data = frame({"grid": [0], "pv": [0], "bess": [100], "la": [100], "lb": [0]})
    bal = energy_balance(data, METERS, s, DAY, as_of=until(1))
    assert bal.park["green"].iloc[0] == pytest.approx(60.0)


def test_exports_are_never_green_consumption() -> None:
    data = frame({"grid": [-800], "pv": [1000], "bess": [0], "la": [150], "lb": [50]})
    bal = energy_balance(data, METERS, TWO, DAY, as_of=until(1))
    assert bal.park["green"].iloc[0] == 200.0
    assert bal.park["grid_export"].iloc[0] == 800.0
    # pro rata 150 : 50
    assert bal.enterprises["a"]["green"].iloc[0] == pytest.approx(150.0)
    assert bal.enterprises["a"]["grid_export"].iloc[0] == pytest.approx(600.0)


def test_fixed_shares_are_capped_and_the_rest_goes_to_the_others() -> None:
    s = CarbonSettings(
        park="p",
        sharing="fixed",
        enterprises=(
            EnterpriseSettings(id="a", fixed_share=0.8),
            EnterpriseSettings(id="b", fixed_share=0.2),
        ),
    )
    # G = 1000; a would get 800 but uses 500; the 300 left go to b (headroom 700 − 200)
    data = frame({"grid": [200], "pv": [1000], "bess": [0], "la": [500], "lb": [700]})
    bal = energy_balance(data, METERS, s, DAY, as_of=until(1))
    assert bal.enterprises["a"]["green"].iloc[0] == pytest.approx(500.0)
    assert bal.enterprises["b"]["green"].iloc[0] == pytest.approx(500.0)
    # import goes to the non-green consumption: a 0, b 200
    assert bal.enterprises["b"]["grid_import"].iloc[0] == pytest.approx(200.0)
    assert bal.enterprises["a"]["grid_import"].iloc[0] == pytest.approx(0.0)


def test_consumption_is_the_balance_without_load_meters() -> None:
    meters = (
        MeterSpec(id="grid", role="grid"),
        MeterSpec(id="pv", role="pv"),
        MeterSpec(id="line", role="direct_green"),
        MeterSpec(id="bess", role="storage"),
    )
    # 300 + 100 direct + 400 import − 100 charge = 700, all unassigned
    data = frame({"grid": [400], "pv": [300], "line": [100], "bess": [-100]})
    bal = energy_balance(data, meters, TWO, DAY, as_of=until(1))
    assert not bal.consumption_metered
    assert bal.park["consumption"].iloc[0] == 700.0
    assert bal.enterprises[UNASSIGNED]["consumption"].iloc[0] == 700.0
    assert bal.enterprises["a"]["consumption"].iloc[0] == 0.0
    # G = min(700, 400): the direct line is green, not on-site: on-site part 300
    assert bal.park["green"].iloc[0] == 400.0
    assert bal.park["green_onsite"].iloc[0] == pytest.approx(300.0)


def test_curtailment_measured_planned_none() -> None:
    meters = (*METERS, MeterSpec(id="wind", role="wind"))
    data = frame(
        {"grid": [0, 0], "pv": [100, 100], "wind": [50, 50], "bess": [0, 0], "la": [150, 150], "lb": [0, 0]},
        available={"pv": [130, 100], "wind": [80, 50]},
    )  # fmt: skip
    bal = energy_balance(data, meters, TWO, DAY, as_of=until(2))
    assert bal.curtailment_basis == "measured"
    assert bal.park["curtailed"].sum() == pytest.approx(30 + 30)
    # wind without available power: not measured; the plan's curtailment where there is one
    no_wind = data.assign(
        available_kwh=np.where(data["meter"] == "wind", np.nan, data["available_kwh"])
    )
    plan = pd.Series([5.0, 7.0], index=DAY.intervals()[:2])
    bal = energy_balance(no_wind, meters, TWO, DAY, as_of=until(2), planned_curtailed_kwh=plan)
    assert bal.curtailment_basis == "planned"
    assert bal.park["curtailed"].sum() == 12.0
    bal = energy_balance(no_wind, meters, TWO, DAY, as_of=until(2))
    assert bal.curtailment_basis == "none"
    inp = CarbonInputs(settings=TWO, meters=meters, intervals=no_wind, period=DAY, as_of=until(2))
    r = carbon_response(inp, load_factors())
    assert r["curtailment_basis"] == "none" and r["energy_kwh"]["curtailed"] is None


def test_trade_profile_matched_only_up_to_the_residual() -> None:
    data = frame(
        {"grid": [40, 100], "pv": [80, 0], "bess": [0, 0], "la": [100, 100], "lb": [20, 0]}
    )
    bal = energy_balance(data, METERS, TWO, DAY, as_of=until(2))
    # interval 0: G 80 split 100 : 20 -> a 66.67, residual 33.33; interval 1: residual 100
    idx = DAY.intervals()[:2]
    t_a = Trade(
        "a", 0.1, "wind", "P", "2026-06", "2026-06", profile_kwh=pd.Series([50.0, 50.0], index=idx)
    )
    # the park's own trade matches what the enterprises leave of the park's residual:
    # interval 0: 120 − 80 − 33.33 = 6.67 (< 10); interval 1: 100 − 0 − 50 = 50 (> 10)
    t_p = Trade(
        None,
        0.02,
        "wind",
        "P",
        "2026-06",
        "2026-06",
        profile_kwh=pd.Series([10.0, 10.0], index=idx),
    )
    m = match_trades(bal, [t_a, t_p])
    assert list(m.enterprises["a"]) == pytest.approx([100 - 80 * 100 / 120, 50.0])
    assert list(m.enterprises["b"]) == [0.0, 0.0]
    a0 = 100 - 80 * 100 / 120
    assert list(m.park) == pytest.approx([a0 + (120 - 80 - a0), 50.0 + 10.0])


def test_projection_by_hand() -> None:
    tz = "Asia/Shanghai"
    as_of = pd.Timestamp("2024-02-15", tz=tz)  # 31 + 14 = 45 days elapsed in a leap year
    p = project_year_end(90.0, as_of, tz, {3: 62.0})  # last March: 62 t over 31 days
    rate = 90.0 / 45
    # rest of Feb 2024: 29 − 14 = 15 days; March at 2 t/day; April..December 275 days
    assert p.value == pytest.approx(90.0 + 15 * rate + 31 * 62.0 / 31 + 275 * rate)
    assert p.basis == "last_year+this_year"
    assert p.months[:2] == (("2024-02", "this_year"), ("2024-03", "last_year"))
    year = period_of("year", date(2026, 1, 1))
    dc = dual_control(year, Totals(carbon_t=500.0), Totals())
    assert dc.carbon_projected.value == 500.0 and dc.carbon_projected.basis == "actual"
    dec = period_of("month", date(2026, 12, 1))
    dc = dual_control(
        dec, Totals(carbon_t=50.0), Totals(carbon_t=550.0),
        last_year=[MonthTotals(month="2025-12", carbon_t=1.0, energy_tce=1.0)],
    )  # fmt: skip
    assert (dc.carbon_projected.value, dc.carbon_projected.basis) == (600.0, "actual")
    assert dc.carbon_mtd_t == 50.0 and dc.carbon_ytd_t == 600.0


def test_offsets_make_a_net_figure_only() -> None:
    assert apply_offsets(100.0, 150.0).net_t == 0.0
    n = apply_offsets(100.0, 30.0)
    assert (n.gross_t, n.offsets_applied_t, n.net_t) == (100.0, 30.0, 70.0)


def test_an_unknown_enterprise_is_refused_for_a_figure() -> None:
    from park_server.carbon import CarbonInputError

    data = frame({"grid": [0], "pv": [0], "bess": [0], "la": [0], "lb": [0]})
    inp = CarbonInputs(settings=TWO, meters=METERS, intervals=data, period=DAY, as_of=until(1))
    with pytest.raises(CarbonInputError) as e:
        carbon_figures(inp, load_factors(), enterprise="zzz")
    assert e.value.field == "enterprise"
    bad = (*METERS, MeterSpec(id="lz", role="load", enterprise="zzz"))
    with pytest.raises(CarbonInputError) as e:
        energy_balance(data, bad, TWO, DAY)
    assert e.value.field == "meters[5].enterprise"


def test_discharge_beyond_what_the_account_holds_takes_the_initial_fraction() -> None:
    # 0: pv 200, loads 0 (lb 0, la 0), charge 200 green -> cell 190, all green
    # 1: discharge 361 to loads 361: 190 × 0.95 = 180.5 known (green), 180.5 unseen at f0 = 0.2
    s = TWO.model_copy(update={"storage_initial": StorageState(stored_kwh=0, green_fraction=0.2)})
    data = frame(
        {"grid": [0, 0], "pv": [200, 0], "bess": [-200, 361], "la": [0, 361], "lb": [0, 0]}
    )
    bal = energy_balance(data, METERS, s, DAY, as_of=until(2))
    assert bal.park["green_discharge"].iloc[1] == pytest.approx(180.5 + 180.5 * 0.2)
    assert bal.storage_end.stored_kwh == 0.0
