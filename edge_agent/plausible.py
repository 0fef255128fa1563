"""What a meter can physically read, per quantity (DESIGN.md §2 units): a decoded value outside
its range is stored with quality ``uncertain`` (kept as read, so nothing is hidden), a value that
is not a finite number as ``bad`` 0.0 (the server takes no NaN). The ranges are wide on purpose —
the largest park meter, the highest transmission voltage, a potline's DC current — so that they
catch a device answering garbage (a register image of 0x7F7F words is 3.4e38 in every float),
never a real reading."""

from __future__ import annotations

import math

#: quantity -> (lowest, highest) value a healthy meter reads
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "active_power_kw": (-2e7, 2e7),  # 20 GW either way
    "available_power_kw": (-1e3, 2e7),
    "reactive_power_kvar": (-2e7, 2e7),
    "energy_import_kwh": (0.0, 1e13),  # counters never run below 0
    "energy_export_kwh": (0.0, 1e13),
    "voltage_v": (0.0, 1.2e6),  # up to 1,000 kV UHV with margin
    "current_a": (-1e6, 1e6),  # potline DC current is about 500 kA
    "frequency_hz": (0.0, 70.0),  # 0 in a blackout
    "power_factor": (-1.0, 1.0),
    "soc_pct": (0.0, 100.0),
    "irradiance_wm2": (-50.0, 1_600.0),  # pyranometers read slightly negative at night
    "irradiance_poa_wm2": (-50.0, 2_000.0),
    "temperature_c": (-70.0, 150.0),
    "wind_speed_ms": (0.0, 100.0),
    "wind_direction_deg": (0.0, 360.0),
}


def quality_of(quantity: str, value: float) -> str:
    """``good``, ``uncertain`` (outside PLAUSIBLE) or ``bad`` (not a finite number)."""
    if not math.isfinite(value):
        return "bad"
    lo, hi = PLAUSIBLE.get(quantity, (-math.inf, math.inf))
    return "good" if lo <= value <= hi else "uncertain"
