"""Accounting periods: a local day, month or year of the park, as UTC interval bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd

from park_server.carbon.inputs import INTERVAL

PeriodKind = Literal["day", "month", "year"]


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC; ``label`` as §10 writes it (``2026-11-23``, ``2026-11``, ``2026``)."""

    kind: PeriodKind
    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    timezone: str

    def intervals(self, until: pd.Timestamp | None = None) -> pd.DatetimeIndex:
        """Starts of the 15-min intervals of the period (up to ``until`` when given) [UTC]."""
        end = self.end if until is None else min(self.end, until.tz_convert("UTC"))
        return pd.date_range(self.start, end, freq=INTERVAL, inclusive="left", tz="UTC")

    @property
    def year(self) -> int:
        return int(self.label[:4])

    def months(self) -> list[str]:
        """The months (YYYY-MM, local) the period touches."""
        local = pd.date_range(
            self.start.tz_convert(self.timezone),
            self.end.tz_convert(self.timezone),
            freq="D",
            inclusive="left",
        )
        return sorted({f"{d.year:04d}-{d.month:02d}" for d in local})

    def share_of_month(self, month: str) -> float:
        """Fraction of ``month``'s days inside the period (1 for a month period) [-]."""
        first = pd.Timestamp(f"{month}-01", tz=self.timezone)
        nxt = first + pd.offsets.MonthBegin(1)
        lo = max(first, self.start.tz_convert(self.timezone))
        hi = min(nxt, self.end.tz_convert(self.timezone))
        if hi <= lo:
            return 0.0
        return float((hi - lo) / (nxt - first))


def period_of(kind: PeriodKind, day: date, timezone: str = "Asia/Shanghai") -> Period:
    """The local day, month or year containing ``day``."""
    if kind == "day":
        first = pd.Timestamp(day, tz=timezone)
        nxt = first + pd.Timedelta(days=1)
        label = day.isoformat()
    elif kind == "month":
        first = pd.Timestamp(day.year, day.month, 1, tz=timezone)
        nxt = first + pd.offsets.MonthBegin(1)
        label = f"{day.year:04d}-{day.month:02d}"
    elif kind == "year":
        first = pd.Timestamp(day.year, 1, 1, tz=timezone)
        nxt = pd.Timestamp(day.year + 1, 1, 1, tz=timezone)
        label = f"{day.year:04d}"
    else:
        raise ValueError(f"period {kind!r} is not day, month or year")
    return Period(kind, label, first.tz_convert("UTC"), nxt.tz_convert("UTC"), timezone)
