"""Forecasts in the server: PV, wind and load for the next 48 h at 15-minute resolution, issued
every 15 minutes from the stored measurements, each issue stored, accuracy tracked per day.

Models are retrained once a day per park and target (forecasting.models on 15-minute rollups of
measured power); a live issue reads its whole horizon as known at the issue moment and carries
the model's error on the newest measurement into the first hours. With a weather source
configured (park_server.jobs.weather) the models read its forecast of irradiance, temperature or
wind speed; the metadata names the source and its newest issue, or says why the forecast went
without weather. Wind forecasts also read the park's configured power curves, load forecasts the
park's holiday calendar. With fewer than 14 days of data a forecast falls back (_fallback: the
weather forecast through GHI or the power curves when there is one, else clear sky or the last
measured value) and its metadata says which.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlmodel import Session

from config import Park
from config.factors import load_factors
from config.park import WindAsset
from forecasting.features import workdays
from forecasting.models import QuantileForecaster, design_matrix
from forecasting.solar import clear_sky_shape
from park_server.db import crud
from park_server.db.tables import ForecastRow
from park_server.jobs.weather import weather_job
from park_server.state import ServerState
from park_server.timeseries.forecasts import capacity
from park_server.timeseries.queries import ROLES, measured
from park_server.timeseries.weather import describe_issue, weather_frame
from park_server.timeutil import QUARTER_MS, format_ts, now_ms

log = logging.getLogger("zcpark.forecasts")

HORIZON = 192  # 48 h of 15-minute intervals
PER_DAY = 96
MIN_DAYS = 14
HISTORY_DAYS = 60


@dataclass
class Trained:
    model: QuantileForecaster
    at_ms: int
    rows: int


#: trained models by (database/park, target, weather variant): retrained once a day
_models: dict[tuple[str, str, str], Trained] = {}
_lock = threading.Lock()


def issue_forecast(
    session: Session, park: Park, target: str, now: int | None = None
) -> ForecastRow | None:
    cap = capacity(park, target)
    if cap is None:
        return None  # the park has no such assets
    now = now if now is not None else now_ms()
    start = now - now % QUARTER_MS  # the current quarter: a plan made now starts there
    times = pd.date_range(pd.Timestamp(start, unit="ms", tz="UTC"), periods=HORIZON, freq="15min")
    history = measured(session, park.id, target, start - HISTORY_DAYS * 86_400_000, start)
    meta: dict[str, Any] = {
        "weather": "no weather source configured",
        "history_days": round(len(history) / PER_DAY, 1),
    }
    if len(history.dropna()) >= MIN_DAYS * PER_DAY:
        full_index = pd.date_range(history.index[0], times[-1], freq="15min")
        series = history.reindex(full_index)
        local_hour = datetime.fromtimestamp(now / 1000, ZoneInfo(park.timezone)).hour
        wx = _weather(session, park, target, full_index, times, meta)
        x = design_matrix(
            series,
            target,
            local_hour,
            park.timezone,
            PER_DAY,
            wx,
            lat=park.location.lat,
            lon=park.location.lon,
            workday=_workdays(park, full_index, meta) if target == "load" else None,
            power_curve=_power_curve(park) if target == "wind" else None,
            issued_at=pd.Timestamp(now, unit="ms", tz="UTC"),
        )
        variant = "" if wx is None else ",".join(wx.columns)
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
        trained = _model(f"{database}/{park.id}", target, variant, x, series, now)
        pred = trained.model.predict(x.loc[times])
        last = series.loc[: times[0] - pd.Timedelta(minutes=15)].dropna()
        if len(last) and now - int(last.index[-1].value // 1_000_000) <= 3_600_000:
            # intraday: the model's error on the newest measurement (within the hour), fading
            error = float(last.iloc[-1] - trained.model.predict(x.loc[[last.index[-1]]])[0, 1])
            pred = trained.model.intraday(pred, error)
            meta.update(intraday_error=round(error, 3), intraday_rho=round(trained.model.rho, 3))
        if target == "pv" and "clear_sky_ghi" in x.columns:  # no sun, no PV power
            pred[x.loc[times, "clear_sky_ghi"].to_numpy() <= 0] = 0.0
        meta.update(
            model="gradient-boosted trees (P50) with hourly error bands",
            trained_rows=trained.rows,
            trained_at=format_ts(trained.at_ms),
        )
    else:
        index = history.index.union(times) if len(history) else times
        wx = _weather(session, park, target, pd.DatetimeIndex(index), times, meta)
        p50, how = _fallback(park, target, history, times, cap, wx)
        pred = np.column_stack([p50 * 0.8, p50, p50 * 1.2])
        meta.update(
            model="fallback", fallback=f"{how} (fewer than {MIN_DAYS} days of measurements)"
        )
    if target in ("pv", "wind"):
        pred = np.clip(pred, 0, cap)
    row = ForecastRow(
        park_id=park.id,
        target=target,
        issued_ms=now,
        model=str(meta["model"]),
        meta_json=json.dumps(meta),
        values_json=json.dumps(
            [
                {
                    "ts": format_ts(int(t.value // 1_000_000)),
                    "p10": round(float(a), 3),
                    "p50": round(float(b), 3),
                    "p90": round(float(c), 3),
                }
                for t, (a, b, c) in zip(times, pred, strict=True)
            ]
        ),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


#: the weather variables each target's model reads
WEATHER_FOR = {"pv": ("ghi", "temp_air"), "wind": ("wind_speed",), "load": ("temp_air",)}


def _weather(
    session: Session,
    park: Park,
    target: str,
    index: pd.DatetimeIndex,
    times: pd.DatetimeIndex,
    meta: dict[str, Any],
) -> pd.DataFrame | None:
    """The park's stored weather forecast for the target's variables, if it covers at least
    90 % of the horizon; the metadata says which source was used, or why none."""
    src = park.weather_forecast
    if src is None:
        return None
    frame, issued = weather_frame(session, park.id, index)
    cols = [c for c in WEATHER_FOR[target] if c in frame.columns]
    covered = [c for c in cols if frame.loc[times, c].notna().mean() >= 0.9]
    if not covered:
        meta["weather"] = (
            f"{src.describe()}: no {'/'.join(WEATHER_FOR[target])} forecast covers the next 48 h;"
            " forecast without weather"
        )
        return None
    meta["weather"] = describe_issue(src, issued) + f" ({', '.join(covered)})"
    return frame[covered]


def _workdays(park: Park, index: pd.DatetimeIndex, meta: dict[str, Any]) -> np.ndarray:
    calendar = load_factors().holidays[park.holiday_calendar]
    years = sorted({t.year for t in index.tz_convert(park.timezone)})
    missing = [y for y in years if not calendar.covers(y)]
    meta["holidays"] = park.holiday_calendar + (
        f" (no holiday list for {', '.join(map(str, missing))}: Monday to Friday assumed)"
        if missing
        else ""
    )
    return workdays(index, park.timezone, calendar)


def _power_curve(park: Park) -> Callable[[np.ndarray], np.ndarray] | None:
    """Wind speed [m/s] -> the park's wind power [kW]: every turbine on its configured curve."""
    farms = [a for a in park.renewables if isinstance(a, WindAsset)]
    if not farms:
        return None

    def curve(speed: np.ndarray) -> np.ndarray:
        total = np.zeros(len(speed))
        for farm in farms:
            pc = farm.power_curve
            total += farm.turbines * np.interp(speed, pc.wind_speed_ms, pc.power_kw, 0.0, 0.0)
        return np.where(np.isnan(speed), np.nan, total)

    return curve


def _model(
    park_id: str, target: str, variant: str, x: pd.DataFrame, series: pd.Series, now: int
) -> Trained:
    with _lock:
        cached = _models.get((park_id, target, variant))
    if cached is not None and now - cached.at_ms < 86_400_000:
        return cached
    y = series.to_numpy(dtype=float)
    train = (
        ~np.isnan(y)
        & ~np.isnan(x["persist"].to_numpy())
        & (series.index < pd.Timestamp(now, unit="ms", tz="UTC"))
    )
    model = QuantileForecaster(target).fit(x[train], y[train])
    trained = Trained(model, now, int(train.sum()))
    with _lock:
        _models[(park_id, target, variant)] = trained
    return trained


def _fallback(
    park: Park,
    target: str,
    history: pd.Series,
    times: pd.DatetimeIndex,
    cap: float,
    wx: pd.DataFrame | None,
) -> tuple[np.ndarray, str]:
    """A forecast without a trained model, and how it was made."""
    recent = history.dropna()
    if target == "pv" and wx is not None and "ghi" in wx.columns:
        ghi = wx["ghi"].reindex(times).fillna(0.0).to_numpy()
        past = wx["ghi"].reindex(recent.index).to_numpy()
        ok = ~np.isnan(past)
        if ok.sum() >= PER_DAY and past[ok].sum() > 0:
            ratio = float(recent.to_numpy()[ok].sum() / past[ok].sum())
            return np.clip(ghi * ratio, 0, cap), "weather forecast GHI × recent measured ratio"
        return np.clip(ghi * cap / 1000.0, 0, cap), "weather forecast GHI × capacity / 1000 W/m²"
    if target == "wind" and wx is not None and "wind_speed" in wx.columns:
        curve = _power_curve(park)
        if curve is not None:
            speed = wx["wind_speed"].reindex(times).to_numpy(dtype=float)
            power = np.nan_to_num(curve(speed), nan=0.0)
            return np.clip(power, 0, cap), "configured power curves × forecast wind speed"
    if target == "pv":
        shape: np.ndarray = clear_sky_shape(park, [int(t.value // 1_000_000) for t in times]) * cap
        if len(recent) >= PER_DAY:  # clear sky × the recent ratio of measured to clear-sky energy
            past_cs = (
                clear_sky_shape(
                    park, [int(t.value // 1_000_000) for t in pd.DatetimeIndex(recent.index)]
                )
                * cap
            )
            if past_cs.sum() > 0:
                ratio = float(np.clip(recent.to_numpy().sum() / past_cs.sum(), 0.0, 1.2))
                return shape * ratio, "clear sky × recent measured ratio"
        return shape, "clear sky × capacity"
    level = float(recent.iloc[-1]) if len(recent) else (0.3 * cap if target == "wind" else cap)
    return np.full(len(times), level), "last measured value"


def forecast_job(state: ServerState) -> None:
    weather_job(state)
    with Session(state.engine) as session:
        for park in crud.park_configs(session):
            for target in ROLES:
                try:
                    issue_forecast(session, park, target)
                except Exception:
                    session.rollback()
                    log.exception("park %s: %s forecast failed", park.id, target)
