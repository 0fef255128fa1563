"""Dispatch build + solve time against one bare HiGHS solve of the same LP.

For each size (intervals × assets) it times, in the same run and on the same machine:
- ours: ``dispatch.solve.solve`` end to end — scenario checks, building the LP from arrays, HiGHS
  (one stage for ``cost``, two for ``green_first``), reading the plan, the rule-based baseline
  and KPIs;
- bare: the same LP (the ``cost`` objective) already built as sparse arrays, handed to HiGHS
  (``passModel`` + ``run``) — the least any wrapper could spend.

Goal: ours / bare ≤ 1.5 for ``cost`` and ≤ 3 for ``green_first``. Prints a table; the median of
``--repeat`` runs is used for each figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

import numpy as np

from dispatch.lp import make_highs_lp, new_highs
from dispatch.model import build_model
from dispatch.scenario import Scenario, parse_scenario
from dispatch.solve import THROUGHPUT_PENALTY, solve


def synthetic(n_t: int, n_assets: int, seed: int = 7) -> Scenario:
    """A park of ``n_assets`` assets: renewables, storage, flexible and base loads."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_t)
    hour = (t * 0.25) % 24
    n_ren = max(1, n_assets * 3 // 10)
    n_sto = max(1, n_assets * 3 // 10)
    n_flex = max(1, n_assets * 2 // 10)
    n_load = max(1, n_assets - n_ren - n_sto - n_flex)
    renewables = []
    for i in range(n_ren):
        if i % 2:
            avail = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 100_000
        else:
            avail = 80_000 + 60_000 * np.sin(t / 96 * 2 * np.pi + i) + rng.normal(0, 5_000, n_t)
        renewables.append({"name": f"ren-{i}", "available_kw": np.clip(avail, 0, None).tolist()})
    storage = [
        {
            "name": f"bess-{i}",
            "energy_kwh": 200_000,
            "power_kw": 50_000,
            "charge_efficiency": 0.95,
            "discharge_efficiency": 0.95,
            "soc_initial": 0.5,
            "soc_min": 0.1,
            "soc_max": 0.9,
            "soc_final_min": 0.5,
        }
        for i in range(n_sto)
    ]
    flexible = [
        {
            "name": f"flex-{i}",
            "min_kw": 40_000,
            "max_kw": 60_000,
            "ramp_kw_per_interval": 2_000,
            "initial_kw": 50_000,
            "energy_kwh": 50_000 * n_t * 0.25,
        }
        for i in range(n_flex)
    ]
    loads = [
        {"name": f"load-{i}", "kw": (30_000 + 5_000 * np.sin(t / 96 * 2 * np.pi)).tolist()}
        for i in range(n_load)
    ]
    price = np.where(
        (hour < 7) | (hour >= 23),
        0.3793,
        np.where(((hour >= 8) & (hour < 12)) | ((hour >= 17) & (hour < 21)), 0.9585, 0.6689),
    )
    co2 = 0.6849 + 0.05 * np.sin(t / 96 * 2 * np.pi)
    data: dict[str, Any] = {
        "name": f"bench-{n_t}x{n_assets}",
        "start": "2026-06-01T00:00:00+08:00",
        "interval_minutes": 15,
        "objective": "cost",
        "grid": {
            "import_limit_kw": 2_000_000,
            "export_limit_kw": 0,
            "price_per_kwh": price.tolist(),
            "co2_kg_per_kwh": co2.tolist(),
        },
        "renewables": renewables,
        "loads": loads,
        "flexible_loads": flexible,
        "storage": storage,
    }
    return parse_scenario(data)


def time_bare(sc: Scenario) -> float:
    model = build_model(sc)
    lo, hi = model.lp.col_bounds()
    a = model.lp.matrix()
    row_lo = np.concatenate(model.lp.row_lower)
    row_hi = np.concatenate(model.lp.row_upper)
    cost = model.cost + THROUGHPUT_PENALTY * model.throughput
    h = new_highs()
    started = time.perf_counter()
    h.passModel(make_highs_lp(cost, lo, hi, a, row_lo, row_hi))
    h.run()
    elapsed = time.perf_counter() - started
    assert h.getModelStatus().name == "kOptimal"
    return elapsed


def time_ours(sc: Scenario, objective: str) -> float:
    started = time.perf_counter()
    plan = solve(sc, objective)
    elapsed = time.perf_counter() - started
    assert plan.status == "optimal"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="96x20,672x20,8760x10")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'size':>10} {'cols':>8} {'rows':>8} {'bare s':>9} {'cost s':>9} {'ratio':>6} "
        f"{'green s':>9} {'ratio':>6}"
    )
    for size in args.sizes.split(","):
        n_t, n_a = (int(x) for x in size.split("x"))
        sc = synthetic(n_t, n_a)
        model = build_model(sc)
        repeat = args.repeat if n_t < 5000 else max(1, args.repeat // 2)
        bare = statistics.median(time_bare(sc) for _ in range(repeat))
        cost = statistics.median(time_ours(sc, "cost") for _ in range(repeat))
        green = statistics.median(time_ours(sc, "green_first") for _ in range(repeat))
        print(
            f"{size:>10} {model.lp.n_cols:>8} {model.lp.n_rows:>8} {bare:>9.4f} {cost:>9.4f} "
            f"{cost / bare:>6.2f} {green:>9.4f} {green / bare:>6.2f}"
        )
    print("goal: cost ratio <= 1.5, green_first ratio <= 3.0")


if __name__ == "__main__":
    main()
