"""Time stamps on the wire (ISO 8601 with Z, or epoch ms) and in the database (epoch ms), and the
server's one clock.

Every part of the server asks :func:`now_ms` or :func:`now_utc` for the time, never
``datetime.now()``: the clock is aware (UTC), so it means the same on a host set to China time,
and tests can pin it (:func:`set_clock`) so that no result depends on the day the suite runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

QUARTER_MS = 15 * 60 * 1000
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS


_clock: Callable[[], float] = time.time


def set_clock(clock: Callable[[], float] | None) -> None:
    """Replace the server's clock (seconds since the epoch); None restores the system clock."""
    global _clock
    _clock = clock or time.time


def now_ms() -> int:
    """Now, as epoch milliseconds."""
    return int(_clock() * 1000)


def now_utc() -> datetime:
    """Now, as an aware UTC datetime (what APScheduler and zone conversions are handed)."""
    return datetime.fromtimestamp(_clock(), UTC)


def local_now(tz: str) -> datetime:
    """Now in the zone ``tz`` (a park's days, months and tariffs are local)."""
    return now_utc().astimezone(ZoneInfo(tz))


def parse_ts(value: object) -> int:
    """ISO 8601 (no offset means UTC) or epoch milliseconds -> epoch ms; ValueError if bad."""
    if isinstance(value, bool):
        raise ValueError("a time stamp, not a boolean")
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str) or not value:
        raise ValueError("missing or not a string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not ISO 8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def format_ts(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def local_day_start_ms(ms: int, tz: str) -> int:
    """Start of the park-local day containing ``ms``, as epoch ms."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(ms / 1000, zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def local_month_start_ms(ms: int, tz: str) -> int:
    """Start of the park-local month containing ``ms``, as epoch ms."""
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(tz))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)
