"""Zero-carbon park indicators (NDRC/MIIT/NEA 2025 No. 910), each pass or fail.

- core = CO2 [t] (fuel + process CO2 + purchased heat + electricity by the park's method; PFC
  and offsets never) ÷ energy_tce.total; threshold ``core_tco2_per_tce_small`` (0.20) for a
  park using less than ``core_large_park_threshold_tce`` a year, ``core_tco2_per_tce_large``
  (0.30) at or above it; the Inner Mongolia regional band beside it (pass: ≤ its upper end).
- clean-energy share = non-fossil energy ÷ energy_tce.total, against ``clean_energy_share_min``.
- guide indicators (solid waste, waste heat, water reuse) as entered, against their minimums;
  None where nothing was entered.
"""

from __future__ import annotations

from dataclasses import dataclass

from park_server.carbon.factor_lines import CarbonFactors
from park_server.carbon.inputs import GuideIndicators


@dataclass(frozen=True)
class Indicators:
    core_t_per_tce: float | None
    core_threshold_t_per_tce: float
    core_pass: bool | None
    core_regional_band_t_per_tce: tuple[float, float]
    core_regional_pass: bool | None
    clean_energy_share: float | None
    clean_energy_pass: bool | None
    solid_waste_utilisation: float | None
    solid_waste_pass: bool | None
    waste_heat_utilisation: float | None
    waste_heat_pass: bool | None
    water_reuse: float | None
    water_reuse_pass: bool | None


def core_threshold(annual_energy_tce: float, f: CarbonFactors) -> float:
    """The core threshold for a park using ``annual_energy_tce`` a year [tCO2/tce]."""
    if annual_energy_tce >= f.core_large_park_threshold_tce.value:
        return f.core_tco2_per_tce_large.value
    return f.core_tco2_per_tce_small.value


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _at_least(value: float | None, minimum: float) -> bool | None:
    return None if value is None else value >= minimum


def indicators(
    co2_t: float,
    energy_total_tce: float,
    non_fossil_tce: float,
    annual_energy_tce: float,
    guide: list[GuideIndicators],
    f: CarbonFactors,
) -> Indicators:
    """Indicators of a period; ``guide`` entries of its months are averaged (equal weight)."""
    threshold = core_threshold(annual_energy_tce, f)
    low = f.inner_mongolia_regional_core_low.value
    high = f.inner_mongolia_regional_core_high.value
    core = co2_t / energy_total_tce if energy_total_tce > 0 else None
    clean = non_fossil_tce / energy_total_tce if energy_total_tce > 0 else None
    sw = _mean([g.solid_waste_utilisation for g in guide if g.solid_waste_utilisation is not None])
    wh = _mean([g.waste_heat_utilisation for g in guide if g.waste_heat_utilisation is not None])
    wr = _mean([g.water_reuse for g in guide if g.water_reuse is not None])
    return Indicators(
        core_t_per_tce=core,
        core_threshold_t_per_tce=threshold,
        core_pass=None if core is None else core <= threshold,
        core_regional_band_t_per_tce=(low, high),
        core_regional_pass=None if core is None else core <= high,
        clean_energy_share=clean,
        clean_energy_pass=_at_least(clean, f.clean_energy_share_min.value),
        solid_waste_utilisation=sw,
        solid_waste_pass=_at_least(sw, f.solid_waste_utilisation_min.value),
        waste_heat_utilisation=wh,
        waste_heat_pass=_at_least(wh, f.waste_heat_utilisation_min.value),
        water_reuse=wr,
        water_reuse_pass=_at_least(wr, f.water_reuse_min.value),
    )
