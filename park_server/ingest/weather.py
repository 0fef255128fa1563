"""Weather forecast rows in: parsed and checked (a bad row rejected with its reason and counted,
the rest kept), stored as the newest value per park, variable and valid time; MQTT messages on a
park's weather topic handled the same way.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from config import Park
from config.park import WEATHER_VARIABLES, WeatherForecastSource
from park_server.db import crud
from park_server.state import ServerState
from park_server.timeutil import now_ms, parse_ts

log = logging.getLogger("zcpark.weather")

MAX_ROWS = 20_000  # two weeks at one minute: more than any day-ahead forecast carries


class WeatherError(ValueError):
    """A whole forecast could not be read (not a CSV, not JSON, no time column)."""


@dataclass
class Parsed:
    values: list[tuple[str, int, float]] = field(default_factory=list)  # (variable, ms, value)
    rejected: list[str] = field(default_factory=list)  # "row N: reason"


def parse_rows(rows: list[dict[str, Any]], src: WeatherForecastSource) -> Parsed:
    out = Parsed()
    if len(rows) > MAX_ROWS:
        raise WeatherError(f"{len(rows)} rows: at most {MAX_ROWS} per forecast")
    time_col = src.column("time")
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            out.rejected.append(f"row {n}: not an object")
            continue
        try:
            ms = parse_ts(row.get(time_col))
        except ValueError as exc:
            out.rejected.append(f"row {n}: {time_col}: {exc}")
            continue
        for var, (low, high) in WEATHER_VARIABLES.items():
            raw = row.get(src.column(var))
            if raw is None or raw == "":
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                out.rejected.append(f"row {n}: {src.column(var)}: {raw!r} is not a number")
                continue
            if not math.isfinite(value) or not low <= value <= high:
                out.rejected.append(
                    f"row {n}: {src.column(var)}: {value:g} outside {low:g}..{high:g}"
                )
                continue
            out.values.append((var, ms, value))
    return out


def parse_csv(body: str, src: WeatherForecastSource) -> Parsed:
    reader = csv.DictReader(io.StringIO(body))
    if not reader.fieldnames or src.column("time") not in reader.fieldnames:
        raise WeatherError(f"no column {src.column('time')!r} in the CSV header")
    return parse_rows(list(reader), src)


def parse_message(payload: bytes, src: WeatherForecastSource) -> tuple[Parsed, int | None]:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeatherError(f"not JSON: {exc}") from None
    issued = None
    if isinstance(data, dict):
        if data.get("issued") is not None:
            try:
                issued = parse_ts(data["issued"])
            except ValueError as exc:
                raise WeatherError(f"issued: {exc}") from None
        data = data.get("rows")
    if not isinstance(data, list):
        raise WeatherError('expected a list of rows or {"rows": [...]}')
    return parse_rows(data, src), issued


def store(session: Session, park_id: str, parsed: Parsed, issued_ms: int | None = None) -> int:
    """Keep the newest value of each (variable, valid time); returns the values stored."""
    if not parsed.values:
        return 0
    now = now_ms()
    latest: dict[tuple[str, int], float] = {(v, ms): x for v, ms, x in parsed.values}
    keys = [{"p": park_id, "v": v, "t": ms} for v, ms in latest]
    conn = session.connection()
    conn.execute(
        text("DELETE FROM weather_forecast WHERE park_id = :p AND variable = :v AND valid_ms = :t"),
        keys,
    )
    conn.execute(
        text(
            "INSERT INTO weather_forecast (park_id, variable, valid_ms, value, issued_ms, "
            "received_ms) VALUES (:p, :v, :t, :x, :i, :r)"
        ),
        [
            {"p": park_id, "v": v, "t": ms, "x": x, "i": issued_ms or now, "r": now}
            for (v, ms), x in latest.items()
        ],
    )
    session.commit()
    return len(latest)


def mqtt_topics(session: Session) -> dict[str, Park]:
    """Topic -> park, for the parks whose weather comes over MQTT."""
    return {
        p.weather_forecast.topic: p
        for p in crud.park_configs(session)
        if p.weather_forecast is not None
        and p.weather_forecast.source == "mqtt"
        and p.weather_forecast.topic
    }


def on_message(session: Session, park: Park, payload: bytes, state: ServerState) -> None:
    src = park.weather_forecast
    assert src is not None
    try:
        parsed, issued = parse_message(payload, src)
    except WeatherError as exc:
        count_rejects(state, 1)
        log.warning("park %s: weather message rejected: %s", park.id, exc)
        return
    store(session, park.id, parsed, issued)
    count_rejects(state, len(parsed.rejected))
    if parsed.rejected:
        log.warning(
            "park %s: weather message: %d rows rejected, first: %s",
            park.id,
            len(parsed.rejected),
            parsed.rejected[0],
        )


def count_rejects(state: ServerState | None, n: int) -> None:
    if state is not None and n:
        state.counters.add(weather_rows_rejected=n)
