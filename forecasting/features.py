"""Features of a day-ahead forecast, each computed only from what is known at the issue time.

A target time ``t`` of local day D is forecast at ``issue_hour`` on D-1 (local time). A lagged
value ``t - k·24 h`` is usable only if it lies before that issue moment: ``k_known(t)`` is the
smallest such k >= 1 (1 before the issue hour, 2 after it). Every lag feature here uses it, so a
row's features never contain data from after its own issue time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def issue_times(index: pd.DatetimeIndex, issue_hour: int, tz: str) -> pd.DatetimeIndex:
    """The issue moment (UTC) of each target time: ``issue_hour`` local on the day before."""
    local = index.tz_convert(tz)
    day = local.normalize()
    issue = day - pd.Timedelta(days=1) + pd.Timedelta(hours=issue_hour)
    return issue.tz_convert("UTC")


def k_known(index: pd.DatetimeIndex, issue_hour: int, tz: str) -> np.ndarray:
    """Smallest k >= 1 with t - k·24 h before the issue moment of t."""
    issue = issue_times(index, issue_hour, tz)
    gap = (index - issue) / pd.Timedelta(hours=24)  # in days; > 0
    k: np.ndarray = np.maximum(np.floor(np.asarray(gap, dtype=float)).astype(int) + 1, 1)
    return k


def known_lag(
    series: pd.Series, k: np.ndarray, periods_per_day: int, extra_days: int = 0
) -> np.ndarray:
    """Value at t - (k + extra_days)·24 h for each row (NaN where missing)."""
    out = np.full(len(series), np.nan)
    for kk in np.unique(k):
        shifted = series.shift((int(kk) + extra_days) * periods_per_day).to_numpy()
        mask = k == kk
        out[mask] = shifted[mask]
    return out


def known_climatology(
    series: pd.Series, k: np.ndarray, periods_per_day: int, days: int = 30
) -> np.ndarray:
    """Mean of the same time of day over the ``days`` days known at the issue time."""
    out = np.full(len(series), np.nan)
    values = series.to_numpy()
    n = len(values)
    for kk in np.unique(k):
        acc = np.zeros(n)
        cnt = np.zeros(n)
        for j in range(int(kk), int(kk) + days):
            lag = j * periods_per_day
            if lag >= n:
                break
            shifted = np.full(n, np.nan)
            shifted[lag:] = values[: n - lag]
            ok = ~np.isnan(shifted)
            acc[ok] += shifted[ok]
            cnt[ok] += 1
        mask = k == kk
        with np.errstate(invalid="ignore", divide="ignore"):
            clim = np.where(cnt >= min(10, days), acc / np.maximum(cnt, 1), np.nan)
        out[mask] = clim[mask]
    return out


def calendar(index: pd.DatetimeIndex, tz: str) -> pd.DataFrame:
    local = index.tz_convert(tz)
    hour = local.hour + local.minute / 60
    doy = local.day_of_year
    return pd.DataFrame(
        {
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24),
            "doy_sin": np.sin(2 * np.pi * doy / 365.25),
            "doy_cos": np.cos(2 * np.pi * doy / 365.25),
            "dow": local.day_of_week,
            "weekend": (local.day_of_week >= 5).astype(float),
            "hour": hour,
        },
        index=index,
    )


def clear_sky_ghi(index: pd.DatetimeIndex, lat: float, lon: float) -> np.ndarray:
    """Clear-sky global horizontal irradiance [W/m2] (pvlib, Ineichen with default turbidity)."""
    import pvlib

    loc = pvlib.location.Location(lat, lon)
    cs = loc.get_clearsky(index, model="simplified_solis")
    ghi: np.ndarray = cs["ghi"].to_numpy(dtype=float)
    return ghi
