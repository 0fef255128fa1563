"""Helpers for dispatch tests (importable: tests/support is on pytest's pythonpath)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dispatch.scenario import Scenario, parse_scenario


def make_scenario(**overrides: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "test",
        "start": "2026-06-01T00:00:00+08:00",
        "interval_minutes": 60,
        "objective": "green_first",
        "grid": {
            "import_limit_kw": 1000,
            "export_limit_kw": 0,
            "price_per_kwh": 0.5,
            "co2_kg_per_kwh": 0.5,
        },
        "renewables": [],
        "loads": [],
        "flexible_loads": [],
        "storage": [],
    }
    for key, value in overrides.items():
        if key == "grid":
            data["grid"] = {**data["grid"], **value}
        else:
            data[key] = value
    return parse_scenario(data)


def assert_physics(sc: Scenario, plan: dict[str, Any], tol: float = 1e-5) -> None:
    """Every equation of DESIGN.md §8 holds on the plan's series."""
    s = plan["series"]
    n_t, dt = sc.horizon, sc.dt_h
    imp = np.array(s["grid_import_kw"])
    exp = np.array(s["grid_export_kw"])
    assert imp.shape == (n_t,) and exp.shape == (n_t,)
    assert np.all(imp >= -tol) and np.all(imp <= sc.grid.import_limit_kw + tol)
    assert np.all(exp >= -tol) and np.all(exp <= sc.grid.export_limit_kw + tol)
    supply = imp.copy()
    demand = sc.load + exp
    for i, r in enumerate(sc.renewables):
        used = np.array(s["renewables"][r.name]["used_kw"])
        curt = np.array(s["renewables"][r.name]["curtailed_kw"])
        np.testing.assert_allclose(used + curt, sc.available[i], atol=tol)
        assert np.all(used >= -tol) and np.all(curt >= -tol)
        if not r.curtailable:
            np.testing.assert_allclose(curt, 0.0, atol=tol)
        supply += used
    for st in sc.storage:
        c = np.array(s["storage"][st.name]["charge_kw"])
        d = np.array(s["storage"][st.name]["discharge_kw"])
        soc = np.array(s["storage"][st.name]["soc"])
        assert np.all(c >= -tol) and np.all(c <= st.power_kw + tol)
        assert np.all(d >= -tol) and np.all(d <= st.power_kw + tol)
        assert not np.any((c > 1e-6) & (d > 1e-6)), "charge and discharge in one interval"
        prev = np.concatenate([[st.soc_initial], soc[:-1]])
        expected = (
            prev + (c * st.charge_efficiency - d / st.discharge_efficiency) * dt / st.energy_kwh
        )
        np.testing.assert_allclose(soc, expected, atol=1e-7)
        assert np.all(soc >= st.soc_min - 1e-7) and np.all(soc <= st.soc_max + 1e-7)
        assert soc[-1] >= st.soc_final_min - 1e-7
        supply += d
        demand += c
    for f in sc.flexible_loads:
        kw = np.array(s["flexible_loads"][f.name]["kw"])
        assert np.all(kw >= f.min_kw - tol) and np.all(kw <= f.max_kw + tol)
        if f.ramp_kw_per_interval is not None:
            steps = np.diff(kw)
            if f.initial_kw is not None:
                steps = np.concatenate([[kw[0] - f.initial_kw], steps])
            assert np.all(np.abs(steps) <= f.ramp_kw_per_interval + tol)
        if f.energy_kwh is not None:
            assert kw.sum() * dt == pytest.approx(f.energy_kwh, rel=1e-7, abs=1e-4)
        demand += kw
    np.testing.assert_allclose(supply, demand, atol=tol * 10)
    k = plan["kpis"]
    assert k["co2_kg"] == pytest.approx(float(np.sum(imp * sc.co2) * dt), rel=1e-6, abs=1e-6)
    assert k["grid_import_kwh"] == pytest.approx(float(imp.sum() * dt), rel=1e-6, abs=1e-6)
