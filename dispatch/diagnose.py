"""Naming what cannot be met when a scenario is infeasible.

First each asset's own constraints are checked alone (a flexible load's energy against its band
and ramps, a battery's final state against its power, each interval's demand against all the supply
there could be); these give the most useful one-line answers. When every check passes but the whole
is still infeasible, HiGHS's irreducible infeasible subset names the constraints that clash.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt

from dispatch.lp import LinearProgram, new_highs
from dispatch.scenario import Scenario


def _when(sc: Scenario, t: int) -> str:
    stamp = sc.source.start + timedelta(minutes=t * sc.source.interval_minutes)
    return f"interval {t} ({stamp.isoformat()})"


def check_assets(sc: Scenario) -> str | None:
    """The first constraint that no plan can meet, checked asset by asset; None if none."""
    n_t, dt = sc.horizon, sc.dt_h
    for f in sc.flexible_loads:
        lo = np.full(n_t, f.min_kw)
        hi = np.full(n_t, f.max_kw)
        ramp = f.ramp_kw_per_interval
        if ramp is not None and f.initial_kw is not None:
            steps = ramp * np.arange(1, n_t + 1)
            lo = np.maximum(lo, f.initial_kw - steps)
            hi = np.minimum(hi, f.initial_kw + steps)
            if lo[0] > hi[0]:
                return (
                    f"flexible load {f.name!r}: cannot move from initial_kw={f.initial_kw:g} into "
                    f"[{f.min_kw:g}, {f.max_kw:g}] kW with ramp_kw_per_interval={ramp:g}"
                )
        if f.energy_kwh is not None:
            e_lo, e_hi = float(lo.sum() * dt), float(hi.sum() * dt)
            if not e_lo - 1e-6 <= f.energy_kwh <= e_hi + 1e-6:
                ramps = " and its ramps" if ramp is not None and f.initial_kw is not None else ""
                return (
                    f"flexible load {f.name!r}: cannot deliver energy_kwh={f.energy_kwh:g}; within "
                    f"min_kw/max_kw{ramps} it can take only {e_lo:g}..{e_hi:g} kWh over {n_t} "
                    "intervals"
                )
    for s in sc.storage:
        reach = s.soc_initial + s.power_kw * s.charge_efficiency * dt * n_t / s.energy_kwh
        best = min(s.soc_max, reach)
        if best < s.soc_final_min - 1e-9:
            return (
                f"storage {s.name!r}: cannot reach soc_final_min={s.soc_final_min:g}; charging at "
                f"power_kw={s.power_kw:g} from soc_initial={s.soc_initial:g} gets it to {best:.4g}"
            )
        first_lo = s.soc_initial - s.power_kw * dt / (s.discharge_efficiency * s.energy_kwh)
        first_hi = s.soc_initial + s.power_kw * s.charge_efficiency * dt / s.energy_kwh
        if first_hi < s.soc_min - 1e-9 or first_lo > s.soc_max + 1e-9:
            return (
                f"storage {s.name!r}: soc_initial={s.soc_initial:g} cannot be brought into "
                f"[soc_min, soc_max] = [{s.soc_min:g}, {s.soc_max:g}] in the first interval"
            )
    flex_min = np.array([f.min_kw for f in sc.flexible_loads]).sum()
    flex_max = np.array([f.max_kw for f in sc.flexible_loads]).sum()
    power = np.array([s.power_kw for s in sc.storage]).sum()
    supply_max = sc.grid.import_limit_kw + sc.available.sum(axis=0) + power
    demand_min = sc.load + flex_min
    short = np.nonzero(demand_min > supply_max + 1e-6)[0]
    if short.size:
        t = int(short[0])
        return (
            f"grid: import_limit_kw={sc.grid.import_limit_kw:g} cannot cover the demand at "
            f"{_when(sc, t)}: loads need at least {demand_min[t]:g} kW, all supply gives at most "
            f"{supply_max[t]:g} kW"
        )
    fixed = np.array([not r.curtailable for r in sc.renewables], dtype=bool)
    forced = sc.available[fixed].sum(axis=0) if fixed.any() else np.zeros(n_t)
    sink_max = sc.load + flex_max + power + sc.grid.export_limit_kw
    over = np.nonzero(forced > sink_max + 1e-6)[0]
    if over.size:
        t = int(over[0])
        names = ", ".join(r.name for r in sc.renewables if not r.curtailable)
        return (
            f"renewables {names} (curtailable: false): {forced[t]:g} kW at {_when(sc, t)} cannot "
            f"be absorbed; loads, storage and export_limit_kw={sc.grid.export_limit_kw:g} take at "
            f"most {sink_max[t]:g} kW"
        )
    return None


_ROW_LABEL = {
    "balance": "power balance",
    "storage_soc": "state-of-charge recursion",
    "flexible_ramp": "ramp limit",
    "flexible_energy": "energy",
}


def _row_owner(sc: Scenario, lp: LinearProgram, row: int) -> str:
    block, offset = lp.row_name(row)
    n_t = sc.horizon
    if block == "balance":
        return f"power balance at {_when(sc, offset)}"
    if block == "storage_soc":
        s, t = divmod(offset, n_t)
        return f"storage {sc.storage[s].name!r} state of charge at {_when(sc, t)}"
    if block == "flexible_ramp":
        ramped = [f for f in sc.flexible_loads if f.ramp_kw_per_interval is not None]
        f_i, t = divmod(offset, n_t - 1)
        return f"flexible load {ramped[f_i].name!r} ramp at {_when(sc, t + 1)}"
    if block == "flexible_energy":
        with_energy = [f for f in sc.flexible_loads if f.energy_kwh is not None]
        return f"flexible load {with_energy[offset].name!r} energy_kwh"
    return _ROW_LABEL.get(block, block)


def _col_owner(sc: Scenario, lp: LinearProgram, col: int) -> str:
    block, offset = lp.col_name(col)
    n_t = max(sc.horizon, 1)
    i, t = divmod(offset, n_t)
    if block == "grid_import":
        return f"grid import_limit_kw at {_when(sc, offset)}"
    if block == "grid_export":
        return f"grid export_limit_kw at {_when(sc, offset)}"
    if block == "renewable_used":
        return f"renewable {sc.renewables[i].name!r} available_kw at {_when(sc, t)}"
    if block in ("storage_charge", "storage_discharge"):
        return f"storage {sc.storage[i].name!r} power_kw at {_when(sc, t)}"
    if block == "storage_soc":
        return f"storage {sc.storage[i].name!r} soc limits at {_when(sc, t)}"
    if block == "flexible_kw":
        return f"flexible load {sc.flexible_loads[i].name!r} min_kw/max_kw at {_when(sc, t)}"
    return block


def explain_with_iis(sc: Scenario, lp: LinearProgram, cost: npt.NDArray[np.float64]) -> str:
    """Name the clashing constraints from HiGHS's irreducible infeasible subset."""
    h = new_highs()
    h.setOptionValue("presolve", "off")
    h.setOptionValue("iis_strategy", 2)  # from the LP's infeasibility proof (elasticity filter)
    h.passModel(lp.to_highs_lp(cost))
    h.run()
    try:
        _, iis = h.getIis()
        rows, cols = [int(r) for r in iis.row_index_], [int(c) for c in iis.col_index_]
    except Exception:  # a HiGHS without IIS support: fall back to the general line below
        rows, cols = [], []
    if not rows:
        return (
            "the constraints cannot all be met together (each asset is feasible on its own): "
            "check loads against import_limit_kw, storage energy and flexible-load energy"
        )
    owners: list[str] = []
    for owner in [_row_owner(sc, lp, r) for r in rows] + [_col_owner(sc, lp, c) for c in cols]:
        if owner not in owners:
            owners.append(owner)
    shown = owners[:5]
    more = f" and {len(owners) - 5} more" if len(owners) > 5 else ""
    return "these constraints cannot all be met together: " + "; ".join(shown) + more
