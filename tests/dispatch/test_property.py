"""Property: an optimal plan's CO2 is never above the rule-based plan's (where that is feasible)."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, assume, given, settings
from zctest_dispatch import assert_physics, make_scenario

from dispatch.baseline import is_feasible, rule_based
from dispatch.solve import Infeasible, solve


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_t = draw(st.integers(2, 12))
    kw = st.floats(0, 200, allow_nan=False, allow_infinity=False)
    series = st.lists(kw, min_size=n_t, max_size=n_t)
    renewables = [
        {"name": f"r{i}", "available_kw": draw(series), "curtailable": True}
        for i in range(draw(st.integers(0, 2)))
    ]
    storage = []
    for i in range(draw(st.integers(0, 2))):
        soc_min = draw(st.floats(0, 0.3))
        soc_max = draw(st.floats(0.6, 1))
        soc_init = draw(st.floats(soc_min, soc_max))
        storage.append(
            {
                "name": f"s{i}",
                "energy_kwh": draw(st.floats(10, 400)),
                "power_kw": draw(st.floats(5, 150)),
                "charge_efficiency": draw(st.floats(0.7, 1)),
                "discharge_efficiency": draw(st.floats(0.7, 1)),
                "soc_initial": soc_init,
                "soc_min": soc_min,
                "soc_max": soc_max,
                "soc_final_min": draw(st.floats(soc_min, soc_init)),
            }
        )
    flexible = []
    for i in range(draw(st.integers(0, 2))):
        lo = draw(st.floats(0, 50))
        hi = draw(st.floats(lo + 1, 150))
        level = draw(st.floats(lo, hi))
        flexible.append(
            {
                "name": f"f{i}",
                "min_kw": lo,
                "max_kw": hi,
                "ramp_kw_per_interval": draw(st.floats(1, 100)),
                "initial_kw": level,
                "energy_kwh": level * n_t,
            }
        )
    return {
        "grid": {
            "import_limit_kw": 2000,
            "export_limit_kw": draw(st.sampled_from([0, 50])),
            "price_per_kwh": draw(st.lists(st.floats(0.1, 1.0), min_size=n_t, max_size=n_t)),
            "export_price_per_kwh": 0.05,
            "co2_kg_per_kwh": draw(st.lists(st.floats(0.2, 0.9), min_size=n_t, max_size=n_t)),
        },
        "renewables": renewables,
        "loads": [{"name": "base", "kw": draw(series)}],
        "storage": storage,
        "flexible_loads": flexible,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(["green_first", "cost"]))
def test_optimal_co2_never_above_rule_based(data: dict[str, Any], objective: str) -> None:
    sc = make_scenario(objective=objective, **data)
    base = rule_based(sc)
    assume(is_feasible(sc, base))
    try:
        plan = solve(sc)
    except Infeasible as exc:  # the rules found a feasible plan, so this must not happen
        raise AssertionError(
            f"solver says infeasible where the baseline is feasible: {exc}"
        ) from exc
    assert_physics(sc, plan.to_json())
    if objective == "green_first":
        assert plan.kpis.co2_kg <= plan.baseline_kpis.co2_kg + 1e-6 * max(
            1.0, plan.baseline_kpis.co2_kg
        )
    else:
        # the throughput penalty (1e-6 per kWh) may cost a little against the rules
        assert plan.kpis.cost <= plan.baseline_kpis.cost + 1e-4 * max(
            1.0, abs(plan.baseline_kpis.cost)
        )
