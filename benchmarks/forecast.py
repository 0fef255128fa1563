"""Forecast fitting time: the whole pipeline against one bare model fit on the same features.

For each target, one year of 15-minute data (about 35,000 rows) from the development data sets
(PV is 15-minute already; wind's 10-minute SCADA and load's half-hourly demand are put on a
15-minute grid): ours = building the features known at the issue time plus
``QuantileForecaster.fit`` (the band probe and the final model); bare = one
HistGradientBoostingRegressor fit with the same settings on the same features. Goals: ours <= 2 s
per target, ours / bare <= 1.5. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from forecasting.datasets import LOAD_SITE, PV_SITE, WIND_SITE, fetch, read_load, read_pv, read_wind
from forecasting.models import QuantileForecaster, design_matrix


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


def cases() -> list[
    tuple[str, pd.Series, pd.DataFrame | None, str, str, float | None, float | None]
]:
    pv, pw = read_pv(fetch("pv"))
    wind, ww = read_wind(fetch("wind"))
    load, lw = read_load(fetch("load"))
    return [
        (
            "pv",
            *year_at_15min(pv, pw),
            "pv",
            str(PV_SITE["tz"]),
            float(PV_SITE["lat"]),
            float(PV_SITE["lon"]),
        ),
        ("wind", *year_at_15min(wind, ww), "wind", str(WIND_SITE["tz"]), None, None),
        ("load", *year_at_15min(load, lw), "load", str(LOAD_SITE["tz"]), None, None),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    print(
        f"{'target':>6} {'rows':>7} {'ours s':>8} {'bare s':>8} {'ratio':>6}   (goals: ours <= 2 s, ratio <= 1.5)"
    )
    for name, values, weather, target, tz, lat, lon in cases():
        ours, bare = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            x = design_matrix(values, target, 10, tz, 96, weather, lat, lon)
            y = values.to_numpy(dtype=float)
            ok = ~np.isnan(y) & ~np.isnan(x["persist"].to_numpy())
            scale = float(np.nanmax(np.abs(y))) or 1.0
            QuantileForecaster().fit(x[ok], y[ok] / scale)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            HistGradientBoostingRegressor(
                max_iter=200,
                learning_rate=0.1,
                max_leaf_nodes=31,
                min_samples_leaf=20,
                early_stopping=False,
                random_state=0,
            ).fit(x[ok], y[ok] / scale)
            bare.append(time.perf_counter() - started)
        o, b = statistics.median(ours), statistics.median(bare)
        print(f"{name:>6} {int(ok.sum()):>7} {o:>8.2f} {b:>8.2f} {o / b:>6.2f}")


if __name__ == "__main__":
    main()
