"""Bad input at the core's level: each refused with the field (or line) and the reason."""

from __future__ import annotations

import pandas as pd
import pytest
import zctest_carbon as z

from config import load_factors
from park_server.carbon import (
    Budget,
    CarbonInputError,
    CarbonSettings,
    MonthlyInputs,
    SerialRange,
    Trade,
    carbon_figures,
    energy_balance,
    held_ranges,
    parse_input,
    validate_instrument_csv,
)

HEADER = "enterprise,kind,serial_from,serial_to,mwh,technology,project,vintage,month\n"
ENTERPRISES = ("alu", "bat")


def upload(body: str, held: list = []) -> tuple[list, list]:  # noqa: B006 - read only
    u = validate_instrument_csv(HEADER + body, enterprises=ENTERPRISES, held=held, gec_mwh=1.0)
    return u.accepted, u.rejected


def test_certificate_already_held_is_refused() -> None:
    held = held_ranges(z.CERTIFICATES)  # GEC-000001..000550
    accepted, rejected = upload(
        "alu,gec,GEC-000540,GEC-000600,61,wind,Zahanaoer wind,2026-10,2026-11\n"
        "alu,gec,GEC-000551,GEC-000600,50,wind,Zahanaoer wind,2026-10,2026-11\n",
        held,
    )
    assert rejected == [
        {
            "line": 2,
            "reason": "serial_from: serial range GEC-000540–GEC-000600 overlaps "
            "GEC-000501–GEC-000550, already held (Etuoke PV)",
        }
    ]
    assert [c.serial for c in accepted] == [SerialRange("GEC-", 551, 600, 6)]


def test_certificate_used_twice_in_one_upload_is_refused() -> None:
    accepted, rejected = upload(
        "alu,gec,GEC-001001,GEC-001010,10,wind,W,2026-10,2026-11\n"
        "bat,gec,GEC-001005,GEC-001005,1,wind,W,2026-10,2026-11\n"
    )
    assert len(accepted) == 1
    assert rejected[0]["line"] == 3
    assert "line 2 of this upload" in str(rejected[0]["reason"])


def test_gec_bundled_with_a_trade_is_not_counted_again() -> None:
    trade = Trade("alu", 100.0, "wind", "PPA", "2026-11", "2026-11",
                  bundled=SerialRange("GEC-", 2001, 2100, 6), id="t-7")  # fmt: skip
    accepted, rejected = upload(
        "alu,gec,GEC-002050,GEC-002059,10,wind,PPA,2026-11,2026-11\n", held_ranges([trade])
    )
    assert accepted == []
    assert rejected[0]["line"] == 2
    assert "came bundled with a green-power trade (t-7)" in str(rejected[0]["reason"])
    # the same within one upload: a trade row with its GECs, then the GECs again
    accepted, rejected = upload(
        "alu,trade,GEC-003001,GEC-003010,10,wind,PPA,2026-11,2026-11\n"
        "alu,gec,GEC-003001,GEC-003010,10,wind,PPA,2026-11,2026-11\n"
    )
    assert len(accepted) == 1 and isinstance(accepted[0], Trade)
    assert "came bundled" in str(rejected[0]["reason"]) and rejected[0]["line"] == 3


def test_csv_with_bad_rows_keeps_the_good_ones() -> None:
    accepted, rejected = upload(
        "alu,gec,GEC-000001,GEC-000010,10,wind,W,2026-10,2026-11\n"  # 2 good
        "xyz,gec,GEC-000011,GEC-000020,10,wind,W,2026-10,2026-11\n"  # 3 unknown enterprise
        "alu,cert,GEC-000021,GEC-000030,10,wind,W,2026-10,2026-11\n"  # 4 bad kind
        "alu,gec,GEC-000031,GEC-000040,11,wind,W,2026-10,2026-11\n"  # 5 mwh ≠ count
        "alu,gec,GEC-000041,GEC-000050,10,coal,W,2026-10,2026-11\n"  # 6 technology
        "alu,gec,GEC-000051,GEC-000060,10,wind,W,2026-12,2026-11\n"  # 7 vintage after month
        "alu,gec,GEC-000061,GEC-000070,10,wind,W,2026-10,2026-13\n"  # 8 month
        "alu,trade,,,-5,pv,P,2026-11,2026-11\n"  # 9 negative mwh
        "alu,gec,GEC-000080,GEC-000071,10,wind,W,2026-10,2026-11\n"  # 10 backwards
        "alu,gec,GEC-000081\n"  # 11 short row
        "bat,trade,,,20,pv,P,2026-11,2026-11\n"  # 12 good
    )
    assert len(accepted) == 2
    lines = {r["line"]: str(r["reason"]) for r in rejected}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert lines[3].startswith("enterprise:")
    assert lines[4].startswith("kind:")
    assert lines[5].startswith("mwh:") and "10 certificates" in lines[5]
    assert lines[6].startswith("technology:")
    assert lines[7].startswith("vintage:")
    assert lines[8].startswith("month:")
    assert lines[9].startswith("mwh:")
    assert lines[10].startswith("serial_to:")
    assert "fields" in lines[11]


def test_csv_with_a_wrong_header_is_refused_whole() -> None:
    with pytest.raises(CarbonInputError) as e:
        validate_instrument_csv(
            "enterprise,kind,mwh\nalu,gec,1\n", enterprises=ENTERPRISES, gec_mwh=1.0
        )
    assert e.value.field == "header"


def test_negative_production_names_the_field() -> None:
    with pytest.raises(CarbonInputError) as e:
        parse_input(
            MonthlyInputs,
            {"month": "2026-11", "enterprise": "alu", "production_t": -3},
            "inputs[0]",
        )
    assert e.value.field == "inputs[0].production_t"
    assert "greater than or equal to 0" in e.value.reason
    with pytest.raises(CarbonInputError) as e:
        parse_input(MonthlyInputs, {"month": "2026-11", "fuels": {"diesel_t": -1}})
    assert e.value.field == "fuels.diesel_t"


def test_budget_for_an_unknown_enterprise_names_the_field() -> None:
    budgets = (*z.BUDGETS, Budget(year=2026, enterprise="steel", carbon_t=5.0))
    with pytest.raises(CarbonInputError) as e:
        carbon_figures(z.inputs(budgets=budgets), load_factors())
    assert e.value.field == "budgets[2].enterprise"
    assert "steel" in e.value.reason


def test_unknown_meter_and_duplicated_interval_are_refused() -> None:
    data = z.intervals()
    extra = pd.DataFrame([{"ts": data["ts"].iloc[0], "meter": "ghost", "kwh": 1.0}])
    with pytest.raises(CarbonInputError, match="ghost") as e:
        energy_balance(pd.concat([data, extra]), z.METERS, z.SETTINGS, z.PERIOD)
    assert e.value.field == "intervals.meter"
    with pytest.raises(CarbonInputError, match="two rows") as e:
        energy_balance(pd.concat([data, data.iloc[:1]]), z.METERS, z.SETTINGS, z.PERIOD)


def test_trade_profile_must_add_up() -> None:
    with pytest.raises(CarbonInputError) as e:
        Trade("alu", 73.0, "wind", "PPA", "2026-11", "2026-11", profile_kwh=z.alu_profile())
    assert e.value.field == "profile_kwh"


def test_fixed_shares_over_one_are_refused() -> None:
    with pytest.raises(CarbonInputError, match="more than 1"):
        parse_input(
            CarbonSettings,
            {
                "park": "p",
                "sharing": "fixed",
                "enterprises": [{"id": "a", "fixed_share": 0.7}, {"id": "b", "fixed_share": 0.5}],
            },
        )


def test_json_rows_use_the_same_checks() -> None:
    from park_server.carbon import validate_instrument_rows

    rows = [
        (0, {"enterprise": "alu", "kind": "gec", "serial_from": "GEC-000600", "serial_to": "GEC-000609",
             "mwh": 10, "technology": "wind", "project": "W", "vintage": 2026, "month": "2026-11"}),
        (1, {"enterprise": "alu", "kind": "gec", "serial_from": "GEC-000609", "serial_to": "GEC-000609",
             "mwh": 1, "technology": "wind", "project": "W", "vintage": 2026, "month": "2026-11"}),
    ]  # fmt: skip
    u = validate_instrument_rows(rows, enterprises=ENTERPRISES, held=[], gec_mwh=1.0)
    assert len(u.accepted) == 1
    assert u.rejected[0]["line"] == 1 and "line 0 of this upload" in str(u.rejected[0]["reason"])


def test_bundled_certificates_never_exceed_the_trade() -> None:
    accepted, rejected = upload("alu,trade,GEC-009001,GEC-009100,50,wind,PPA,2026-11,2026-11\n")
    assert accepted == [] and str(rejected[0]["reason"]).startswith("mwh:")


def test_trade_profile_on_interval_starts_only() -> None:
    idx = pd.date_range("2026-11-01", periods=2, freq="10min", tz="UTC")
    with pytest.raises(CarbonInputError, match="15-minute"):
        Trade(
            "alu",
            0.002,
            "wind",
            "P",
            "2026-11",
            "2026-11",
            profile_kwh=pd.Series([1.0, 1.0], index=idx),
        )


def test_overlapping_instruments_are_never_counted_twice() -> None:
    from park_server.carbon import Certificate

    again = Certificate(
        "bat", SerialRange("GEC-", 400, 420, 6), 21.0, "wind", "W", "2026-10", "2026-11"
    )
    with pytest.raises(CarbonInputError, match="counted twice") as e:
        carbon_figures(z.inputs(certificates=(*z.CERTIFICATES, again)), load_factors())
    assert e.value.field == "certificates[2].serial"


def test_a_second_monthly_entry_is_refused() -> None:
    with pytest.raises(CarbonInputError) as e:
        carbon_figures(z.inputs(monthly=(*z.MONTHLY, z.MONTHLY[0])), load_factors())
    assert e.value.field == "monthly[2]" and "alu" in e.value.reason
