"""The park as a linear programme (DESIGN.md §8), one ``define_*`` function per asset family.

Index arrays are shaped like the physics: ``(T,)`` for the grid, ``(R, T)``, ``(S, T)`` and
``(F, T)`` for renewables, storage and flexible loads. Nothing here solves; see ``solve.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatch.lp import INF, LinearProgram
from dispatch.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class GridVars:
    grid_import: IntArray
    grid_export: IntArray


@dataclass(frozen=True)
class StorageVars:
    charge: IntArray
    discharge: IntArray
    soc: IntArray


@dataclass(frozen=True)
class ParkModel:
    scenario: Scenario
    lp: LinearProgram
    grid: GridVars
    used: IntArray  # (R, T) renewable power used
    storage: StorageVars  # (S, T) each
    flex: IntArray  # (F, T) flexible-load power
    co2_kg: FloatArray  # objective coefficients per column [kg CO2 per kW of the column]
    cost: FloatArray  # objective coefficients per column [currency per kW of the column]
    throughput: FloatArray  # kWh through the batteries per kW of each column (charge + discharge)


def define_grid(lp: LinearProgram, sc: Scenario) -> GridVars:
    t = sc.horizon
    return GridVars(
        grid_import=lp.add_vars("grid_import", (t,), 0.0, sc.grid.import_limit_kw),
        grid_export=lp.add_vars("grid_export", (t,), 0.0, sc.grid.export_limit_kw),
    )


def define_renewables(lp: LinearProgram, sc: Scenario) -> IntArray:
    curtailable = np.array([r.curtailable for r in sc.renewables], dtype=bool)[:, None]
    lower = np.where(curtailable, 0.0, sc.available)
    return lp.add_vars("renewable_used", sc.available.shape, lower, sc.available)


def define_storage(lp: LinearProgram, sc: Scenario) -> StorageVars:
    """Charge, discharge and state of charge with the recursion of §8.

    soc[t] - soc[t-1] - charge[t]*eta_c*dt/E + discharge[t]*dt/(eta_d*E) = 0, soc[-1] = soc_initial.
    """
    n_s, n_t = len(sc.storage), sc.horizon
    shape = (n_s, n_t)
    if n_s == 0:
        empty = np.zeros(shape, dtype=np.int64)
        return StorageVars(empty, empty, empty)
    power = np.array([s.power_kw for s in sc.storage])[:, None]
    soc_min = np.array([s.soc_min for s in sc.storage])[:, None]
    soc_max = np.array([s.soc_max for s in sc.storage])[:, None]
    final = np.array([max(s.soc_min, s.soc_final_min) for s in sc.storage])
    charge = lp.add_vars("storage_charge", shape, 0.0, power)
    discharge = lp.add_vars("storage_discharge", shape, 0.0, power)
    soc_lower = np.broadcast_to(soc_min, shape).copy()
    soc_lower[:, -1] = final
    soc = lp.add_vars("storage_soc", shape, soc_lower, soc_max)

    e = np.array([s.energy_kwh for s in sc.storage])[:, None]
    eta_c = np.array([s.charge_efficiency for s in sc.storage])[:, None]
    eta_d = np.array([s.discharge_efficiency for s in sc.storage])[:, None]
    rows = np.arange(n_s * n_t).reshape(shape)
    rhs = np.zeros(shape)
    rhs[:, 0] = [s.soc_initial for s in sc.storage]
    lp.add_rows(
        "storage_soc",
        n_s * n_t,
        [
            (rows, soc, 1.0),
            (rows[:, 1:], soc[:, :-1], -1.0),
            (rows, charge, np.broadcast_to(-eta_c * sc.dt_h / e, shape)),
            (rows, discharge, np.broadcast_to(sc.dt_h / (eta_d * e), shape)),
        ],
        rhs.ravel(),
        rhs.ravel(),
    )
    return StorageVars(charge, discharge, soc)


def define_flexible_loads(lp: LinearProgram, sc: Scenario) -> IntArray:
    """Bounds, ramps (|kw[t]-kw[t-1]| <= ramp, kw[-1] = initial_kw) and energy of flexible loads."""
    loads = sc.flexible_loads
    n_f, n_t = len(loads), sc.horizon
    shape = (n_f, n_t)
    lower = np.broadcast_to(np.array([f.min_kw for f in loads])[:, None], shape).copy()
    upper = np.broadcast_to(np.array([f.max_kw for f in loads])[:, None], shape).copy()
    for i, f in enumerate(loads):
        if f.initial_kw is not None and f.ramp_kw_per_interval is not None:
            lower[i, 0] = max(lower[i, 0], f.initial_kw - f.ramp_kw_per_interval)
            upper[i, 0] = min(upper[i, 0], f.initial_kw + f.ramp_kw_per_interval)
    kw = lp.add_vars("flexible_kw", shape, lower, upper)

    ramped = [i for i, f in enumerate(loads) if f.ramp_kw_per_interval is not None and n_t > 1]
    if ramped:
        ramp = np.array([loads[i].ramp_kw_per_interval or 0.0 for i in ramped])[:, None]
        rows = np.arange(len(ramped) * (n_t - 1)).reshape(len(ramped), n_t - 1)
        sel = kw[ramped]
        lp.add_rows(
            "flexible_ramp",
            rows.size,
            [(rows, sel[:, 1:], 1.0), (rows, sel[:, :-1], -1.0)],
            np.broadcast_to(-ramp, rows.shape).ravel(),
            np.broadcast_to(ramp, rows.shape).ravel(),
        )
    with_energy = [i for i, f in enumerate(loads) if f.energy_kwh is not None]
    if with_energy:
        energy = np.array([loads[i].energy_kwh or 0.0 for i in with_energy])
        rows = np.broadcast_to(np.arange(len(with_energy))[:, None], (len(with_energy), n_t))
        lp.add_rows(
            "flexible_energy", len(with_energy), [(rows, kw[with_energy], sc.dt_h)], energy, energy
        )
    return kw


def define_balance(
    lp: LinearProgram, sc: Scenario, grid: GridVars, used: IntArray, st: StorageVars, flex: IntArray
) -> None:
    """Σ used + import + Σ discharge - Σ flexible - Σ charge - export = Σ loads, each interval."""
    n_t = sc.horizon
    t = np.arange(n_t)
    lp.add_rows(
        "balance",
        n_t,
        [
            (t, grid.grid_import, 1.0),
            (t, grid.grid_export, -1.0),
            (t[None, :], used, 1.0),
            (t[None, :], st.discharge, 1.0),
            (t[None, :], st.charge, -1.0),
            (t[None, :], flex, -1.0),
        ],
        sc.load,
        sc.load,
    )


def build_model(sc: Scenario) -> ParkModel:
    lp = LinearProgram()
    grid = define_grid(lp, sc)
    used = define_renewables(lp, sc)
    st = define_storage(lp, sc)
    flex = define_flexible_loads(lp, sc)
    define_balance(lp, sc, grid, used, st, flex)
    co2 = np.zeros(lp.n_cols)
    co2[grid.grid_import] = sc.co2 * sc.dt_h
    cost = np.zeros(lp.n_cols)
    cost[grid.grid_import] = sc.price * sc.dt_h
    cost[grid.grid_export] = -sc.export_price * sc.dt_h
    throughput = np.zeros(lp.n_cols)
    throughput[st.charge] = sc.dt_h
    throughput[st.discharge] = sc.dt_h
    return ParkModel(sc, lp, grid, used, st, flex, co2, cost, throughput)


__all__ = ["INF", "ParkModel", "build_model"]
