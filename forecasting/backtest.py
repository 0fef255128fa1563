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

from forecasting.bands import ConformalBands
from forecasting.features import issue_times, workdays
from forecasting.metrics import coverage, interval_score, nmae, nrmse, pinball, skill
from forecasting.models import QuantileForecaster, design_matrix, hour_bins, plausible_range


@dataclass(frozen=True)
class BacktestConfig:
    target: str  # pv | wind | load
    issue_hour: int = 10
    tz: str = "Asia/Shanghai"
    capacity_kw: float | None = None
    lat: float | None = None
    lon: float | None = None
    refit_days: int = 7
    #: days before the first forecast day: the first fit sees only these (a new site's case)
    min_history_days: int = 28
    #: step of the bands' adaptive tail levels per day of known outcomes, shared among the day's
    #: rows (0.005 per hourly row; 0: plain rolling conformal)
    band_gamma: float = 0.12
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


def inputs(
    values: pd.Series, cfg: BacktestConfig, weather: pd.DataFrame | None = None
) -> tuple[pd.Series, int, pd.DataFrame | None, np.ndarray | None]:
    """The values on a regular grid, its steps per day, the weather aligned to the grid (without
    the day-type column) and the day type of every row from ``cfg`` (None: Monday to Friday)."""
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
    return values, ppd, weather, workday


def features(
    values: pd.Series, cfg: BacktestConfig, weather: pd.DataFrame | None = None
) -> tuple[pd.Series, int, pd.DataFrame]:
    """The values on a regular grid, its steps per day, and the design matrix of every row, with
    the weather aligned to the grid and the day type from ``cfg``."""
    values, ppd, weather, workday = inputs(values, cfg, weather)
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
    hours = hour_bins(x)
    bands = ConformalBands(gamma=cfg.band_gamma / ppd)
    fed = np.zeros(len(values), dtype=bool)  # outcomes already given to the adaptive levels
    for day in days[cfg.min_history_days :]:
        rows = np.nonzero(local_day == day)[0]
        issued = issue[rows[0]]
        known = index < issued  # targets known before the issue moment only
        if (
            model is None
            or last_fit is None
            or issued - last_fit >= pd.Timedelta(days=cfg.refit_days)
        ):
            train = trainable & known
            if train.sum() < 10 * ppd:
                continue
            model = QuantileForecaster(cfg.target).fit(x[train], y[train])
            last_fit = issued
        y_min, y_max = meter_range(cfg, y[known & ~np.isnan(y)])
        p50 = np.clip(model.predict(x.iloc[rows])[:, 1], y_min, y_max)
        scored = known & ~np.isnan(preds[:, 1]) & ~np.isnan(y)
        new = scored & ~fed
        bands.update(y[new], preds[new, 0], preds[new, 2])
        fed |= new
        resid, bins = band_errors(preds[:, 1], y, index, hours, scored, issued, ppd, model)
        lo, hi = bands.calibrate(resid, bins).predict(p50, hours[rows], y_min, y_max)
        # a meter's constant night reading must fall inside a band of width 0, rounding apart
        eps = 1e-9 * max(float(np.nanmax(np.abs(y[known]))), 1.0)
        preds[rows] = np.column_stack([np.minimum(lo, p50) - eps, p50, np.maximum(hi, p50) + eps])
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
    scores = band_scores(obs, e["p10"], e["p50"], e["p90"], scale)
    pers_nrmse = nrmse(obs, e["persistence"].to_numpy(), scale)
    metrics = {
        "target": cfg.target,
        "rows": len(e),
        "days": int(pd.DatetimeIndex(e.index).tz_convert(cfg.tz).normalize().nunique()),
        "issue_hour": cfg.issue_hour,
        "normaliser": float(scale),
        "model": scores,
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
        "skill_vs_persistence": skill(scores["nrmse"], pers_nrmse),
    }
    return metrics, out


#: the backtest's own errors that calibrate a band: the newest ``BAND_DAYS`` days known at the
#: issue time; while fewer than ``BAND_MIN_DAYS`` days of them are known (a new site), the
#: model's held-out days' errors join them
BAND_DAYS = 56
BAND_MIN_DAYS = 14


def band_errors(
    p50: np.ndarray,
    y: np.ndarray,
    index: pd.DatetimeIndex,
    hours: np.ndarray,
    scored: np.ndarray,
    issued: pd.Timestamp,
    periods_per_day: int,
    model: QuantileForecaster,
) -> tuple[np.ndarray, np.ndarray]:
    """The errors (observation − P50) that calibrate the bands of a forecast issued at
    ``issued``, and their hours of day: those of this backtest's own earlier forecasts of the last
    ``BAND_DAYS`` days (rows ``scored``: forecast, and observed before the issue moment), and the
    model's held-out days' errors while fewer than ``BAND_MIN_DAYS`` days of its own are known."""
    recent = scored & (index >= issued - pd.Timedelta(days=BAND_DAYS))
    resid, bins = y[recent] - p50[recent], hours[recent]
    if recent.sum() < BAND_MIN_DAYS * periods_per_day:
        resid = np.concatenate([resid, model.holdout_resid])
        bins = np.concatenate([bins, model.holdout_hours])
    return resid, bins


def meter_range(cfg: BacktestConfig, known: np.ndarray) -> tuple[float, float]:
    """Where P10..P90 may lie: for PV and wind from the lowest reading known (a meter may read
    below zero at night) or 0 to the capacity; otherwise the known readings' range, widened."""
    lo, hi = plausible_range(known)
    if cfg.target in ("pv", "wind"):
        floor = min(float(np.min(known)), 0.0) if len(known) else 0.0
        return floor, float(cfg.capacity_kw) if cfg.capacity_kw else hi
    return lo, hi


def band_scores(
    obs: np.ndarray, p10: Any, p50: Any, p90: Any, normaliser: float
) -> dict[str, float]:
    """§9's ``model`` block of the forecasts of observations ``obs``: nMAE and nRMSE of the P50,
    the pinball loss averaged over P10/P50/P90, the interval score and coverage of P10–P90."""
    lo, mid, hi = (np.asarray(a, dtype=float) for a in (p10, p50, p90))
    return {
        "nmae": nmae(obs, mid, normaliser),
        "nrmse": nrmse(obs, mid, normaliser),
        "pinball": pinball(obs, {0.1: lo, 0.5: mid, 0.9: hi}, normaliser),
        "interval_score": interval_score(obs, lo, hi, normaliser),
        "coverage_p10_p90": coverage(obs, lo, hi),
    }


def normaliser(cfg: BacktestConfig, y: np.ndarray) -> float:
    """§9's normaliser of nMAE and nRMSE: the capacity (PV, wind; else the 99.9th percentile of
    the observations) or the mean (load)."""
    return _normaliser(cfg, y)


def _normaliser(cfg: BacktestConfig, y: np.ndarray) -> float:
    finite = y[~np.isnan(y)]
    if cfg.target == "load":
        return float(np.mean(finite))
    if cfg.capacity_kw:
        return float(cfg.capacity_kw)
    return float(np.percentile(finite, 99.9))
