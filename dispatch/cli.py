"""``zcpark dispatch solve SCENARIO.json [--out PLAN.json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dispatch.scenario import read_scenario
from dispatch.solve import DispatchError, solve


def run_solve(args: argparse.Namespace) -> int:
    sc = read_scenario(args.scenario)
    try:
        plan = solve(sc)
    except DispatchError as exc:
        print(f"zcpark dispatch solve: {args.scenario}: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(plan.to_json(), indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        k, b = plan.kpis, plan.baseline_kpis
        print(
            f"{sc.name}: {plan.status} in {plan.solve_seconds:.3f} s; green share "
            f"{k.green_share:.1%} (rule-based {b.green_share:.1%}), CO2 {k.co2_kg / 1000:.1f} t "
            f"({b.co2_kg / 1000:.1f} t), cost {k.cost:,.0f} ({b.cost:,.0f}); plan in {args.out}",
            file=sys.stderr,
        )
    else:
        print(text)
    return 0
