"""Plans (DESIGN.md §8): the series of a dispatch and the KPIs computed from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from dispatch.scenario import Scenario

FloatArray = npt.NDArray[np.float64]


@dataclass
class Dispatch:
    """Power series [kW] of one plan; every array has T values (first axis: the asset)."""

    grid_import: FloatArray
    grid_export: FloatArray
    used: FloatArray  # (R, T)
    charge: FloatArray  # (S, T)
    discharge: FloatArray  # (S, T)
    soc: FloatArray  # (S, T), fraction at the end of each interval
    flex: FloatArray  # (F, T)


@dataclass(frozen=True)
class Kpis:
    co2_kg: float
    cost: float
    grid_import_kwh: float
    grid_export_kwh: float
    curtailed_kwh: float
    consumption_kwh: float
    green_share: float

    def as_dict(self) -> dict[str, float]:
        return {
            "co2_kg": self.co2_kg,
            "cost": self.cost,
            "grid_import_kwh": self.grid_import_kwh,
            "grid_export_kwh": self.grid_export_kwh,
            "curtailed_kwh": self.curtailed_kwh,
            "consumption_kwh": self.consumption_kwh,
            "green_share": self.green_share,
        }


def kpis(sc: Scenario, d: Dispatch) -> Kpis:
    """KPIs of §8: consumption = Σ (loads + flexible)·dt; green share = 1 − import / consumption."""
    dt = sc.dt_h
    imp = float(np.sum(d.grid_import) * dt)
    consumption = float((np.sum(sc.load) + np.sum(d.flex)) * dt)
    return Kpis(
        co2_kg=float(np.sum(d.grid_import * sc.co2) * dt),
        cost=float(np.sum(d.grid_import * sc.price - d.grid_export * sc.export_price) * dt),
        grid_import_kwh=imp,
        grid_export_kwh=float(np.sum(d.grid_export) * dt),
        curtailed_kwh=float(np.sum(sc.available - d.used) * dt),
        consumption_kwh=consumption,
        green_share=1.0 - imp / consumption if consumption > 0 else 0.0,
    )


def _clean(a: FloatArray, digits: int = 6) -> list[float]:
    """Round away solver noise (1e-9 kW) so that a plan reads cleanly; -0.0 becomes 0.0."""
    out: list[float] = (np.round(a, digits) + 0.0).tolist()
    return out


@dataclass
class Plan:
    status: str
    scenario: Scenario
    dispatch: Dispatch
    kpis: Kpis
    baseline_kpis: Kpis
    solve_seconds: float
    notes: list[str] = field(default_factory=list)

    def uplift(self) -> dict[str, float]:
        """What the plan gains over the rule-based baseline (+ is better for green share)."""
        return {
            "green_share": self.kpis.green_share - self.baseline_kpis.green_share,
            "co2_kg": self.kpis.co2_kg - self.baseline_kpis.co2_kg,
            "cost": self.kpis.cost - self.baseline_kpis.cost,
        }

    def to_json(self) -> dict[str, Any]:
        sc, d = self.scenario, self.dispatch
        return {
            "status": self.status,
            "scenario": sc.name,
            "objective": sc.source.objective,
            "solve_seconds": round(self.solve_seconds, 6),
            "kpis": self.kpis.as_dict(),
            "baseline_kpis": self.baseline_kpis.as_dict(),
            "uplift": self.uplift(),
            "series": {
                "grid_import_kw": _clean(d.grid_import),
                "grid_export_kw": _clean(d.grid_export),
                "renewables": {
                    r.name: {
                        "used_kw": _clean(d.used[i]),
                        "curtailed_kw": _clean(np.maximum(sc.available[i] - d.used[i], 0.0)),
                    }
                    for i, r in enumerate(sc.renewables)
                },
                "storage": {
                    s.name: {
                        "charge_kw": _clean(d.charge[i]),
                        "discharge_kw": _clean(d.discharge[i]),
                        "soc": _clean(d.soc[i], 9),
                    }
                    for i, s in enumerate(sc.storage)
                },
                "flexible_loads": {
                    f.name: {"kw": _clean(d.flex[i])} for i, f in enumerate(sc.flexible_loads)
                },
            },
        }
