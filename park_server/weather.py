"""Weather forecasts from a park's configured source (config ``weather_forecast``).

A source is a CSV file or an HTTP(S) URL read every ``every_minutes`` by the ``weather`` job, or
JSON messages on an MQTT topic of the server's broker. Each row gives a valid time and any of
``ghi`` [W/m2], ``temp_air`` [degC] and ``wind_speed`` [m/s at hub height], under the provider's
column names mapped by ``columns``. CSV: a header row, then one row per valid time. MQTT: a JSON
object ``{"issued": "…Z", "rows": [{"time": "…Z", "ghi": 512.0, …}, …]}`` (or just the list).

Every row is checked: a bad time or a value out of range is rejected with its reason and counted,
and the rest of the forecast is kept. For each park, variable and valid time the newest value is
stored; the forecasts read them on the 15-minute grid (weather_frame).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from config import Park
from config.park import WEATHER_VARIABLES, WeatherForecastSource
from park_server import crud
from park_server.state import ServerState
from park_server.timeutil import format_ts, now_ms, parse_ts

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


def read_source(src: WeatherForecastSource, base: Path | None = None) -> str:
    """The body of a file or HTTP source (WeatherError if it cannot be read)."""
    assert src.url is not None
    if src.source == "file":
        path = Path(src.url)
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WeatherError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with urllib.request.urlopen(src.url, timeout=30) as response:
            body: bytes = response.read(64 << 20)
    except OSError as exc:
        raise WeatherError(f"cannot fetch {src.url}: {exc}") from None
    return body.decode("utf-8", errors="replace")


def fetch_park(session: Session, park: Park, state: ServerState | None = None) -> dict[str, Any]:
    """Read a park's file or HTTP source once and store it; a summary for logs and the API."""
    src = park.weather_forecast
    if src is None or src.source == "mqtt":
        return {"park": park.id, "stored": 0, "rejected": []}
    parsed = parse_csv(read_source(src), src)
    stored = store(session, park.id, parsed)
    _count(state, len(parsed.rejected))
    if parsed.rejected:
        log.warning(
            "park %s: weather forecast %s: %d rows rejected, first: %s",
            park.id,
            src.describe(),
            len(parsed.rejected),
            parsed.rejected[0],
        )
    return {"park": park.id, "stored": stored, "rejected": parsed.rejected[:20]}


def weather_job(state: ServerState) -> None:
    """Poll every file or HTTP source whose interval has come round (also called by the
    forecast job first, so that a forecast never misses a feed that is due)."""
    with _poll_lock, Session(state.engine) as session:
        for park in crud.park_configs(session):
            src = park.weather_forecast
            if src is None or src.source == "mqtt":
                continue
            due = _last_poll.get(park.id, 0) + src.every_minutes * 60_000
            if now_ms() < due:
                continue
            try:
                fetch_park(session, park, state)
                _last_poll[park.id] = now_ms()
            except WeatherError as exc:
                session.rollback()
                log.error("park %s: weather forecast %s: %s", park.id, src.describe(), exc)


_last_poll: dict[str, int] = {}
_poll_lock = threading.Lock()


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
        _count(state, 1)
        log.warning("park %s: weather message rejected: %s", park.id, exc)
        return
    store(session, park.id, parsed, issued)
    _count(state, len(parsed.rejected))
    if parsed.rejected:
        log.warning(
            "park %s: weather message: %d rows rejected, first: %s",
            park.id,
            len(parsed.rejected),
            parsed.rejected[0],
        )


def _count(state: ServerState | None, n: int) -> None:
    if state is not None and n:
        state.counters.add(weather_rows_rejected=n)


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
