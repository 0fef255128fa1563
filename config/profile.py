"""Device profiles (DESIGN.md §3): which register holds which quantity, and what may be written.

Extension to §3, documented in docs/configuration.md: a point may name a ``scale_factor`` register
(SunSpec integer models), whose int16 value ``sf`` multiplies the raw value by ``10**sf``; and a
setpoint may name ``safe_default`` (written when no valid setpoint is in force) and ``enable``
(a register/value written before the setpoint, e.g. SMA's "control via communication").
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal, Self

from pydantic import Field, model_validator

from config.base import Frozen, RegisterAddress, field_error
from config.quantities import Quantity

DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64"]
Table = Literal["holding", "input"]
WordOrder = Literal["big", "little"]

#: Registers (16-bit words) each type occupies.
REGISTER_COUNT: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "float64": 4,
}

#: Most registers one Modbus read request may return.
MAX_REGISTERS_PER_READ = 125


class ScaleFactorRef(Frozen):
    """A register holding a power-of-ten exponent (SunSpec ``*_SF``, int16)."""

    table: Table = "holding"
    address: RegisterAddress = Field(ge=0, le=65535)


class Point(Frozen):
    quantity: Quantity
    table: Table
    address: RegisterAddress = Field(ge=0, le=65535)
    type: DataType
    scale: float = 1.0
    offset: float = 0.0
    scale_factor: ScaleFactorRef | None = None
    word_order: WordOrder | None = None  # overrides the profile's, for odd devices

    @property
    def count(self) -> int:
        return REGISTER_COUNT[self.type]

    @property
    def end(self) -> int:
        """One past the last register of this point."""
        return self.address + self.count

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.scale == 0:
            raise field_error("scale", "must not be 0")
        if self.end > 65536:
            raise field_error("address", f"{self.type} at {self.address} runs past register 65535")
        return self


class EnableWrite(Frozen):
    address: RegisterAddress = Field(ge=0, le=65535)
    type: DataType = "uint16"
    value: int


class Setpoint(Frozen):
    name: Quantity  # + discharge / generate, - charge / consume
    address: RegisterAddress = Field(ge=0, le=65535)
    type: DataType
    scale: float = 1.0  # raw = value / scale
    min: float
    max: float
    safe_default: float = 0.0
    enable: EnableWrite | None = None
    word_order: WordOrder | None = None

    @property
    def count(self) -> int:
        return REGISTER_COUNT[self.type]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.scale == 0:
            raise field_error("scale", "must not be 0")
        if self.min >= self.max:
            raise field_error("min", f"must be below max ({self.min} >= {self.max})")
        if not self.min <= self.safe_default <= self.max:
            raise field_error(
                "safe_default", f"{self.safe_default} is outside [{self.min}, {self.max}]"
            )
        return self


class DeviceProfile(Frozen):
    name: str
    manufacturer: str
    model: str
    word_order: WordOrder = "big"
    source: str = ""  # the maker's manual the map was taken from
    notes: str = ""
    points: list[Point] = Field(min_length=1)
    setpoints: list[Setpoint] = []

    def point(self, quantity: str) -> Point:
        for p in self.points:
            if p.quantity == quantity:
                return p
        raise KeyError(quantity)

    def setpoint(self, name: str) -> Setpoint:
        for s in self.setpoints:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def quantities(self) -> list[str]:
        return [p.quantity for p in self.points]

    @model_validator(mode="after")
    def _check(self) -> Self:
        seen: dict[str, int] = {}
        for i, p in enumerate(self.points):
            if p.quantity in seen:
                raise field_error(
                    f"points[{i}].quantity",
                    f"{p.quantity} is already read by points[{seen[p.quantity]}]",
                )
            seen[p.quantity] = i
        _check_overlaps(
            [(f"points[{i}]", p.table, p.address, p.end) for i, p in enumerate(self.points)]
        )
        _check_overlaps(
            [
                (f"setpoints[{i}]", "holding", s.address, s.address + s.count)
                for i, s in enumerate(self.setpoints)
            ]
        )
        names = [s.name for s in self.setpoints]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise field_error(f"setpoints[{i}].name", f"{n} is defined twice")
        return self


def _check_overlaps(spans: list[tuple[str, str, int, int]]) -> None:
    ordered = sorted(spans, key=lambda s: (s[1], s[2]))
    for a, b in pairwise(ordered):
        if a[1] == b[1] and b[2] < a[3]:
            raise field_error(
                f"{b[0]}.address",
                f"{b[1]} registers {b[2]}..{b[3] - 1} overlap {a[0]} ({a[2]}..{a[3] - 1})",
            )
