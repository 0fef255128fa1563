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
    #: buckets forecast by the lead-time model (lead as a feature) instead of the day-ahead one
    lead_model_buckets: tuple[str, ...] = ()
    #: the leads [h] whose rows the lead-time model trains on
    train_leads_h: tuple[float, ...] = (0, 1, 2, 3, 4, 6, 9, 12, 16, 20)


def lead_rows(
    values: pd.Series,
    cfg: BacktestConfig,
    ppd: int,
    weather: pd.DataFrame | None,
    workday: np.ndarray | None,
    leads_h: tuple[float, ...],
) -> pd.DataFrame:
    """The training rows of a lead-time model: every row as known ``L`` hours before its own
    time, for each ``L`` of ``leads_h``, with the lead as a feature (``lead_h``)."""
    parts = []
    for lead in leads_h:
        x = design_matrix(
            values,
            cfg.target,
            cfg.issue_hour,
            cfg.tz,
            ppd,
            weather,
            cfg.lat,
            cfg.lon,
            workday,
            lead=pd.Timedelta(hours=lead),
        )
        x["lead_h"] = float(lead)
        parts.append(x)
    return pd.concat(parts)


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
    # each bucket's levels move as fast per day of outcomes as the day-ahead backtest's: a day
    # brings (bucket width × steps per hour × issues per day) of its outcomes
    bands = [
        ConformalBands(gamma=cfg.band_gamma * leads.every_hours / ((hi - lo) * ppd))
        for _, lo, hi in LEAD_BUCKETS
    ]
    by_lead_model = np.array([name in leads.lead_model_buckets for name, _, _ in LEAD_BUCKETS])
    lead_model: QuantileForecaster | None = None
    if by_lead_model.any():
        xl_train = lead_rows(values, cfg, ppd, wx, workday, leads.train_leads_h)
        yl_train = np.tile(y, len(leads.train_leads_h))
        tl_train = np.tile(index.asi8, len(leads.train_leads_h))
        ok_train = ~np.isnan(yl_train) & ~np.isnan(xl_train["persist"].to_numpy())
    log = IssueLog(len(issues) * horizon)  # every row issued so far
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
            if by_lead_model.any():
                sel = ok_train & (tl_train < issued.as_unit(index.unit).value)
                lead_model = QuantileForecaster(cfg.target).fit(xl_train[sel], yl_train[sel])
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
        p50 = pred[:, 1]
        use = by_lead_model[bucket] & (bucket >= 0)
        if lead_model is not None and use.any():
            xa = xl.iloc[ahead[use]].assign(lead_h=lead_h[use])
            p50 = p50.copy()
            p50[use] = lead_model.predict(xa)[:, 1]
        p50 = np.clip(p50, y_min, y_max)
        hours = hour_bins(xl.iloc[ahead])
        # outcomes known now: adapt each bucket's levels, then calibrate on its recent errors
        n = log.size
        new = ~log.fed[:n] & (log.time[:n] < issued.value)
        log.fed[:n] |= new
        for i, bb in enumerate(bands):
            sel = new & (log.bucket[:n] == i)
            bb.update(log.obs[:n][sel], log.p10[:n][sel], log.p90[:n][sel])
        p10, p90 = np.empty(len(ahead)), np.empty(len(ahead))
        eps = 1e-9 * max(float(np.nanmax(np.abs(y[known]))), 1.0)
        for i, bb in enumerate(bands):
            sel = bucket == i
            if not sel.any():
                continue
            resid, bins = log.errors(i, issued, model)
            lo, hi = bb.calibrate(resid, bins).predict(p50[sel], hours[sel], y_min, y_max)
            p10[sel] = np.minimum(lo, p50[sel]) - eps
            p90[sel] = np.maximum(hi, p50[sel]) + eps
        log.add(
            issued.value,
            times.as_unit("ns").asi8,
            lead_h,
            bucket,
            hours,
            y[index.get_indexer(times)],
            p10,
            p50,
            p90,
            xl["persist"].to_numpy()[ahead],
        )
    if log.size == 0:
        raise ValueError(
            f"no forecast could be issued: need more than {cfg.min_history_days} days of data"
        )
    rows = log.frame()
    return {
        name: _score(rows[rows["bucket"] == b], scale)
        for b, (name, _, _) in enumerate(LEAD_BUCKETS)
    }, rows


class IssueLog:
    """The rows issued so far (times in UTC nanoseconds), kept for calibration and adaptation."""

    def __init__(self, capacity: int) -> None:
        self.size = 0
        self.issued = np.zeros(capacity, dtype=np.int64)
        self.time = np.zeros(capacity, dtype=np.int64)
        self.bucket = np.zeros(capacity, dtype=np.int64)
        self.hour = np.zeros(capacity, dtype=np.int64)
        self.fed = np.zeros(capacity, dtype=bool)  # outcome given to the adaptive levels
        self.lead_h, self.obs, self.p10, self.p50, self.p90, self.persistence = (
            np.zeros(capacity) for _ in range(6)
        )

    def add(self, issued: int, time: np.ndarray, *columns: np.ndarray) -> None:
        """One issue's rows: times, then lead_h, bucket, hour, obs, p10, p50, p90, persistence."""
        rows = slice(self.size, self.size + len(time))
        self.issued[rows], self.time[rows] = issued, time
        names = ("lead_h", "bucket", "hour", "obs", "p10", "p50", "p90", "persistence")
        for name, values in zip(names, columns, strict=True):
            getattr(self, name)[rows] = values
        self.size += len(time)

    def errors(
        self, bucket: int, issued: pd.Timestamp, model: QuantileForecaster
    ) -> tuple[np.ndarray, np.ndarray]:
        """Errors and hours of the last BAND_DAYS days of this bucket's earlier forecasts known
        at ``issued``; while they span fewer than BAND_MIN_DAYS days, the model's held-out
        days' errors too."""
        n, now = self.size, issued.value
        sel = (
            (self.bucket[:n] == bucket)
            & (self.time[:n] < now)
            & (self.time[:n] >= now - pd.Timedelta(days=BAND_DAYS).value)
            & ~np.isnan(self.obs[:n])
        )
        resid, bins = self.obs[:n][sel] - self.p50[:n][sel], self.hour[:n][sel]
        day_ns = pd.Timedelta(days=1).value
        days = len(np.unique(self.issued[:n][sel] // day_ns))
        if days < BAND_MIN_DAYS:
            resid = np.concatenate([resid, model.holdout_resid])
            bins = np.concatenate([bins, model.holdout_hours])
        return resid, bins

    def frame(self) -> pd.DataFrame:
        n = self.size
        out = pd.DataFrame(
            {
                "issued": pd.to_datetime(self.issued[:n], utc=True),
                "time": pd.to_datetime(self.time[:n], utc=True),
            }
        )
        for name in ("lead_h", "bucket", "hour", "obs", "p10", "p50", "p90", "persistence"):
            out[name] = getattr(self, name)[:n]
        return out


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
