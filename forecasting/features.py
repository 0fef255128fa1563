"""Features of a day-ahead forecast, each computed only from what is known at the issue time.

A target time ``t`` of local day D is forecast at ``issue_hour`` on D-1 (local time). A lagged
value ``t - k·24 h`` is usable only if it lies before that issue moment: ``k_known(t)`` is the
smallest such k >= 1 (1 before the issue hour, 2 after it). Every lag feature here uses it, so a
row's features never contain data from after its own issue time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from config.factors import HolidayCalendar


def issue_times(
    index: pd.DatetimeIndex,
    issue_hour: int,
    tz: str,
    issued_at: pd.Timestamp | None = None,
    lead: pd.Timedelta | None = None,
) -> pd.DatetimeIndex:
    """The issue moment (UTC) of each target time: ``issue_hour`` local on the day before — or,
    for the rows at and after ``issued_at`` (a live forecast's horizon), ``issued_at`` itself,
    so that the whole horizon, from the next quarter hour to two days out, uses what is known
    at that moment and nothing later — or, with ``lead``, ``lead`` before the row's own time
    (the training rows of a model for that lead time)."""
    if lead is not None:
        return index - lead
    local = index.tz_convert(tz)
    day = local.normalize()
    issue = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=issue_hour)).tz_convert("UTC")
    if issued_at is not None:
        at = pd.Timestamp(issued_at).tz_convert("UTC")
        issue = issue.where(index < at, at)
    return issue


def k_known(
    index: pd.DatetimeIndex,
    issue_hour: int,
    tz: str,
    issued_at: pd.Timestamp | None = None,
    lead: pd.Timedelta | None = None,
) -> np.ndarray:
    """Smallest k >= 1 with t - k·24 h before the issue moment of t."""
    issue = issue_times(index, issue_hour, tz, issued_at, lead)
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


def calendar(
    index: pd.DatetimeIndex, tz: str, periods_per_day: int, workday: np.ndarray | None = None
) -> pd.DataFrame:
    """Time of day and year, day of week, and the day type (1 on working days) of the target's
    local day, the day before and the day after — a holiday calendar is known years ahead."""
    local = index.tz_convert(tz)
    hour = local.hour + local.minute / 60
    doy = local.day_of_year
    work = monday_to_friday(index, tz) if workday is None else np.asarray(workday, dtype=float)
    return pd.DataFrame(
        {
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24),
            "doy_sin": np.sin(2 * np.pi * doy / 365.25),
            "doy_cos": np.cos(2 * np.pi * doy / 365.25),
            "dow": local.day_of_week,
            "weekend": (local.day_of_week >= 5).astype(float),
            "workday": work,
            "workday_yday": _shift(work, periods_per_day),
            "workday_tmrw": _shift(work, -periods_per_day),
            "hour": hour,
        },
        index=index,
    )


def monday_to_friday(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    return np.asarray(index.tz_convert(tz).day_of_week < 5, dtype=float)


def workdays(index: pd.DatetimeIndex, tz: str, holidays: HolidayCalendar) -> np.ndarray:
    """1.0 where the local day is a working day of ``holidays`` (public holidays off, make-up
    working days on, weekends off otherwise)."""
    days = index.tz_convert(tz).normalize()
    unique = days.unique()
    flags = {d: float(holidays.is_workday(d.date())) for d in unique}
    return np.array([flags[d] for d in days])


def same_type_lag(
    series: pd.Series,
    workday: np.ndarray,
    k: np.ndarray,
    periods_per_day: int,
    max_days: int = 14,
) -> np.ndarray:
    """Value at the same time of the newest day known at the issue time (t - j·24 h, j >= k)
    whose day type (working day or not) is the target's: a Monday's load from a Friday, a
    holiday's from a Sunday."""
    values = series.to_numpy(dtype=float)
    n = len(values)
    rows = np.arange(n)
    out = np.full(n, np.nan)
    found = np.zeros(n, dtype=bool)
    for j in range(1, max_days + 1):
        src = rows - j * periods_per_day
        ok = (src >= 0) & (j >= k) & ~found
        ok[ok] = workday[src[ok]] == workday[ok]
        out[ok] = values[src[ok]]
        found |= ok
    return out


def _shift(values: np.ndarray, periods: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if periods > 0:
        out[periods:] = values[:-periods]
    elif periods < 0:
        out[:periods] = values[-periods:]
    else:
        out[:] = values
    return out


def clear_sky_ghi(index: pd.DatetimeIndex, lat: float, lon: float) -> np.ndarray:
    """Clear-sky global horizontal irradiance [W/m2] (pvlib, Ineichen with default turbidity)."""
    import pvlib

    loc = pvlib.location.Location(lat, lon)
    cs = loc.get_clearsky(index, model="simplified_solis")
    ghi: np.ndarray = cs["ghi"].to_numpy(dtype=float)
    return ghi


def last_known(
    series: pd.Series,
    issue_hour: int,
    tz: str,
    issued_at: pd.Timestamp | None = None,
    lead: pd.Timedelta | None = None,
) -> np.ndarray:
    """The newest observation before each row's issue moment (NaN values skipped)."""
    index = pd.DatetimeIndex(series.index)
    issue = issue_times(index, issue_hour, tz, issued_at, lead)
    filled = series.ffill().to_numpy(dtype=float)
    pos = np.searchsorted(index.asi8, issue.as_unit(index.unit).asi8, side="left") - 1
    out = np.full(len(series), np.nan)
    ok = pos >= 0
    out[ok] = filled[pos[ok]]
    return out


def weather_features(weather: pd.DataFrame, periods_per_day: int, tz: str) -> pd.DataFrame:
    """Each weather column at the target time, an hour before and after and a day before, and its
    mean, min and max over the target's local day and over the day before: all inside the span of
    a day-ahead weather forecast (or of the observations before it)."""
    step = max(periods_per_day // 24, 1)
    day = pd.DatetimeIndex(weather.index).tz_convert(tz).normalize()
    out = {}
    for col in weather.columns:
        v = weather[col].astype(float)
        out[f"w_{col}"] = v.to_numpy()
        out[f"w_{col}_prev"] = v.shift(step).to_numpy()
        out[f"w_{col}_next"] = v.shift(-step).to_numpy()
        out[f"w_{col}_yday"] = v.shift(periods_per_day).to_numpy()
        out[f"w_{col}_tmrw"] = v.shift(-periods_per_day).to_numpy()
        grouped = v.groupby(day)
        for agg in ("mean", "max", "min"):
            daily = grouped.transform(agg)
            out[f"w_{col}_day_{agg}"] = daily.to_numpy()
            out[f"w_{col}_yday_{agg}"] = daily.shift(periods_per_day).to_numpy()
    return pd.DataFrame(out, index=weather.index)
