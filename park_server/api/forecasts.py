"""Forecasts: the newest issue per target, day-by-day accuracy (DESIGN.md §6), and the weather
forecast the models read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, status

from config import Park
from park_server.api.deps import ParkDep, SessionDep
from park_server.timeseries import forecasts
from park_server.timeseries.weather import weather_frame
from park_server.timeutil import format_ts, now_ms

router = APIRouter(tags=["forecasts"])

Target = Literal["pv", "wind", "load"]


@router.get("/parks/{park}/forecasts")
def newest(park: ParkDep, session: SessionDep, target: Target = "pv") -> dict[str, Any]:
    found = forecasts.latest(session, park.id, target)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no {target} forecast for park {park.id!r} yet"
        )
    return found


@router.get("/parks/{park}/forecasts/accuracy")
def accuracy(
    park: ParkDep,
    session: SessionDep,
    target: Target = "pv",
    days: Annotated[int, Query(ge=1, le=366)] = 7,
) -> list[dict[str, Any]]:
    return forecasts.accuracy(session, Park.model_validate_json(park.config_json), target, days)


@router.get("/parks/{park}/forecasts/accuracy/by-lead")
def accuracy_by_lead(
    park: ParkDep,
    session: SessionDep,
    target: Target = "pv",
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> list[dict[str, Any]]:
    """The live issues of the last ``days`` days by lead time: nMAE and P10–P90 coverage for
    0–1 h, 1–6 h, 6–24 h and 24–48 h ahead."""
    config = Park.model_validate_json(park.config_json)
    return forecasts.accuracy_by_lead(session, config, target, days)


@router.get("/parks/{park}/weather")
def weather_forecast(
    park: ParkDep,
    session: SessionDep,
    hours: Annotated[int, Query(ge=1, le=168)] = 48,
) -> dict[str, Any]:
    """The park's weather source and the stored forecast from now on, every 15 minutes."""
    config = Park.model_validate_json(park.config_json)
    start = pd.Timestamp(now_ms(), unit="ms", tz="UTC").floor("15min")
    index = pd.date_range(start, periods=hours * 4, freq="15min")
    frame, issued = weather_frame(session, park.id, index)
    src = config.weather_forecast
    return {
        "source": src.describe() if src else None,
        "newest_issue": format_ts(issued) if issued else None,
        "variables": list(frame.columns),
        "points": [
            {
                "ts": format_ts(int(t.value // 1_000_000)),
                **{c: (None if pd.isna(v) else round(float(v), 3)) for c, v in row.items()},
            }
            for t, row in zip(index, frame.to_dict("records"), strict=True)
        ],
    }
