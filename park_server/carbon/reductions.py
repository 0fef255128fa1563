"""Reductions: tCO2 avoided by on-site renewables and by the dispatcher's uplift.

- on-site renewables: the on-site part (PV and wind, directly or through storage) of the green
  electricity consumed, Σ green_onsite_i [MWh] × the location factor: what the grid would
  otherwise have supplied;
- dispatcher uplift: Σ over the plans in force of (baseline_kpis.co2_kg − kpis.co2_kg) / 1000,
  the optimiser against its own rule-based baseline (DESIGN.md §8). Plans must not overlap in
  time: pass the part of each plan that was in force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from park_server.carbon.factor_lines import FactorLine
from park_server.carbon.inputs import PlanOutcome


@dataclass(frozen=True)
class Reductions:
    onsite_renewables_t: float
    #: None for an enterprise: plans are the park's
    dispatch_uplift_t: float | None


def reductions(
    green_onsite_kwh: float, grid_location: FactorLine, plans: Iterable[PlanOutcome] | None
) -> Reductions:
    uplift = (
        None
        if plans is None
        else sum(p.baseline_kpis.co2_kg - p.kpis.co2_kg for p in plans) / 1000.0
    )
    return Reductions(green_onsite_kwh / 1000.0 * grid_location.value, uplift)
