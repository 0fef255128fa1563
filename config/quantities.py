"""Canonical measured quantities (DESIGN.md §2): a reading names exactly one of these."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

QUANTITIES: frozenset[str] = frozenset(
    {
        "active_power_kw",
        #: what a PV or wind plant could deliver now (inverter or SCADA), for measured curtailment
        "available_power_kw",
        "reactive_power_kvar",
        "energy_import_kwh",
        "energy_export_kwh",
        "voltage_v",
        "current_a",
        "frequency_hz",
        "power_factor",
        "soc_pct",
        "irradiance_wm2",
        "irradiance_poa_wm2",
        "temperature_c",
        "wind_speed_ms",
        "wind_direction_deg",
        "status_code",
    }
)

#: Cumulative counters: their rollups are the energy in the interval, not a mean.
COUNTER_QUANTITIES: frozenset[str] = frozenset({"energy_import_kwh", "energy_export_kwh"})


def check_quantity(name: str) -> str:
    if name not in QUANTITIES:
        raise ValueError(
            f"unknown quantity {name!r}; expected one of {', '.join(sorted(QUANTITIES))}"
        )
    return name


Quantity = Annotated[str, AfterValidator(check_quantity)]
