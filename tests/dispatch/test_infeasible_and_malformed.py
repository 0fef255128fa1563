"""An impossible scenario names the asset and constraint; a malformed one names the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from zctest_dispatch import make_scenario

from config.errors import ConfigError
from dispatch.scenario import parse_scenario
from dispatch.solve import Infeasible, solve

BATTERY = {
    "name": "bess-1",
    "energy_kwh": 100,
    "power_kw": 10,
    "charge_efficiency": 1,
    "discharge_efficiency": 1,
    "soc_initial": 0.2,
    "soc_min": 0,
    "soc_max": 1,
    "soc_final_min": 0.2,
}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (
            {
                "loads": [{"name": "base", "kw": [0, 0]}],
                "flexible_loads": [
                    {"name": "potline-3", "min_kw": 0, "max_kw": 100, "energy_kwh": 500}
                ],
            },
            ["flexible load 'potline-3'", "energy_kwh=500", "0..200 kWh"],
        ),
        (
            {
                "loads": [{"name": "base", "kw": [0, 0, 0]}],
                "flexible_loads": [
                    {
                        "name": "potline-3",
                        "min_kw": 0,
                        "max_kw": 100,
                        "energy_kwh": 270,
                        "ramp_kw_per_interval": 20,
                        "initial_kw": 50,
                    }
                ],
            },
            ["flexible load 'potline-3'", "and its ramps", "energy_kwh=270", "40..260 kWh"],
        ),
        (
            {
                "loads": [{"name": "base", "kw": [0, 0]}],
                "flexible_loads": [
                    {
                        "name": "h2",
                        "min_kw": 80,
                        "max_kw": 100,
                        "initial_kw": 0,
                        "ramp_kw_per_interval": 10,
                    }
                ],
            },
            ["flexible load 'h2'", "initial_kw=0", "ramp_kw_per_interval=10"],
        ),
        (
            {
                "loads": [{"name": "base", "kw": [0, 0]}],
                "storage": [{**BATTERY, "soc_final_min": 0.9}],
            },
            ["storage 'bess-1'", "soc_final_min=0.9", "0.4"],
        ),
        (
            {"loads": [{"name": "base", "kw": [500, 1500]}]},
            ["grid", "import_limit_kw=1000", "interval 1 (2026-06-01T01:00:00+08:00)", "1500"],
        ),
        (
            {
                "loads": [{"name": "base", "kw": [10, 10]}],
                "grid": {"export_limit_kw": 0},
                "renewables": [{"name": "wind-1", "available_kw": [50, 5], "curtailable": False}],
            },
            ["wind-1", "curtailable: false", "interval 0"],
        ),
    ],
    ids=[
        "flex-energy",
        "flex-ramp-energy",
        "flex-initial",
        "storage-final",
        "import-limit",
        "must-run-renewable",
    ],
)
def test_infeasible_names_asset_and_constraint(overrides: dict[str, Any], words: list[str]) -> None:
    sc = make_scenario(**overrides)
    with pytest.raises(Infeasible) as info:
        solve(sc)
    message = str(info.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message


def test_jointly_infeasible_is_explained_by_the_clashing_constraints() -> None:
    # each asset alone is fine (80 kW of load under a 100 kW import limit; the electrolyser could
    # take 80 kWh in two hours), but together only 20 kW are left for it in each hour
    sc = make_scenario(
        grid={"import_limit_kw": 100},
        loads=[{"name": "base", "kw": [80, 80]}],
        flexible_loads=[{"name": "h2", "min_kw": 0, "max_kw": 50, "energy_kwh": 80}],
    )
    with pytest.raises(Infeasible) as info:
        solve(sc)
    message = str(info.value)
    assert "cannot all be met together" in message
    assert "flexible load 'h2' energy_kwh" in message or "power balance" in message, message


MALFORMED = [
    ({"grid": None}, "grid"),
    (
        {
            "loads": [{"name": "base", "kw": [1, 2, 3]}],
            "renewables": [{"name": "pv", "available_kw": [1, 2]}],
        },
        "loads[0].kw",
    ),
    ({"loads": [{"name": "base", "kw": [1, "x"]}]}, "loads[0].kw"),
    ({"loads": [{"name": "base", "kw": [1, -2]}]}, "loads[0].kw"),
    ({"storage": [{**BATTERY, "soc_min": 0.9, "soc_max": 0.1}]}, "storage[0].soc_min"),
    ({"storage": [{**BATTERY, "energy_kwh": 0}]}, "storage[0].energy_kwh"),
    ({"objective": "cheapest"}, "objective"),
    ({"interval_minutes": -15}, "interval_minutes"),
    ({"flexible_loads": [{"name": "p", "min_kw": 10, "max_kw": 5}]}, "flexible_loads[0].min_kw"),
    ({"loads": [{"name": "base", "kw": [1, 1]}, {"name": "base", "kw": [2, 2]}]}, "loads[1].name"),
    ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("edit", "field"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_scenario_names_the_field(edit: dict[str, Any], field: str) -> None:
    data: dict[str, Any] = {
        "name": "bad",
        "start": "2026-06-01T00:00:00+08:00",
        "interval_minutes": 15,
        "grid": {"import_limit_kw": 10, "price_per_kwh": 0.4, "co2_kg_per_kwh": 0.7},
        "loads": [{"name": "base", "kw": [1, 2]}],
    }
    data.update(edit)
    if data.get("grid") is None:
        del data["grid"]
    with pytest.raises(ConfigError) as info:
        parse_scenario(data, "bad.json")
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith("bad.json: ")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcpark", "dispatch", "solve", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_infeasible_and_malformed_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"name": "x", "start": "2026-06-01T00:00:00Z", "interval_minutes": 15,'
        ' "grid": {"import_limit_kw": 10, "price_per_kwh": 0.4, "co2_kg_per_kwh": 0.7},'
        ' "loads": [{"name": "base", "kw": [1, 50]}]}'
    )
    proc = _cli(str(bad))
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "import_limit_kw=10" in proc.stderr and "Traceback" not in proc.stderr

    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n "start": ')
    proc = _cli(str(broken))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().startswith("zcpark dispatch solve: ") and "broken.json:2" in proc.stderr
    )

    proc = _cli(str(tmp_path / "absent.json"))
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_cli_writes_the_plan_in_the_section_8_format(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(
        json.dumps(
            {
                "name": "two-hours",
                "start": "2026-06-01T00:00:00+08:00",
                "interval_minutes": 60,
                "objective": "green_first",
                "grid": {
                    "import_limit_kw": 300,
                    "export_limit_kw": 0,
                    "price_per_kwh": [0.3, 0.9],
                    "export_price_per_kwh": 0,
                    "co2_kg_per_kwh": 0.6849,
                },
                "renewables": [
                    {
                        "name": "wind-1",
                        "kind": "wind",
                        "available_kw": [150, 0],
                        "curtailable": True,
                    }
                ],
                "loads": [{"name": "base", "kw": [50, 50]}],
                "flexible_loads": [
                    {
                        "name": "potline-3",
                        "min_kw": 0,
                        "max_kw": 100,
                        "ramp_kw_per_interval": 100,
                        "initial_kw": 0,
                        "energy_kwh": 100,
                    }
                ],
                "storage": [
                    {
                        "name": "bess-1",
                        "energy_kwh": 100,
                        "power_kw": 50,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.95,
                        "soc_initial": 0.5,
                        "soc_min": 0.1,
                        "soc_max": 0.9,
                        "soc_final_min": 0.5,
                    }
                ],
            }
        )
    )
    out = tmp_path / "plan.json"
    proc = _cli(str(scenario), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(out.read_text())
    assert plan["status"] == "optimal" and plan["scenario"] == "two-hours"
    assert set(plan["kpis"]) == {
        "co2_kg",
        "cost",
        "grid_import_kwh",
        "grid_export_kwh",
        "curtailed_kwh",
        "consumption_kwh",
        "green_share",
    }
    assert set(plan["baseline_kpis"]) == set(plan["kpis"])
    assert set(plan["series"]) == {
        "grid_import_kw",
        "grid_export_kw",
        "renewables",
        "storage",
        "flexible_loads",
    }
    assert set(plan["series"]["storage"]["bess-1"]) == {"charge_kw", "discharge_kw", "soc"}
    assert plan["series"]["flexible_loads"]["potline-3"]["kw"] == pytest.approx([100, 0], abs=1e-6)
    # without --out the plan goes to standard output as JSON, nothing else
    proc = _cli(str(scenario))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["kpis"] == pytest.approx(plan["kpis"])
