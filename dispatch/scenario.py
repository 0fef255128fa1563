"""The dispatch scenario (DESIGN.md §8): everything the optimiser needs for one horizon.

Parsed once into frozen models whose series are already broadcast to T values, so the model
builder never meets a scalar-or-list again.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from config.base import Frozen, field_error, to_config_error
from config.errors import ConfigError
from config.yamlio import read_text

FloatArray = npt.NDArray[np.float64]


def _finite(value: Any) -> Any:
    """Series are numbers or lists of numbers; NaN and infinity are refused."""
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"value {i} is {v!r}, not a number")
        if not np.isfinite(v):
            raise ValueError(f"value {i} is {v!r}, not a finite number")
    return value


Series = Annotated[float | list[float], BeforeValidator(_finite)]
NonNegSeries = Annotated[Series, BeforeValidator(lambda v: _nonneg(v))]


def _nonneg(value: Any) -> Any:
    _finite(value)
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        if v < 0:
            raise ValueError(f"value {i} is {v}, must not be negative")
    return value


class Grid(Frozen):
    import_limit_kw: float = Field(ge=0)
    export_limit_kw: float = Field(0.0, ge=0)
    price_per_kwh: Series
    export_price_per_kwh: Series = 0.0
    co2_kg_per_kwh: NonNegSeries


class Renewable(Frozen):
    name: str = Field(min_length=1)
    kind: str = "pv"
    available_kw: NonNegSeries
    curtailable: bool = True


class Load(Frozen):
    name: str = Field(min_length=1)
    kw: NonNegSeries


class FlexibleLoad(Frozen):
    name: str = Field(min_length=1)
    min_kw: float = Field(ge=0)
    max_kw: float = Field(ge=0)
    ramp_kw_per_interval: float | None = Field(None, ge=0)  # None: no ramp limit
    initial_kw: float | None = Field(None, ge=0)  # kw[-1]; None: the first step is free
    energy_kwh: float | None = Field(None, ge=0)  # None: no energy constraint

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.min_kw > self.max_kw:
            raise field_error("min_kw", f"must not exceed max_kw ({self.min_kw} > {self.max_kw})")
        return self


class Storage(Frozen):
    name: str = Field(min_length=1)
    energy_kwh: float = Field(gt=0)
    power_kw: float = Field(ge=0)
    charge_efficiency: float = Field(gt=0, le=1)
    discharge_efficiency: float = Field(gt=0, le=1)
    soc_initial: float = Field(ge=0, le=1)
    soc_min: float = Field(0.0, ge=0, le=1)
    soc_max: float = Field(1.0, ge=0, le=1)
    soc_final_min: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.soc_min > self.soc_max:
            raise field_error(
                "soc_min", f"must not exceed soc_max ({self.soc_min} > {self.soc_max})"
            )
        if self.soc_final_min > self.soc_max:
            raise field_error(
                "soc_final_min", f"{self.soc_final_min} is above soc_max {self.soc_max}"
            )
        return self


class ScenarioFile(Frozen):
    """The scenario as written; :func:`parse_scenario` turns it into a :class:`Scenario`."""

    name: str = Field(min_length=1)
    start: datetime
    interval_minutes: float = Field(gt=0, le=1440)
    objective: Literal["green_first", "cost"] = "green_first"
    grid: Grid
    renewables: list[Renewable] = []
    loads: list[Load] = []
    flexible_loads: list[FlexibleLoad] = []
    storage: list[Storage] = []

    @model_validator(mode="after")
    def _check(self) -> Self:
        lengths: dict[str, int] = {}
        for path, value in self._series():
            if isinstance(value, list):
                lengths[path] = len(value)
        if not lengths:
            raise field_error("loads", "no series gives the horizon T: write at least one list")
        first_path, horizon = next(iter(lengths.items()))
        if horizon == 0:
            raise field_error(first_path, "a series needs at least one value")
        for path, n in lengths.items():
            if n != horizon:
                raise field_error(path, f"has {n} values but {first_path} has {horizon}")
        names: dict[str, str] = {}
        for family in ("renewables", "loads", "flexible_loads", "storage"):
            for i, item in enumerate(getattr(self, family)):
                if item.name in names:
                    raise field_error(
                        f"{family}[{i}].name",
                        f"{item.name!r} is already used by {names[item.name]}",
                    )
                names[item.name] = f"{family}[{i}]"
        return self

    def _series(self) -> list[tuple[str, float | list[float]]]:
        out: list[tuple[str, float | list[float]]] = [
            ("grid.price_per_kwh", self.grid.price_per_kwh),
            ("grid.export_price_per_kwh", self.grid.export_price_per_kwh),
            ("grid.co2_kg_per_kwh", self.grid.co2_kg_per_kwh),
        ]
        out += [
            (f"renewables[{i}].available_kw", r.available_kw) for i, r in enumerate(self.renewables)
        ]
        out += [(f"loads[{i}].kw", ld.kw) for i, ld in enumerate(self.loads)]
        return out


class Scenario(BaseModel):
    """A validated scenario with every series as an array of T values."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    source: ScenarioFile
    horizon: int
    price: FloatArray
    export_price: FloatArray
    co2: FloatArray
    available: FloatArray  # (R, T)
    load: FloatArray  # (T,) sum of inflexible loads

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def dt_h(self) -> float:
        return self.source.interval_minutes / 60.0

    @property
    def grid(self) -> Grid:
        return self.source.grid

    @property
    def renewables(self) -> list[Renewable]:
        return self.source.renewables

    @property
    def flexible_loads(self) -> list[FlexibleLoad]:
        return self.source.flexible_loads

    @property
    def storage(self) -> list[Storage]:
        return self.source.storage


def _array(value: float | list[float], horizon: int) -> FloatArray:
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float64)
    return np.full(horizon, float(value))


def build_scenario(data: ScenarioFile) -> Scenario:
    horizon = next(len(v) for _, v in data._series() if isinstance(v, list))
    available = (
        np.vstack([_array(r.available_kw, horizon) for r in data.renewables])
        if data.renewables
        else np.zeros((0, horizon))
    )
    load = np.zeros(horizon)
    for ld in data.loads:
        load += _array(ld.kw, horizon)
    return Scenario(
        source=data,
        horizon=horizon,
        price=_array(data.grid.price_per_kwh, horizon),
        export_price=_array(data.grid.export_price_per_kwh, horizon),
        co2=_array(data.grid.co2_kg_per_kwh, horizon),
        available=available,
        load=load,
    )


def parse_scenario(data: object, origin: str = "scenario") -> Scenario:
    """Validate a decoded scenario; bad input raises ConfigError naming ``origin`` and field."""
    if not isinstance(data, dict):
        raise ConfigError(origin, "(top level)", "expected a JSON object")
    try:
        return build_scenario(ScenarioFile.model_validate(data))
    except ValidationError as exc:
        raise to_config_error(origin, exc) from None


def read_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, "(syntax)", f"not valid JSON: {exc.msg}", exc.lineno) from None
    return parse_scenario(data, str(path))
