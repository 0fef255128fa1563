"""Forecast fitting time: the whole pipeline against one bare model fit on the same features.

For each target, one year of 15-minute data (about 35,000 rows) from the development data sets
(PV is 15-minute already; wind's 10-minute SCADA and load's half-hourly demand are put on a
15-minute grid): ours = building the features known at the issue time plus
``QuantileForecaster.fit`` (the early-stopped fit on six days in seven, then a quarter as many
trees again on every row, and the conformal bands on the held-out days' errors); bare = one fit of
its HistGradientBoostingRegressor with the same settings on the same rows and as many trees as the
pipeline ends with, so the ratio is like for like; the bare fit with 200 trees (the estimator's
default, what the pipeline would cost without early stopping) is printed beside it. Goals: ours
<= 2 s per target, ours / bare <= 1.5. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestConfig, features
from forecasting.datasets import development_cases
from forecasting.models import QuantileForecaster


def year_at_15min(
    values: pd.Series, weather: pd.DataFrame | None
) -> tuple[pd.Series, pd.DataFrame | None]:
    start = values.dropna().index[0]
    grid = pd.date_range(start, start + pd.Timedelta(days=365), freq="15min", inclusive="left")
    v = values.reindex(values.index.union(grid)).interpolate(limit=4).reindex(grid)
    w = (
        None
        if weather is None
        else weather.reindex(weather.index.union(grid)).interpolate(limit=4).reindex(grid)
    )
    return v, w


def cases() -> list[tuple[str, pd.Series, pd.DataFrame | None, BacktestConfig]]:
    """One year of each development data set at 15 minutes (PV: the case with weather)."""
    out = []
    for case in development_cases():
        if case.name == "pv (no weather)":
            continue
        values, weather = year_at_15min(case.values, case.weather)
        out.append((case.config.target, values, weather, case.config))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    print(
        f"{'target':>6} {'rows':>7} {'trees':>5} {'ours s':>7} {'bare s':>7} {'ratio':>6} "
        f"{'bare 200 s':>10} {'ratio':>6}   (goals: ours <= 2 s, ratio to the same trees <= 1.5)"
    )
    for name, values, weather, cfg in cases():
        ours, bare, bare200 = [], [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            _, _, x = features(values, cfg, weather)
            y = values.to_numpy(dtype=float)
            ok = ~np.isnan(y) & ~np.isnan(x["persist"].to_numpy())
            forecaster = QuantileForecaster(cfg.target).fit(x[ok], y[ok])
            ours.append(time.perf_counter() - started)
            trees = forecaster.iterations
            started = time.perf_counter()
            forecaster.estimator(max_iter=trees).fit(x[ok], y[ok] / forecaster.scale)
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            forecaster.estimator(max_iter=200).fit(x[ok], y[ok] / forecaster.scale)
            bare200.append(time.perf_counter() - started)
        o, b, b2 = (statistics.median(t) for t in (ours, bare, bare200))
        print(
            f"{name:>6} {int(ok.sum()):>7} {trees:>5} {o:>7.2f} {b:>7.2f} {o / b:>6.2f} "
            f"{b2:>10.2f} {o / b2:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
