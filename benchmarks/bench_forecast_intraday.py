"""Intraday forecasts: the live issue (features as known at the issue moment) with and without the
correction by the model's newest error, against persistence of the newest value, by lead time.

For wind (ERA5) and load (Victoria) of the development data sets: the model is fit once on the
first 240 days (day-ahead convention, as the server trains), then issued every 6 hours over the
remaining days with ``issued_at``; nRMSE of each at leads 1, 3, 6, 12 and 24 h, and the ratio of
the corrected model to persistence measured in the same run (below 1: better than persistence).

Usage: python benchmarks/bench_forecast_intraday.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.backtest import features
from forecasting.datasets import development_cases
from forecasting.models import QuantileForecaster, design_matrix

LEADS = (1, 3, 6, 12, 24)


def main() -> None:
    print(
        "| data set | lead h | persistence nRMSE | model nRMSE | corrected nRMSE | corrected / persistence |"
    )
    print("|---|---|---|---|---|---|")
    for case in development_cases({"wind", "load"}):
        cfg = case.config
        values, ppd, x = features(case.values, cfg, case.weather)
        y = values.to_numpy(dtype=float)
        index = pd.DatetimeIndex(values.index)
        cut = index[0] + pd.Timedelta(days=240)
        train = (index < cut) & ~np.isnan(y) & ~np.isnan(x["persist"].to_numpy())
        model = QuantileForecaster(cfg.target).fit(x[train], y[train])
        scale = cfg.capacity_kw or float(np.nanmean(y))
        weather = case.weather.reindex(index) if case.weather is not None else None
        if weather is not None and cfg.workday_col:
            workday = weather[cfg.workday_col].round().to_numpy(dtype=float)
            weather = weather.drop(columns=[cfg.workday_col])
        else:
            workday = None
        errs: dict[str, dict[int, list[float]]] = {
            k: {h: [] for h in LEADS} for k in ("p", "m", "c")
        }
        for issued in pd.date_range(cut, index[-1] - pd.Timedelta(hours=25), freq="6h"):
            seen = values.copy()
            seen[index >= issued] = np.nan
            xl = design_matrix(
                seen,
                cfg.target,
                issued.tz_convert(cfg.tz).hour,
                cfg.tz,
                ppd,
                weather,
                cfg.lat,
                cfg.lon,
                workday,
                issued_at=issued,
            )
            rows = np.nonzero(index >= issued)[0][: max(LEADS)]
            last = np.nonzero((index < issued) & ~np.isnan(y))[0]
            if len(last) == 0 or index[last[-1]] < issued - pd.Timedelta(hours=1):
                continue
            pred = model.predict(xl.iloc[rows])
            error = y[last[-1]] - model.predict(xl.iloc[[last[-1]]])[0, 1]
            corrected = model.intraday(pred, error)
            for h in LEADS:
                i = h - 1
                if np.isnan(y[rows[i]]):
                    continue
                errs["p"][h].append(y[last[-1]] - y[rows[i]])
                errs["m"][h].append(pred[i, 1] - y[rows[i]])
                errs["c"][h].append(corrected[i, 1] - y[rows[i]])
        for h in LEADS:
            p, m, c = (float(np.sqrt(np.mean(np.square(errs[k][h])))) / scale for k in "pmc")
            print(f"| {case.name} | {h} | {p:.3f} | {m:.3f} | {c:.3f} | {c / p:.2f} |", flush=True)
        print(f"| {case.name} | rho per hour | {model.rho:.2f} | | | |")


if __name__ == "__main__":
    main()
