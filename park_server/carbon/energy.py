"""Comprehensive energy consumption in tce (当量值, GB/T 2589-2020).

total = consumption [kWh] × ``electricity_kgce_per_kwh`` / 1000
        + coal [t] × ``raw_coal_kgce_per_kg`` + diesel [t] × ``diesel_kgce_per_kg``
        + natural gas [m³] × ``natural_gas_kgce_per_m3`` / 1000
        + purchased heat [GJ] × 1000 / ``standard_coal_mj_per_kg`` / 1000.
counted_for_control leaves out the non-fossil electricity (NDRC/NBS/NEA 2024 No. 113): the
volumetric green consumption (physical green + certificates + trades, at most consumption),
counted once, at the same calorific factor. Fuels and purchased heat count in full.
"""

from __future__ import annotations

from dataclasses import dataclass

from park_server.carbon.factor_lines import CarbonFactors
from park_server.carbon.inputs import Fuels


@dataclass(frozen=True)
class EnergyTce:
    electricity: float
    fuels: float
    heat: float
    #: the non-fossil part left out of counted_for_control [tce]
    non_fossil: float

    @property
    def total(self) -> float:
        return self.electricity + self.fuels + self.heat

    @property
    def counted_for_control(self) -> float:
        return self.total - self.non_fossil


def energy_tce(
    consumption_kwh: float, green_volumetric_kwh: float, fuels: Fuels, f: CarbonFactors
) -> EnergyTce:
    """Energy of a period [tce] from electricity consumed [kWh], its green part [kWh] and fuels."""
    kgce_kwh = f.electricity_kgce_per_kwh.value
    fuel = (
        fuels.coal_t * f.raw_coal_kgce_per_kg.value
        + fuels.diesel_t * f.diesel_kgce_per_kg.value
        + fuels.natural_gas_m3 * f.natural_gas_kgce_per_m3.value / 1000.0
    )
    heat = fuels.purchased_heat_gj / f.standard_coal_mj_per_kg.value
    return EnergyTce(
        electricity=consumption_kwh * kgce_kwh / 1000.0,
        fuels=fuel,
        heat=heat,
        non_fossil=min(green_volumetric_kwh, consumption_kwh) * kgce_kwh / 1000.0,
    )
