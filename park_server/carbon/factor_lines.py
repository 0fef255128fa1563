"""The factors one accounting uses, each with its value, unit, source and confidence.

Every number comes from config/factors/*.yaml (:func:`config.load_factors`); nothing here writes
a factor as a literal. :class:`CarbonFactors` picks the ones a park's settings name, so that a
response can list exactly the factors behind its figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.factors import Factors, FactorValue
from park_server.carbon.inputs import CarbonSettings


@dataclass(frozen=True)
class FactorLine:
    """One factor as §10's ``factors`` list shows it."""

    name: str
    value: float
    unit: str
    source: str
    confidence: str

    @classmethod
    def of(cls, name: str, f: FactorValue) -> FactorLine:
        return cls(name, float(f.value), f.unit, f.source, f.confidence)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class CarbonFactors:
    """The factor lines of one park's accounting (names as in §10 and config/factors)."""

    grid_location: FactorLine  # tCO2/MWh
    grid_market: FactorLine  # tCO2/MWh, residual: excluding market-traded non-fossil power
    electricity_kgce_per_kwh: FactorLine
    standard_coal_mj_per_kg: FactorLine
    raw_coal_kgce_per_kg: FactorLine
    natural_gas_kgce_per_m3: FactorLine
    diesel_kgce_per_kg: FactorLine
    bituminous_coal_tco2_per_t: FactorLine
    natural_gas_tco2_per_1e4_nm3: FactorLine
    diesel_tco2_per_t: FactorLine
    purchased_heat_tco2_per_gj: FactorLine
    gec_mwh_per_certificate: FactorLine
    anode_net_consumption_tc_per_t_al: FactorLine
    anode_sulphur_fraction: FactorLine
    anode_ash_fraction: FactorLine
    pfc_cf4_kg_per_t_al: FactorLine
    pfc_c2f6_kg_per_t_al: FactorLine
    gwp_cf4: FactorLine
    gwp_c2f6: FactorLine
    core_tco2_per_tce_small: FactorLine
    core_tco2_per_tce_large: FactorLine
    core_large_park_threshold_tce: FactorLine
    clean_energy_share_min: FactorLine
    solid_waste_utilisation_min: FactorLine
    waste_heat_utilisation_min: FactorLine
    water_reuse_min: FactorLine
    inner_mongolia_regional_core_low: FactorLine
    inner_mongolia_regional_core_high: FactorLine

    def lines(self) -> list[FactorLine]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


_ENERGY = (
    "electricity_kgce_per_kwh",
    "standard_coal_mj_per_kg",
    "raw_coal_kgce_per_kg",
    "natural_gas_kgce_per_m3",
    "diesel_kgce_per_kg",
    "bituminous_coal_tco2_per_t",
    "natural_gas_tco2_per_1e4_nm3",
    "diesel_tco2_per_t",
    "purchased_heat_tco2_per_gj",
    "gec_mwh_per_certificate",
)
_ALUMINIUM = (
    "anode_net_consumption_tc_per_t_al",
    "anode_sulphur_fraction",
    "anode_ash_fraction",
    "pfc_cf4_kg_per_t_al",
    "pfc_c2f6_kg_per_t_al",
    "gwp_cf4",
    "gwp_c2f6",
)
_INDICATORS = (
    "core_tco2_per_tce_small",
    "core_tco2_per_tce_large",
    "core_large_park_threshold_tce",
    "clean_energy_share_min",
    "solid_waste_utilisation_min",
    "waste_heat_utilisation_min",
    "water_reuse_min",
    "inner_mongolia_regional_core_low",
    "inner_mongolia_regional_core_high",
)


def carbon_factors(factors: Factors, settings: CarbonSettings) -> CarbonFactors:
    """Pick the factor lines of ``settings``' region and year out of ``factors``.

    Raises
    ------
    KeyError
        A factor the accounting needs is not in the tables (the message names it).
    """
    lines: dict[str, FactorLine] = {
        "grid_location": FactorLine.of(
            "grid_location", factors.grid_factor(settings.grid_region, settings.grid_year)
        ),
        "grid_market": FactorLine.of(
            "grid_market", factors.grid_factor(settings.market_region, settings.grid_year)
        ),
    }
    for table, names in (
        (factors.energy, _ENERGY),
        (factors.aluminium, _ALUMINIUM),
        (factors.indicators, _INDICATORS),
    ):
        for name in names:
            if name not in table:
                raise KeyError(f"config/factors has no {name!r}")
            lines[name] = FactorLine.of(name, table[name])
    return CarbonFactors(**lines)
