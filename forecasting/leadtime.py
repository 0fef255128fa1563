"""Accuracy and band coverage by lead time: the backtest of a live forecaster issued every few hours
for the next two days, as the server issues (``zcpark forecast backtest --leads``).

Every ``every_hours`` from the end of the first ``min_history_days`` days, a forecast of the next
``horizon_hours`` is issued with the features as known at that moment (``design_matrix(...,
issued_at=...)``), moved by the model's error on the newest measurement when it is at most an hour
old (:meth:`QuantileForecaster.intraday`), exactly as the server's live issue. The models are the
day-ahead backtest's: refit every ``refit_days`` on the rows known at the issue moment. The bands
are conformal (:mod:`forecasting.bands`) on this backtest's own earlier errors in the same lead
bucket, by hour of day, with adaptive levels per bucket: errors a quarter of an hour out are much
smaller than errors a day out and are not pooled with them.

Each bucket is scored on every interval whose lead falls in it (lead = start of the interval −
issue moment): §9's model block, persistence (the value t − k·24 h for the smallest k known at
the issue moment, as §9's day-ahead persistence) and the skill against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.backtest import (
    BAND_DAYS,
    BAND_MIN_DAYS,
    BacktestConfig,
    band_scores,
    features,
    inputs,
    meter_range,
    normaliser,
)
from forecasting.bands import ConformalBands
from forecasting.metrics import nrmse, skill
from forecasting.models import QuantileForecaster, design_matrix, hour_bins

#: the lead buckets [h): name, from, to
LEAD_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("0-1h", 0.0, 1.0),
    ("1-6h", 1.0, 6.0),
    ("6-24h", 6.0, 24.0),
    ("24-48h", 24.0, 48.0),
)
#: days of history a live issue's features read (30-day climatology at up to k = 3, a week lag)
LOOKBACK_DAYS = 40


@dataclass(frozen=True)
class LeadConfig:
    every_hours: int = 6
    horizon_hours: int = 48


def lead_bucket(lead_hours: np.ndarray) -> np.ndarray:
    """Index into LEAD_BUCKETS of each lead [h] (-1 outside every bucket)."""
    out = np.full(len(lead_hours), -1, dtype=np.int64)
    for i, (_, lo, hi) in enumerate(LEAD_BUCKETS):
        out[(lead_hours >= lo) & (lead_hours < hi)] = i
    return out


def run_lead_backtest(
    values: pd.Series,
    cfg: BacktestConfig,
    weather: pd.DataFrame | None = None,
    leads: LeadConfig | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``by_lead`` metrics (bucket name -> scores) and every issued row (issue, time, lead, obs,
    P10/P50/P90, persistence)."""
    leads = leads or LeadConfig()
    values, ppd, wx, workday = inputs(values, cfg, weather)
    _, _, x = features(values, cfg, weather)  # the day-ahead rows the models train on
    index = pd.DatetimeIndex(values.index)
    y = values.to_numpy(dtype=float)
    scale = normaliser(cfg, y)
    step = index[1] - index[0]
    trainable = ~np.isnan(y) & ~np.isnan(x["persist"].to_numpy())
    first = index[0].tz_convert(cfg.tz).normalize() + pd.Timedelta(days=cfg.min_history_days)
    issues = pd.date_range(
        first.tz_convert("UTC").ceil(f"{leads.every_hours}h"),
        index[-1] - pd.Timedelta(hours=1),
        freq=f"{leads.every_hours}h",
    )
    horizon = round(pd.Timedelta(hours=leads.horizon_hours) / step)
    lookback = pd.Timedelta(days=LOOKBACK_DAYS)
    bands = [ConformalBands(gamma=cfg.band_gamma) for _ in LEAD_BUCKETS]
    parts: list[pd.DataFrame] = []  # every row issued so far, for calibration and adaptation
    fed = np.zeros(0, dtype=bool)  # issued rows whose outcome the adaptive levels have had
    model: QuantileForecaster | None = None
    last_fit: pd.Timestamp | None = None
    for issued in issues:
        known = index < issued
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
        window = (index >= issued - lookback) & (index < issued + horizon * step)
        seen = values[window].copy()
        seen[pd.DatetimeIndex(seen.index) >= issued] = np.nan
        local = issued.tz_convert(cfg.tz)
        xl = design_matrix(
            seen,
            cfg.target,
            local.hour,
            cfg.tz,
            ppd,
            None if wx is None else wx[window],
            cfg.lat,
            cfg.lon,
            None if workday is None else workday[window],
            issued_at=issued,
        )
        ahead = np.nonzero(pd.DatetimeIndex(xl.index) >= issued)[0][:horizon]
        if len(ahead) == 0:
            continue
        pred = model.predict(xl.iloc[ahead])
        before = np.nonzero((pd.DatetimeIndex(xl.index) < issued) & ~np.isnan(seen.to_numpy()))[0]
        if len(before) and xl.index[before[-1]] >= issued - pd.Timedelta(hours=1):
            last = before[-1]
            error = float(seen.iloc[last] - model.predict(xl.iloc[[last]])[0, 1])
            pred = model.intraday(pred, error)
        y_min, y_max = meter_range(cfg, y[known & ~np.isnan(y)])
        times = pd.DatetimeIndex(xl.index[ahead])
        lead_h = np.asarray((times - issued) / pd.Timedelta(hours=1), dtype=float)
        bucket = lead_bucket(lead_h)
        p50 = np.clip(pred[:, 1], y_min, y_max)
        hours = hour_bins(xl.iloc[ahead])
        # outcomes known now: adapt each bucket's levels, then calibrate on its recent errors
        past = pd.concat(parts, ignore_index=True) if parts else None
        if past is not None:
            t = pd.DatetimeIndex(past["time"])
            new = ~fed & (t < issued)
            fed = np.concatenate([fed | new, np.zeros(0, dtype=bool)])
            for i, bb in enumerate(bands):
                sel = new & (past["bucket"].to_numpy() == i)
                bb.update(*(past[c].to_numpy()[sel] for c in ("obs", "p10", "p90")))
        p10, p90 = np.empty(len(ahead)), np.empty(len(ahead))
        eps = 1e-9 * max(float(np.nanmax(np.abs(y[known]))), 1.0)
        for i, bb in enumerate(bands):
            sel = bucket == i
            if not sel.any():
                continue
            resid, bins = _bucket_errors(past, i, issued, model)
            lo, hi = bb.calibrate(resid, bins).predict(p50[sel], hours[sel], y_min, y_max)
            p10[sel] = np.minimum(lo, p50[sel]) - eps
            p90[sel] = np.maximum(hi, p50[sel]) + eps
        part = pd.DataFrame(
            {
                "issued": issued,
                "time": times,
                "lead_h": lead_h,
                "bucket": bucket,
                "hour": hours,
                "obs": y[index.get_indexer(times)],
                "p10": p10,
                "p50": p50,
                "p90": p90,
                "persistence": xl["persist"].to_numpy()[ahead],
            }
        )
        parts.append(part)
        fed = np.concatenate([fed, np.zeros(len(part), dtype=bool)])
    if not parts:
        raise ValueError(
            f"no forecast could be issued: need more than {cfg.min_history_days} days of data"
        )
    rows = pd.concat(parts, ignore_index=True)
    return {
        name: _score(rows[rows["bucket"] == b], scale)
        for b, (name, _, _) in enumerate(LEAD_BUCKETS)
    }, rows


def _bucket_errors(
    past: pd.DataFrame | None, bucket: int, issued: pd.Timestamp, model: QuantileForecaster
) -> tuple[np.ndarray, np.ndarray]:
    """Errors and hours of the last BAND_DAYS days of this bucket's earlier forecasts known at
    ``issued``; while they span fewer than BAND_MIN_DAYS days, the model's held-out days' too."""
    resid, bins, days = np.zeros(0), np.zeros(0, dtype=np.int64), 0
    if past is not None:
        t = pd.DatetimeIndex(past["time"])
        sel = (
            (past["bucket"].to_numpy() == bucket)
            & (t < issued)
            & (t >= issued - pd.Timedelta(days=BAND_DAYS))
            & past["obs"].notna().to_numpy()
        )
        resid = (past["obs"] - past["p50"]).to_numpy()[sel]
        bins = past["hour"].to_numpy()[sel]
        days = pd.DatetimeIndex(past["issued"][sel]).normalize().nunique()
    if days < BAND_MIN_DAYS:
        resid = np.concatenate([resid, model.holdout_resid])
        bins = np.concatenate([bins, model.holdout_hours])
    return resid, bins


def _score(rows: pd.DataFrame, scale: float) -> dict[str, float | int]:
    """A bucket's §9 model block, its persistence nRMSE and skill ({} when nothing scored)."""
    e = rows.dropna(subset=["obs", "p10", "p50", "p90", "persistence"])
    if e.empty:
        return {}
    obs = e["obs"].to_numpy()
    out: dict[str, float | int] = {"rows": len(e)}
    out.update(band_scores(obs, e["p10"], e["p50"], e["p90"], scale))
    pers = nrmse(obs, e["persistence"].to_numpy(), scale)
    out["persistence_nrmse"] = pers
    out["skill_vs_persistence"] = skill(float(out["nrmse"]), pers)
    return out
