"""Time stamps on the wire (ISO 8601 with Z, or epoch ms) and in the database (epoch ms)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

QUARTER_MS = 15 * 60 * 1000
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


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
