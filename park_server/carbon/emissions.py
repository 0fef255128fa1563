"""Emissions of a period, each line with the factors behind it.

- scope 1 fuels: coal [t] × ``bituminous_coal_tco2_per_t``; natural gas [m³] / 10⁴ ×
  ``natural_gas_tco2_per_1e4_nm3``; diesel [t] × ``diesel_tco2_per_t``;
- scope 2 electricity: location = grid_import [MWh] × ``grid_location``;
  market = max(0, grid_import − certificates − trades) [MWh] × ``grid_market`` (the residual
  factor, excluding market-traded non-fossil power); purchased heat [GJ] ×
  ``purchased_heat_tco2_per_gj`` (``scope2_heat``);
- aluminium process (CETS-AG-04.01-V01-2024): anode CO2 = production [t Al] × net anode
  consumption [tC/t Al] × (1 − sulphur − ash) × 44/12; PFC [tCO2e] = production ×
  (CF4 [kg/t] × GWP_CF4 + C2F6 [kg/t] × GWP_C2F6) / 1000.

Totals: ``total_location`` and ``total_market`` add every line (tCO2e, PFC included);
:meth:`Emissions.co2_t` is CO2 only (no PFC) under one electricity method — the figure of the
core indicator, the carbon budget and the intensity per 10⁴ yuan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from park_server.carbon.factor_lines import CarbonFactors, FactorLine
from park_server.carbon.inputs import Fuels, MonthlyInputs
from park_server.carbon.period import Period

#: Mass of CO2 per mass of carbon burnt: molar masses 44/12 as the guideline writes them
#: (stoichiometry, not a factor a notice revises).
CO2_PER_C = 44.0 / 12.0

Category = Literal[
    "scope1_fuel",
    "scope2_location",
    "scope2_market",
    "scope2_heat",
    "process_anode",
    "process_pfc_co2e",
]


@dataclass(frozen=True)
class EmissionLine:
    """One emission figure: what was counted, how much, with which factors, and the result."""

    name: str
    category: Category
    quantity: float
    quantity_unit: str
    factors: tuple[FactorLine, ...]
    t: float

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "category": self.category,
            "quantity": self.quantity,
            "quantity_unit": self.quantity_unit,
            "t": self.t,
            "factors": [f.as_dict() for f in self.factors],
        }


@dataclass(frozen=True)
class PeriodInputs:
    """Monthly entries of a scope brought to the period (pro rata to its days in each month)."""

    production_t: float
    output_10k_yuan: float
    fuels: Fuels
    #: net anode carbon consumed [tC]: production × (entered or default tC per t Al)
    anode_tc: float
    #: True where every month with production gave its own anode consumption
    anode_measured: bool


def period_inputs(
    inputs: Iterable[MonthlyInputs],
    period: Period,
    f: CarbonFactors,
    enterprise: str | None = None,
) -> PeriodInputs:
    """Sum ``inputs`` of the scope (``enterprise=None``: every row, the park's own included)."""
    prod = out = coal = gas = diesel = heat = anode = 0.0
    measured = True
    for x in inputs:
        if enterprise is not None and x.enterprise != enterprise:
            continue
        share = period.share_of_month(x.month)
        if share == 0:
            continue
        prod += x.production_t * share
        out += x.output_10k_yuan * share
        coal += x.fuels.coal_t * share
        gas += x.fuels.natural_gas_m3 * share
        diesel += x.fuels.diesel_t * share
        heat += x.fuels.purchased_heat_gj * share
        nc = x.anode_net_consumption_tc_per_t_al
        if nc is None:
            nc = f.anode_net_consumption_tc_per_t_al.value
            measured = measured and x.production_t == 0
        anode += x.production_t * share * nc
    fuels = Fuels(coal_t=coal, natural_gas_m3=gas, diesel_t=diesel, purchased_heat_gj=heat)
    return PeriodInputs(prod, out, fuels, anode, measured)


def fuel_lines(fuels: Fuels, f: CarbonFactors) -> list[EmissionLine]:
    """Scope 1 combustion lines [tCO2]."""
    return [
        EmissionLine(
            "coal",
            "scope1_fuel",
            fuels.coal_t,
            "t",
            (f.bituminous_coal_tco2_per_t,),
            fuels.coal_t * f.bituminous_coal_tco2_per_t.value,
        ),
        EmissionLine(
            "natural_gas",
            "scope1_fuel",
            fuels.natural_gas_m3,
            "m3",
            (f.natural_gas_tco2_per_1e4_nm3,),
            fuels.natural_gas_m3 / 1e4 * f.natural_gas_tco2_per_1e4_nm3.value,
        ),
        EmissionLine(
            "diesel",
            "scope1_fuel",
            fuels.diesel_t,
            "t",
            (f.diesel_tco2_per_t,),
            fuels.diesel_t * f.diesel_tco2_per_t.value,
        ),
    ]


def heat_line(purchased_heat_gj: float, f: CarbonFactors) -> EmissionLine:
    """Purchased heat [tCO2]."""
    return EmissionLine(
        "purchased_heat",
        "scope2_heat",
        purchased_heat_gj,
        "GJ",
        (f.purchased_heat_tco2_per_gj,),
        purchased_heat_gj * f.purchased_heat_tco2_per_gj.value,
    )


def electricity_lines(
    grid_import_kwh: float, certificates_kwh: float, trades_kwh: float, f: CarbonFactors
) -> tuple[EmissionLine, EmissionLine]:
    """Scope 2 electricity, location- and market-based [tCO2]."""
    residual_kwh = max(0.0, grid_import_kwh - certificates_kwh - trades_kwh)
    return (
        EmissionLine(
            "electricity_location",
            "scope2_location",
            grid_import_kwh,
            "kWh",
            (f.grid_location,),
            grid_import_kwh / 1000.0 * f.grid_location.value,
        ),
        EmissionLine(
            "electricity_market",
            "scope2_market",
            residual_kwh,
            "kWh",
            (f.grid_market,),
            residual_kwh / 1000.0 * f.grid_market.value,
        ),
    )


def process_lines(pi: PeriodInputs, f: CarbonFactors) -> tuple[EmissionLine, EmissionLine]:
    """Aluminium anode CO2 and PFC [tCO2, tCO2e] from the tonnes produced."""
    keep = 1.0 - f.anode_sulphur_fraction.value - f.anode_ash_fraction.value
    anode_factors: tuple[FactorLine, ...] = (f.anode_sulphur_fraction, f.anode_ash_fraction)
    if not pi.anode_measured:
        anode_factors = (f.anode_net_consumption_tc_per_t_al, *anode_factors)
    pfc_kg_per_t = (
        f.pfc_cf4_kg_per_t_al.value * f.gwp_cf4.value
        + f.pfc_c2f6_kg_per_t_al.value * f.gwp_c2f6.value
    )
    return (
        EmissionLine(
            "anode",
            "process_anode",
            pi.production_t,
            "t Al",
            anode_factors,
            pi.anode_tc * keep * CO2_PER_C,
        ),
        EmissionLine(
            "pfc",
            "process_pfc_co2e",
            pi.production_t,
            "t Al",
            (f.pfc_cf4_kg_per_t_al, f.gwp_cf4, f.pfc_c2f6_kg_per_t_al, f.gwp_c2f6),
            pi.production_t * pfc_kg_per_t / 1000.0,
        ),
    )


@dataclass(frozen=True)
class Emissions:
    lines: tuple[EmissionLine, ...]

    def _sum(self, category: Category) -> float:
        return sum(x.t for x in self.lines if x.category == category)

    @property
    def scope1_fuel(self) -> float:
        return self._sum("scope1_fuel")

    @property
    def scope2_location(self) -> float:
        return self._sum("scope2_location")

    @property
    def scope2_market(self) -> float:
        return self._sum("scope2_market")

    @property
    def scope2_heat(self) -> float:
        return self._sum("scope2_heat")

    @property
    def process_anode(self) -> float:
        return self._sum("process_anode")

    @property
    def process_pfc_co2e(self) -> float:
        return self._sum("process_pfc_co2e")

    @property
    def direct(self) -> float:
        """Fuel + anode + PFC [tCO2e]: the direct emissions CBAM and the carbon market ask for."""
        return self.scope1_fuel + self.process_anode + self.process_pfc_co2e

    @property
    def total_location(self) -> float:
        return self.direct + self.scope2_heat + self.scope2_location

    @property
    def total_market(self) -> float:
        return self.direct + self.scope2_heat + self.scope2_market

    def electricity(self, method: Literal["location", "market"]) -> float:
        return self.scope2_market if method == "market" else self.scope2_location

    def co2_t(self, method: Literal["location", "market"]) -> float:
        """CO2 only (fuel + anode + heat + electricity by ``method``) [tCO2]."""
        return self.scope1_fuel + self.process_anode + self.scope2_heat + self.electricity(method)


def emissions(
    pi: PeriodInputs,
    grid_import_kwh: float,
    certificates_kwh: float,
    trades_kwh: float,
    f: CarbonFactors,
) -> Emissions:
    """Every emission line of a scope and period."""
    return Emissions(
        (
            *fuel_lines(pi.fuels, f),
            heat_line(pi.fuels.purchased_heat_gj, f),
            *electricity_lines(grid_import_kwh, certificates_kwh, trades_kwh, f),
            *process_lines(pi, f),
        )
    )


@dataclass(frozen=True)
class Intensity:
    """Per-tonne and per-output intensities; None where the denominator is zero."""

    t_co2_per_t_product_direct: float | None
    t_co2_per_t_product_indirect_location: float | None
    t_co2_per_t_product_indirect_market: float | None
    t_co2_per_10k_yuan: float | None


def intensity(em: Emissions, pi: PeriodInputs, method: Literal["location", "market"]) -> Intensity:
    """Direct (fuel + anode + PFC) and indirect (electricity) per tonne of product [tCO2e/t];
    CO2 by ``method`` per 10⁴ yuan of output [tCO2/10⁴ yuan]."""
    t = pi.production_t
    y = pi.output_10k_yuan
    return Intensity(
        em.direct / t if t > 0 else None,
        em.scope2_location / t if t > 0 else None,
        em.scope2_market / t if t > 0 else None,
        em.co2_t(method) / y if y > 0 else None,
    )
