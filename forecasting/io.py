"""Reading a forecasting data file (CSV or Parquet) into a UTC-indexed frame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from config.errors import ConfigError


def read_series(
    path: str | Path, time_col: str, value_col: str, weather_cols: list[str]
) -> tuple[pd.Series, pd.DataFrame | None]:
    """The value series and the weather columns, indexed by UTC time (no offset means UTC)."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
    except FileNotFoundError:
        raise ConfigError(path, "--data", "file not found") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ConfigError(path, "--data", f"cannot be read: {exc}") from None
    for flag, col in [("--time-col", time_col), ("--value-col", value_col)] + [
        ("--weather-cols", c) for c in weather_cols
    ]:
        if col not in frame.columns:
            raise ConfigError(
                path, flag, f"no column {col!r} (columns: {', '.join(map(str, frame.columns))})"
            )
    try:
        times = pd.to_datetime(frame[time_col], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            path, "--time-col", f"column {time_col!r} is not ISO 8601 time: {exc}"
        ) from None
    values = pd.to_numeric(frame[value_col], errors="coerce")
    if values.notna().sum() == 0:
        raise ConfigError(path, "--value-col", f"column {value_col!r} has no numbers")
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(times), name=value_col)
    weather = None
    if weather_cols:
        weather = frame[weather_cols].apply(pd.to_numeric, errors="coerce")
        weather.index = pd.DatetimeIndex(times)
    return series, weather
