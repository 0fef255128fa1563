"""Rolling-origin backtest (DESIGN.md §9): every day D is forecast at ``issue_hour`` on D-1 using
only data before that moment; models are refit on past data only (weekly by default).

References, computed the same way: ``persistence_day_ahead`` (the value at t - k·24 h for the
smallest k whose observation is known at the issue time) and ``climatology`` (the mean of the
same time of day over the 30 days known at the issue time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.features import issue_times, workdays
from forecasting.metrics import coverage, nmae, nrmse, pinball, skill
from forecasting.models import QuantileForecaster, design_matrix


@dataclass(frozen=True)
class BacktestConfig:
    target: str  # pv | wind | load
    issue_hour: int = 10
    tz: str = "Asia/Shanghai"
    capacity_kw: float | None = None
    lat: float | None = None
    lon: float | None = None
    refit_days: int = 7
    min_history_days: int = 35
    #: the weather column holding the day type (1 on working days), taken out of the weather
    workday_col: str | None = None
    #: else a holiday calendar of config/factors/holidays.yaml ("cn"); else Monday to Friday
    holidays: str | None = None


def regularise(values: pd.Series) -> tuple[pd.Series, int]:
    """Values on a regular UTC grid (the data's own step) and the number of steps per day."""
    values = values.sort_index()
    values = values[~values.index.duplicated(keep="first")]
    idx = pd.DatetimeIndex(values.index)
    diffs = np.diff(idx.asi8)  # in the index's own unit (pandas 3 keeps s, ms, us or ns)
    if len(diffs) == 0 or np.median(diffs) <= 0:
        raise ValueError("the time column needs at least two distinct, increasing times")
    step = pd.Timedelta(int(np.median(diffs)), unit=idx.unit)
    ppd = round(pd.Timedelta(days=1) / step)
    if ppd < 1 or pd.Timedelta(days=1) % step != pd.Timedelta(0):
        raise ValueError(f"the data's step {step} does not divide a day")
    grid = pd.date_range(values.index[0].floor(step), values.index[-1], freq=step, tz="UTC")
    return values.reindex(grid), ppd


def features(
    values: pd.Series, cfg: BacktestConfig, weather: pd.DataFrame | None = None
) -> tuple[pd.Series, int, pd.DataFrame]:
    """The values on a regular grid, its steps per day, and the design matrix of every row, with
    the weather aligned to the grid and the day type from ``cfg``."""
    values, ppd = regularise(values)
    workday = None
    if weather is not None:
        weather = weather.sort_index()
        weather = weather[~weather.index.duplicated(keep="first")].reindex(values.index)
        if cfg.workday_col is not None:
            workday = weather[cfg.workday_col].round().to_numpy(dtype=float)
            weather = weather.drop(columns=[cfg.workday_col])
            if weather.columns.empty:
                weather = None
    if workday is None and cfg.holidays is not None:
        from config.factors import load_factors

        calendar = load_factors().holidays[cfg.holidays]
        workday = workdays(pd.DatetimeIndex(values.index), cfg.tz, calendar)
    x = design_matrix(
        values, cfg.target, cfg.issue_hour, cfg.tz, ppd, weather, cfg.lat, cfg.lon, workday
    )
    return values, ppd, x


def run_backtest(
    values: pd.Series,
    cfg: BacktestConfig,
    weather: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics (§9 metrics.json) and the per-time forecasts of the whole backtest."""
    values, ppd, x = features(values, cfg, weather)
    index = pd.DatetimeIndex(values.index)
    issue = issue_times(index, cfg.issue_hour, cfg.tz)
    local_day = index.tz_convert(cfg.tz).normalize()
    days = local_day.unique()
    y = values.to_numpy(dtype=float)
    scale = _normaliser(cfg, y)
    preds = np.full((len(values), 3), np.nan)
    model: QuantileForecaster | None = None
    last_fit: pd.Timestamp | None = None
    trainable = ~np.isnan(y) & ~np.isnan(x["persist"].to_numpy())
    hours = np.floor(x["hour"].to_numpy()).astype(int) % 24
    for day in days[cfg.min_history_days :]:
        rows = np.nonzero(local_day == day)[0]
        issued = issue[rows[0]]
        if (
            model is None
            or last_fit is None
            or issued - last_fit >= pd.Timedelta(days=cfg.refit_days)
        ):
            train = trainable & (index < issued)  # targets known before the issue moment only
            if train.sum() < 10 * ppd:
                continue
            model = QuantileForecaster(cfg.target).fit(x[train], y[train])
            last_fit = issued
        preds[rows] = model.predict(x.iloc[rows])
        recalibrate_bands(preds, y, index, hours, rows, issued)
    if cfg.target in ("pv", "wind"):
        preds = np.clip(preds, 0, cfg.capacity_kw if cfg.capacity_kw else None)
    out = pd.DataFrame(
        {
            "obs": y,
            "p10": preds[:, 0],
            "p50": preds[:, 1],
            "p90": preds[:, 2],
            "persistence": x["persist"].to_numpy(),
            "climatology": x["climatology"].to_numpy(),
        },
        index=index,
    )
    ok = out.notna().all(axis=1)
    e = out[ok]
    if e.empty:
        raise ValueError(
            f"no day could be evaluated: need more than {cfg.min_history_days} days of data"
        )
    obs = e["obs"].to_numpy()
    model_nrmse = nrmse(obs, e["p50"].to_numpy(), scale)
    pers_nrmse = nrmse(obs, e["persistence"].to_numpy(), scale)
    metrics = {
        "target": cfg.target,
        "rows": len(e),
        "days": int(pd.DatetimeIndex(e.index).tz_convert(cfg.tz).normalize().nunique()),
        "issue_hour": cfg.issue_hour,
        "normaliser": float(scale),
        "model": {
            "nmae": nmae(obs, e["p50"].to_numpy(), scale),
            "nrmse": model_nrmse,
            "pinball": pinball(
                obs,
                {0.1: e["p10"].to_numpy(), 0.5: e["p50"].to_numpy(), 0.9: e["p90"].to_numpy()},
                scale,
            ),
            "coverage_p10_p90": coverage(obs, e["p10"].to_numpy(), e["p90"].to_numpy()),
        },
        "references": {
            "persistence_day_ahead": {
                "nmae": nmae(obs, e["persistence"].to_numpy(), scale),
                "nrmse": pers_nrmse,
            },
            "climatology": {
                "nmae": nmae(obs, e["climatology"].to_numpy(), scale),
                "nrmse": nrmse(obs, e["climatology"].to_numpy(), scale),
            },
        },
        "skill_vs_persistence": skill(model_nrmse, pers_nrmse),
    }
    return metrics, out


BAND_DAYS = 60
BAND_MIN_DAYS = 14


def recalibrate_bands(
    preds: np.ndarray,
    y: np.ndarray,
    index: pd.DatetimeIndex,
    hours: np.ndarray,
    rows: np.ndarray,
    issued: pd.Timestamp,
) -> None:
    """Replace the model's P10/P90 of ``rows`` by the 10th/90th percentiles, by hour of day, of the
    errors of this backtest's own earlier day-ahead forecasts whose targets are known at the issue
    time (the last 60 days) — once there are 14 days of them. In place."""
    past = (index < issued) & (index >= issued - pd.Timedelta(days=BAND_DAYS))
    known = past & ~np.isnan(preds[:, 1]) & ~np.isnan(y)
    if known.sum() < BAND_MIN_DAYS * 24:
        return
    err = y[known] - preds[known, 1]
    err_hours = hours[known]
    for h in np.unique(hours[rows]):
        e = err[err_hours == h]
        if len(e) < BAND_MIN_DAYS:
            continue
        lo, hi = np.quantile(e, 0.1), np.quantile(e, 0.9)
        sel = rows[hours[rows] == h]
        preds[sel, 0] = np.minimum(preds[sel, 1] + lo, preds[sel, 1])
        preds[sel, 2] = np.maximum(preds[sel, 1] + hi, preds[sel, 1])


def _normaliser(cfg: BacktestConfig, y: np.ndarray) -> float:
    finite = y[~np.isnan(y)]
    if cfg.target == "load":
        return float(np.mean(finite))
    if cfg.capacity_kw:
        return float(cfg.capacity_kw)
    return float(np.percentile(finite, 99.9))
