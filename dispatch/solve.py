"""Solving a park model with HiGHS: ``cost``, and ``green_first`` as a true lexicographic optimum.

``green_first`` minimises CO2, then adds the row ``CO2 <= CO2* (1 + 1e-9) + 1e-6 kg`` and minimises
cost from the same HiGHS instance (warm start). Results are read only when HiGHS says optimal; an
infeasible scenario raises :class:`Infeasible` naming what cannot be met, never a relaxed plan.
"""

from __future__ import annotations

import time
from enum import Enum

import highspy
import numpy as np

from dispatch.baseline import rule_based
from dispatch.diagnose import check_assets, explain_with_iis
from dispatch.lp import INF, new_highs
from dispatch.model import ParkModel, build_model
from dispatch.plan import Dispatch, Plan, kpis
from dispatch.scenario import Scenario

#: CO2 held at its optimum within this relative / absolute slack in the second stage
CO2_REL_SLACK = 1e-9
CO2_ABS_SLACK_KG = 1e-6
#: currency per kWh through a battery, added to the cost objective: among plans of equal cost it
#: picks the one that cycles least, so no battery charges and discharges in one interval
THROUGHPUT_PENALTY = 1e-6


class SolveStatus(Enum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"


class DispatchError(Exception):
    """The solver did not return an optimal plan; the message says why in one line."""

    def __init__(self, status: SolveStatus, message: str) -> None:
        self.status = status
        super().__init__(message)


class Infeasible(DispatchError):
    def __init__(self, message: str) -> None:
        super().__init__(SolveStatus.INFEASIBLE, message)


def _status(h: highspy.Highs) -> SolveStatus:
    s = h.getModelStatus()
    if s == highspy.HighsModelStatus.kOptimal:
        return SolveStatus.OPTIMAL
    if s == highspy.HighsModelStatus.kInfeasible:
        return SolveStatus.INFEASIBLE
    if s in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return SolveStatus.UNBOUNDED
    return SolveStatus.ERROR


def _raise_unless_optimal(model: ParkModel, h: highspy.Highs, stage: str) -> None:
    status = _status(h)
    if status is SolveStatus.OPTIMAL:
        return
    if (
        status is SolveStatus.INFEASIBLE
        or h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible
    ):
        reason = check_assets(model.scenario) or explain_with_iis(
            model.scenario, model.lp, model.co2_kg
        )
        raise Infeasible(f"infeasible: {reason}")
    raise DispatchError(
        status, f"HiGHS stopped at the {stage} stage: {h.modelStatusToString(h.getModelStatus())}"
    )


def solve_model(model: ParkModel, objective: str | None = None) -> tuple[Dispatch, float]:
    """Solve; return the dispatch and the seconds spent in HiGHS (both stages)."""
    objective = objective or model.scenario.source.objective
    h = new_highs()
    cost = model.cost + THROUGHPUT_PENALTY * model.throughput
    first = model.co2_kg if objective == "green_first" else cost
    h.passModel(model.lp.to_highs_lp(first))
    started = time.perf_counter()
    h.run()
    _raise_unless_optimal(model, h, "first")
    if objective == "green_first":
        co2_star = h.getInfo().objective_function_value
        idx = np.nonzero(model.co2_kg)[0].astype(np.int32)
        h.addRow(
            -INF,
            co2_star * (1 + CO2_REL_SLACK) + CO2_ABS_SLACK_KG,
            len(idx),
            idx,
            model.co2_kg[idx],
        )
        all_cols = np.arange(model.lp.n_cols, dtype=np.int32)
        h.changeColsCost(len(all_cols), all_cols, cost)
        h.run()
        _raise_unless_optimal(model, h, "cost (second)")
    seconds = time.perf_counter() - started
    x = np.asarray(h.getSolution().col_value)
    return _read(model, x), seconds


def _read(model: ParkModel, x: np.ndarray) -> Dispatch:
    st = model.storage
    d = Dispatch(
        grid_import=np.maximum(x[model.grid.grid_import], 0.0),
        grid_export=np.maximum(x[model.grid.grid_export], 0.0),
        used=x[model.used],
        charge=np.maximum(x[st.charge], 0.0),
        discharge=np.maximum(x[st.discharge], 0.0),
        soc=x[st.soc],
        flex=x[model.flex],
    )
    net_simultaneous(model.scenario, d)
    return d


def net_simultaneous(sc: Scenario, d: Dispatch, tol: float = 1e-7) -> None:
    """Remove charging and discharging of one battery in the same interval, in place.

    An optimum can hold both only where the energy they waste costs nothing (no import, free
    curtailment). Netting keeps every state of charge and frees some power, which goes to less
    import, then more curtailment, then more export; where none can take it, nothing changes.
    """
    curtailable = np.array([r.curtailable for r in sc.renewables], dtype=bool)
    for i, s in enumerate(sc.storage):
        c, dis = d.charge[i], d.discharge[i]
        both = np.nonzero((c > tol) & (dis > tol))[0]
        for t in both:
            eff = s.charge_efficiency * s.discharge_efficiency
            if c[t] * s.charge_efficiency >= dis[t] / s.discharge_efficiency:
                new_c, new_d = c[t] - dis[t] / eff, 0.0
            else:
                new_c, new_d = 0.0, dis[t] - c[t] * eff
            freed = (c[t] - dis[t]) - (new_c - new_d)
            less_import = min(freed, d.grid_import[t])
            rest = freed - less_import
            room = d.used[curtailable, t].sum() if curtailable.any() else 0.0
            curtail = min(rest, room)
            rest -= curtail
            more_export = min(rest, sc.grid.export_limit_kw - d.grid_export[t])
            rest -= more_export
            if rest > tol:
                continue
            d.grid_import[t] -= less_import
            if curtail > 0:
                offer = np.where(curtailable, d.used[:, t], 0.0)
                d.used[:, t] -= offer * (curtail / offer.sum())
            d.grid_export[t] += more_export
            c[t], dis[t] = new_c, new_d


def solve(sc: Scenario, objective: str | None = None) -> Plan:
    """Build, solve and compare with the rule-based baseline."""
    started = time.perf_counter()
    pre = check_assets(sc)
    if pre is not None:
        raise Infeasible(f"infeasible: {pre}")
    model = build_model(sc)
    dispatch, _ = solve_model(model, objective)
    seconds = time.perf_counter() - started
    base = rule_based(sc)
    return Plan(
        status=SolveStatus.OPTIMAL.value,
        scenario=sc,
        dispatch=dispatch,
        kpis=kpis(sc, dispatch),
        baseline_kpis=kpis(sc, base),
        solve_seconds=seconds,
    )
