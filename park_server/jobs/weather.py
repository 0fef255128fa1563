"""The weather job: each park's configured forecast source (config ``weather_forecast``) read
when due; the rows are checked and stored by park_server.ingest.weather.

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

import logging
import threading
import urllib.request
from pathlib import Path
from typing import Any

from sqlmodel import Session

from config import Park
from config.park import WeatherForecastSource
from config.redact import redact
from park_server.db import crud
from park_server.ingest.weather import WeatherError, count_rejects, parse_csv, store
from park_server.state import ServerState
from park_server.timeutil import now_ms

log = logging.getLogger("zcpark.weather")


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
        # the URL may carry the provider's key in its query: never in a log line
        raise WeatherError(redact(f"cannot fetch {src.url}: {exc}")) from None
    return body.decode("utf-8", errors="replace")


def fetch_park(session: Session, park: Park, state: ServerState | None = None) -> dict[str, Any]:
    """Read a park's file or HTTP source once and store it; a summary for logs and the API."""
    src = park.weather_forecast
    if src is None or src.source == "mqtt":
        return {"park": park.id, "stored": 0, "rejected": []}
    parsed = parse_csv(read_source(src), src)
    stored = store(session, park.id, parsed)
    count_rejects(state, len(parsed.rejected))
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
