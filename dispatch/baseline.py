"""The rule-based baseline every plan is compared with.

Rules, interval by interval: flexible loads run flat (their energy spread evenly, clipped to their
band); storage charges from renewable surplus and discharges on deficit, never below
max(soc_min, soc_final_min) so that it ends where the scenario asks (a battery that starts below
its final minimum first charges at full power); leftover surplus is exported within the limit and
the rest curtailed; the remaining deficit is imported.
"""

from __future__ import annotations

import numpy as np

from dispatch.plan import Dispatch
from dispatch.scenario import Scenario


def flat_flexible(sc: Scenario) -> np.ndarray:
    n_t = sc.horizon
    out = np.zeros((len(sc.flexible_loads), n_t))
    for i, f in enumerate(sc.flexible_loads):
        if f.energy_kwh is not None:
            level = f.energy_kwh / (n_t * sc.dt_h)
        elif f.initial_kw is not None:
            level = f.initial_kw
        else:
            level = f.min_kw
        out[i] = min(max(level, f.min_kw), f.max_kw)
    return out


def rule_based(sc: Scenario) -> Dispatch:
    n_t, n_s = sc.horizon, len(sc.storage)
    flex = flat_flexible(sc)
    avail_total = sc.available.sum(axis=0)
    net = avail_total - sc.load - flex.sum(axis=0)  # + surplus, - deficit

    charge = np.zeros((n_s, n_t))
    discharge = np.zeros((n_s, n_t))
    soc = np.zeros((n_s, n_t))
    level = np.array([s.soc_initial for s in sc.storage])
    for t in range(n_t):
        remaining = net[t]
        for i, s in enumerate(sc.storage):
            e, dt = s.energy_kwh, sc.dt_h
            floor = max(s.soc_min, s.soc_final_min)
            if level[i] < floor:  # must reach the required final state: charge at full power
                room = (min(s.soc_max, 1.0) - level[i]) * e / (s.charge_efficiency * dt)
                c = max(0.0, min(s.power_kw, room))
                charge[i, t] = c
                remaining -= c
                level[i] += c * s.charge_efficiency * dt / e
            elif remaining > 0:
                room = (s.soc_max - level[i]) * e / (s.charge_efficiency * dt)
                c = max(0.0, min(s.power_kw, remaining, room))
                charge[i, t] = c
                remaining -= c
                level[i] += c * s.charge_efficiency * dt / e
            elif remaining < 0:
                stock = (level[i] - floor) * e * s.discharge_efficiency / dt
                d = max(0.0, min(s.power_kw, -remaining, stock))
                discharge[i, t] = d
                remaining += d
                level[i] -= d * dt / (s.discharge_efficiency * e)
            soc[i, t] = level[i]
        net[t] = remaining

    surplus = np.maximum(net, 0.0)
    export = np.minimum(surplus, sc.grid.export_limit_kw)
    curtail_total = surplus - export
    grid_import = np.maximum(-net, 0.0)

    # curtail the curtailable renewables in proportion to what they offer
    curtailable = np.array([r.curtailable for r in sc.renewables], dtype=bool)
    used = sc.available.copy()
    if len(sc.renewables):
        offer = np.where(curtailable[:, None], sc.available, 0.0)
        total_offer = offer.sum(axis=0)
        share = np.divide(offer, total_offer, out=np.zeros_like(offer), where=total_offer > 0)
        used -= share * np.minimum(curtail_total, total_offer)
    return Dispatch(grid_import, export, used, charge, discharge, soc, flex)


def is_feasible(sc: Scenario, d: Dispatch, tol: float = 1e-6) -> bool:
    """Whether the baseline keeps every limit the optimiser is held to."""
    if np.any(d.grid_import > sc.grid.import_limit_kw + tol):
        return False
    if np.any(d.used < -tol):
        return False
    for i, s in enumerate(sc.storage):
        if d.soc[i].size and d.soc[i, -1] < s.soc_final_min - tol:
            return False
        if np.any(d.soc[i] > s.soc_max + tol) or np.any(d.soc[i] < s.soc_min - tol):
            return False
    for i, f in enumerate(sc.flexible_loads):
        ramp = f.ramp_kw_per_interval
        if (
            ramp is not None
            and f.initial_kw is not None
            and abs(d.flex[i, 0] - f.initial_kw) > ramp + tol
        ):
            return False
        if f.energy_kwh is not None and abs(d.flex[i].sum() * sc.dt_h - f.energy_kwh) > 1e-6 * max(
            1.0, f.energy_kwh
        ):
            return False
    return True
