"""Time-of-use tariffs: named periods, each a price and the local hours it covers."""

from __future__ import annotations

import re
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator, model_validator

from config.base import Frozen, field_error

_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60


def parse_span(span: str) -> tuple[int, int]:
    """'23:00-07:00' -> (1380, 420) in minutes after local midnight; the end may wrap."""
    m = _SPAN.match(span)
    if not m:
        raise ValueError(f"{span!r} is not a span like '08:00-12:00'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{span!r} is not a valid time span")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{span!r} is empty")
    return start, end


class TouPeriod(Frozen):
    name: str
    price_per_kwh: float = Field(ge=0)
    hours: list[str] = Field(min_length=1)

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: list[str]) -> list[str]:
        for span in value:
            parse_span(span)
        return value

    def minutes(self) -> set[int]:
        covered: set[int] = set()
        for span in self.hours:
            start, end = parse_span(span)
            if end > start:
                covered.update(range(start, end))
            else:
                covered.update(range(start, MINUTES_PER_DAY))
                covered.update(range(0, end))
        return covered


class Tariff(Frozen):
    name: str = ""
    currency: str = "CNY"
    source: str = ""
    confidence: Literal["H", "M", "L"] = "L"
    export_price_per_kwh: float = Field(0.0, ge=0)
    periods: list[TouPeriod] = Field(min_length=1)

    @model_validator(mode="after")
    def _cover_day_once(self) -> Self:
        owner: dict[int, str] = {}
        for i, period in enumerate(self.periods):
            for minute in period.minutes():
                if minute in owner:
                    raise field_error(
                        f"periods[{i}].hours",
                        f"{minute // 60:02d}:{minute % 60:02d} is already in period "
                        f"{owner[minute]!r}",
                    )
                owner[minute] = period.name
        if len(owner) != MINUTES_PER_DAY:
            gap = min(set(range(MINUTES_PER_DAY)) - owner.keys())
            raise field_error("periods", f"{gap // 60:02d}:{gap % 60:02d} is in no period")
        return self

    def price_table(self) -> npt.NDArray[np.float64]:
        """Price [currency/kWh] for each minute of the local day (1440 values)."""
        table = np.zeros(MINUTES_PER_DAY)
        for period in self.periods:
            table[sorted(period.minutes())] = period.price_per_kwh
        return table

    def prices(self, minutes_of_day: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Price [currency/kWh] at the given local minutes after midnight."""
        idx = np.asarray(minutes_of_day, dtype=np.int64) % MINUTES_PER_DAY
        result: npt.NDArray[np.float64] = self.price_table()[idx]
        return result

    def period_at(self, minute_of_day: int) -> str:
        for period in self.periods:
            if minute_of_day % MINUTES_PER_DAY in period.minutes():
                return period.name
        raise AssertionError("validated tariffs cover the whole day")
