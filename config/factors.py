"""Factor tables (config/factors/*.yaml): every number the carbon code uses, with its source.

Nothing in the code writes an emission factor, coal-equivalent factor, GWP or tariff as a literal;
it asks :class:`Factors` so that a user can correct a value when a newer notice appears.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

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


class Factors(Frozen):
    grid: dict[str, dict[int, FactorValue]]
    energy: dict[str, FactorValue]
    aluminium: dict[str, FactorValue]
    indicators: dict[str, FactorValue]
    tariffs: dict[str, Tariff]

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
    assert isinstance(grid, GridFactorTable) and isinstance(tariffs, TariffTable)

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
    )
