"""Factor tables (config/factors/*.yaml): every number the carbon code uses, with its source.

Nothing in the code writes an emission factor, coal-equivalent factor, GWP or tariff as a literal;
it asks :class:`Factors` so that a user can correct a value when a newer notice appears.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from config.base import Frozen, to_config_error
from config.errors import ConfigError
from config.tariff import Tariff
from config.yamlio import read_yaml

Confidence = Literal["H", "M", "L"]


class FactorValue(Frozen):
    value: float
    unit: str
    source: str = Field(min_length=3)
    confidence: Confidence
    note: str = ""


class GridFactorTable(Frozen):
    unit: Literal["tCO2/MWh"]
    source: str = ""
    regions: dict[str, dict[int, FactorValue]]


class FactorTable(Frozen):
    description: str = ""
    entries: dict[str, FactorValue]


class TariffTable(Frozen):
    tariffs: dict[str, Tariff]


class HolidayYear(Frozen):
    source: str = Field(min_length=3)
    #: public holidays (days off), each a date or a range "2026-02-15..2026-02-23"
    holidays: list[str]
    #: make-up working days (调休上班) that fall on a weekend
    workdays: list[str] = []

    @field_validator("holidays", "workdays")
    @classmethod
    def _dates(cls, items: list[str]) -> list[str]:
        for item in items:
            _expand(item)
        return items


class HolidayCalendar(Frozen):
    description: str = ""
    years: dict[int, HolidayYear]

    @cached_property
    def _off(self) -> frozenset[date]:
        return frozenset(
            d for y in self.years.values() for item in y.holidays for d in _expand(item)
        )

    @cached_property
    def _on(self) -> frozenset[date]:
        return frozenset(
            d for y in self.years.values() for item in y.workdays for d in _expand(item)
        )

    def is_workday(self, day: date) -> bool:
        """Public holidays are off, make-up working days on, otherwise Monday to Friday."""
        if day in self._off:
            return False
        if day in self._on:
            return True
        return day.weekday() < 5

    def covers(self, year: int) -> bool:
        return year in self.years


class HolidayTable(Frozen):
    calendars: dict[str, HolidayCalendar]


def _expand(item: str) -> list[date]:
    """'2026-02-15' or '2026-02-15..2026-02-23' (inclusive) as dates."""
    first, _, last = item.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise ValueError(f"{item!r} is not a date YYYY-MM-DD or a range FIRST..LAST") from None
    if end < start or (end - start).days > 31:
        raise ValueError(f"{item!r}: the range must run forwards and span at most 31 days")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class Factors(Frozen):
    grid: dict[str, dict[int, FactorValue]]
    energy: dict[str, FactorValue]
    aluminium: dict[str, FactorValue]
    indicators: dict[str, FactorValue]
    tariffs: dict[str, Tariff]
    holidays: dict[str, HolidayCalendar]

    def grid_factor(self, region: str, year: int) -> FactorValue:
        """Grid emission factor of ``region`` for ``year`` [tCO2/MWh = kgCO2/kWh]."""
        try:
            return self.grid[region][year]
        except KeyError:
            raise KeyError(f"no grid emission factor for {region!r} in {year}") from None

    def latest_grid_year(self, region: str) -> int:
        return max(self.grid[region])


FACTORS_DIR = Path(__file__).resolve().parent / "factors"

_FILES: dict[str, type[Frozen]] = {
    "grid_emission.yaml": GridFactorTable,
    "energy.yaml": FactorTable,
    "aluminium.yaml": FactorTable,
    "indicators.yaml": FactorTable,
    "tariffs.yaml": TariffTable,
    "holidays.yaml": HolidayTable,
}


def _load(path: Path, model: type[Frozen]) -> Frozen:
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "(top level)", "expected a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_config_error(path, exc, lines) from None


def load_factors(directory: str | Path | None = None) -> Factors:
    """Load every factor table of ``directory`` (default: the shipped config/factors)."""
    return _load_factors(Path(directory) if directory else FACTORS_DIR)


@cache
def _load_factors(directory: Path) -> Factors:
    tables = {name: _load(directory / name, model) for name, model in _FILES.items()}
    grid = tables["grid_emission.yaml"]
    tariffs = tables["tariffs.yaml"]
    holidays = tables["holidays.yaml"]
    assert isinstance(grid, GridFactorTable) and isinstance(tariffs, TariffTable)
    assert isinstance(holidays, HolidayTable)

    def entries(name: str) -> dict[str, FactorValue]:
        table = tables[name]
        assert isinstance(table, FactorTable)
        return table.entries

    return Factors(
        grid=grid.regions,
        energy=entries("energy.yaml"),
        aluminium=entries("aluminium.yaml"),
        indicators=entries("indicators.yaml"),
        tariffs=tariffs.tariffs,
        holidays=holidays.calendars,
    )
