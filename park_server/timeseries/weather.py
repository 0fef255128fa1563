"""Stored weather forecasts on the 15-minute grid, and how to name their issue in metadata."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from config.park import WeatherForecastSource
from park_server.timeutil import format_ts


def weather_frame(
    session: Session, park_id: str, index: pd.DatetimeIndex
) -> tuple[pd.DataFrame, int | None]:
    """The stored weather on ``index`` (15-minute UTC grid): means per interval, gaps of up to
    an hour interpolated; and the newest issue time among the values (None when empty)."""
    start = int(index[0].value // 1_000_000)
    end = int(index[-1].value // 1_000_000) + 15 * 60_000
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT variable, valid_ms, value, issued_ms FROM weather_forecast "
                "WHERE park_id = :p AND valid_ms >= :s AND valid_ms < :e"
            ),
            {"p": park_id, "s": start, "e": end},
        )
        .all()
    )
    frame = pd.DataFrame(index=index)
    if not rows:
        return frame, None
    data = pd.DataFrame(rows, columns=["variable", "valid_ms", "value", "issued_ms"])
    data["time"] = pd.to_datetime(data["valid_ms"], unit="ms", utc=True).dt.floor("15min")
    for var, part in data.groupby("variable"):
        series = part.groupby("time")["value"].mean().reindex(index)
        frame[str(var)] = series.interpolate(limit=4, limit_area="inside").to_numpy()
    return frame, int(data["issued_ms"].max())


def describe_issue(src: WeatherForecastSource, issued_ms: int | None) -> str:
    newest = f", newest issue {format_ts(issued_ms)}" if issued_ms else ""
    return f"{src.describe()}{newest}"
