"""The dispatcher in the server: scenarios from the park's assets, forecasts, tariff and measured
state; a day-ahead plan at 10:00 local for the next day; a rolling 24 h re-plan every 15 minutes
(model-predictive control); every plan stored; the next interval's setpoints published to the
gateways with a ``valid_until``.

Where a forecast is missing, the scenario says which fallback it used (``sources``): PV from a
clear-sky shape of the park's location, wind and loads by persistence of the latest measurement,
storage from its latest measured state of charge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

from config import Park, load_factors
from config.loader import park_tariff
from config.park import StorageAsset
from dispatch.scenario import parse_scenario
from dispatch.setpoints import setpoints_of
from dispatch.solve import DispatchError, solve
from forecasting.solar import clear_sky_shape
from park_server.db import crud
from park_server.db.plans import has_plan, plan_in_force, store_plan
from park_server.db.tables import ParkRow
from park_server.ingest.setpoints import publish_plan
from park_server.state import ServerState
from park_server.timeseries.forecasts import latest
from park_server.timeseries.queries import asset_power, latest_sample
from park_server.timeutil import QUARTER_MS, format_ts, local_now, now_ms, parse_ts

log = logging.getLogger("zcpark.dispatch")

STEP_MIN = 15


@dataclass
class PlanResult:
    plan_id: int
    plan: dict[str, Any]
    setpoints: dict[str, float]  # meter -> kW (+ discharge / - consume)


def _forecast(
    session: Session, park: str, target: str, times_ms: list[int]
) -> tuple[np.ndarray, str] | None:
    """P50 of the newest forecast issue at ``times_ms`` and the issue's name for ``sources``;
    None unless the issue covers all of them."""
    issue = latest(session, park, target)
    if issue is None:
        return None
    points = {p["ts"]: p["p50"] for p in issue["points"]}
    values = [points.get(format_ts(t)) for t in times_ms]
    if any(v is None for v in values):
        return None
    return np.array(values, dtype=float), f"{target} forecast issued {issue['issued']}"


def _soc(
    session: Session, park: Park, st: StorageAsset, now: int, max_age_s: float
) -> tuple[float | None, str]:
    """The state of charge (fraction) to plan from, and where it came from: the measurement when
    it is fresh, else the plan in force's own estimate for now, else None."""
    meter = park.primary_meter(st.id)
    sample = latest_sample(session, park.id, meter.id, "soc_pct") if meter else None
    if sample is not None and now - sample[0] <= max_age_s * 1000:
        return sample[1] / 100, "measured soc"
    age = f"newest measurement {format_ts(sample[0])}" if sample else "no measurement"
    plan = plan_in_force(session, park.id, now)
    if plan is not None and st.id in plan["series"]["storage"]:
        index = (now - parse_ts(plan["start"])) // QUARTER_MS
        socs = plan["series"]["storage"][st.id]["soc"]
        if 0 < index <= len(socs):
            return float(socs[index - 1]), f"estimated soc from plan {plan['plan_id']} ({age})"
    return None, f"configured soc_initial ({age}, no plan to estimate from)"


def build_scenario(
    session: Session,
    park: Park,
    start_ms: int,
    steps: int,
    name: str,
    objective: str = "green_first",
    soc_max_age_s: float = 900.0,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The §8 scenario of the park from ``start_ms`` for ``steps`` quarter-hours, and for each
    series where it came from (``sources``: which forecast issue, or which fallback)."""
    times = [start_ms + i * QUARTER_MS for i in range(steps)]
    sources: dict[str, str] = {}
    tariff = park_tariff(park)
    local = [datetime.fromtimestamp(t / 1000, UTC).astimezone(_zone(park)) for t in times]
    prices = tariff.prices([d.hour * 60 + d.minute for d in local]).tolist()
    ef = park.emission_factor
    co2 = load_factors().grid_factor(ef.region, ef.year).value  # tCO2/MWh = kg/kWh
    renewables = []
    pv_shape = None
    for r in park.renewables:
        fc = _forecast(session, park.id, r.kind, times)
        cap = r.capacity_kw
        if fc is not None:
            total_cap = sum(x.capacity_kw for x in park.renewables if x.kind == r.kind)
            series = fc[0] * cap / total_cap
            sources[r.id] = fc[1]
        elif r.kind == "pv":
            pv_shape = clear_sky_shape(park, times) if pv_shape is None else pv_shape
            series = pv_shape * cap
            sources[r.id] = "clear-sky shape (no forecast)"
        else:
            last = asset_power(session, park, r.id)
            series = np.full(steps, max(0.0, last) if last is not None else 0.3 * cap)
            sources[r.id] = "persistence" if last is not None else "30 % of capacity (no data)"
        renewables.append(
            {
                "name": r.id,
                "kind": r.kind,
                "curtailable": r.curtailable,
                "available_kw": np.clip(series, 0, cap).tolist(),
            }
        )
    loads = []
    # the flexible loads' present power (their mid-range where unmeasured, as the load forecast's
    # own fallback assumes)
    flexible_now = 0.0
    for f in park.flexible_loads:
        kw = asset_power(session, park, f.id)
        flexible_now += max(0.0, kw) if kw is not None else (f.min_kw + f.max_kw) / 2
    load_fc = _forecast(session, park.id, "load", times) if park.loads else None
    nominal = sum(ld.nominal_kw for ld in park.loads)
    for ld in park.loads:
        if load_fc is not None:
            # the load forecast is the park's consumption (flexible loads included); the fixed
            # loads are what remains beside the flexible loads' present power, shared by nominal
            fixed = np.clip(load_fc[0] - flexible_now, 0, None) * ld.nominal_kw / nominal
            sources[ld.id] = load_fc[1] + (
                " less the flexible loads' present power" if park.flexible_loads else ""
            )
            loads.append({"name": ld.id, "kw": fixed.tolist()})
            continue
        last = asset_power(session, park, ld.id)
        kw = max(0.0, last) if last is not None else ld.nominal_kw
        sources[ld.id] = (
            "persistence (no load forecast)" if last is not None else "nominal (no data)"
        )
        loads.append({"name": ld.id, "kw": [kw] * steps})
    flexible = []
    for f in park.flexible_loads:
        last = asset_power(session, park, f.id)
        hours = steps * STEP_MIN / 60
        item: dict[str, Any] = {
            "name": f.id,
            "min_kw": f.min_kw,
            "max_kw": f.max_kw,
            "ramp_kw_per_interval": f.ramp_kw_per_interval,
        }
        if last is not None and f.min_kw <= last <= f.max_kw:
            item["initial_kw"] = last
        if f.daily_energy_kwh is not None:
            item["energy_kwh"] = f.daily_energy_kwh * hours / 24
        flexible.append(item)
    storage = []
    for st in park.storage:
        soc, sources[st.id] = _soc(session, park, st, now_ms(), soc_max_age_s)
        soc0 = st.soc_initial if soc is None else min(max(soc, 0.0), 1.0)
        storage.append(
            {
                "name": st.id,
                "energy_kwh": st.energy_kwh,
                "power_kw": st.power_kw,
                "charge_efficiency": st.charge_efficiency,
                "discharge_efficiency": st.discharge_efficiency,
                "soc_initial": soc0,
                "soc_min": st.soc_min,
                "soc_max": st.soc_max,
                # never ask for more at the end than the battery has now (a plan must exist)
                "soc_final_min": min(max(st.soc_final_min, st.soc_min), max(soc0, st.soc_min)),
            }
        )
    scenario = {
        "name": name,
        "start": datetime.fromtimestamp(start_ms / 1000, UTC).isoformat(),
        "interval_minutes": STEP_MIN,
        "objective": objective,
        "grid": {
            "import_limit_kw": park.grid.import_limit_kw,
            "export_limit_kw": park.grid.export_limit_kw,
            "price_per_kwh": prices,
            "export_price_per_kwh": tariff.export_price_per_kwh,
            "co2_kg_per_kwh": co2,
        },
        "renewables": renewables,
        "loads": loads,
        "flexible_loads": flexible,
        "storage": storage,
    }
    return scenario, sources


def _zone(park: Park) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(park.timezone)


def plan_park(
    state: ServerState,
    park_id: str,
    kind: str = "rolling",
    start_ms: int | None = None,
    steps: int = 96,
) -> PlanResult | None:
    """Build, solve, store and publish one plan; None (logged) when the park cannot be planned."""
    with Session(state.engine) as session:
        row = session.get(ParkRow, park_id)
        if row is None:
            return None
        park = Park.model_validate_json(row.config_json)
        if not park.storage and not park.flexible_loads:
            return None  # nothing to dispatch
        now = now_ms()
        start = start_ms if start_ms is not None else now - now % QUARTER_MS
        name = f"{park.id}-{kind}-{format_ts(start)}"
        scenario, sources = build_scenario(
            session, park, start, steps, name, soc_max_age_s=state.settings.soc_max_age_s
        )
        try:
            plan = solve(parse_scenario(scenario, name)).to_json()
        except DispatchError as exc:
            log.error("park %s: no %s plan: %s", park.id, kind, exc)
            return None
        plan["sources"] = sources
        plan["start"] = format_ts(start)
        plan["interval_minutes"] = STEP_MIN
        record_id = store_plan(
            session,
            park_id=park.id,
            kind=kind,
            created_ms=now,
            start_ms=start,
            end_ms=start + steps * QUARTER_MS,
            plan=plan,
        )
        plan["plan_id"] = f"{park.id}-{record_id}"
        points = setpoints_of(plan, park)
    if kind == "rolling":
        publish_plan(state, park, plan, max(now, start))
    return PlanResult(record_id, plan, points)


def rolling_job(state: ServerState) -> None:
    """Re-plan every park from the current quarter-hour (run on the quarter by the scheduler);
    a park whose plan fails is logged and counted, and the others are planned all the same."""
    with Session(state.engine) as session:
        parks = [p.id for p in crud.park_configs(session)]
    failed = []
    for p in parks:
        try:
            plan_park(state, p, "rolling")
        except Exception:
            log.exception("park %s: the rolling plan failed", p)
            failed.append(p)
    if failed:
        state.counters.add(plans_failed=len(failed))


#: the local hour from which the next day's day-ahead plan is made
DAY_AHEAD_HOUR = 10


def day_ahead_job(state: ServerState) -> None:
    """From 10:00 in each park's own time zone: the plan for the park's next local day (96
    intervals from local midnight), once; run on every quarter, so a server that was down at
    10:00 makes it when it comes back."""
    with Session(state.engine) as session:
        parks = crud.park_configs(session)
    for park in parks:
        local = local_now(park.timezone)
        if local.hour < DAY_AHEAD_HOUR:
            continue
        tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        start = int(tomorrow.timestamp() * 1000)
        with Session(state.engine) as session:
            if has_plan(session, park_id=park.id, kind="day_ahead", start_ms=start):
                continue
        try:
            plan_park(state, park.id, "day_ahead", start_ms=start)
        except Exception:
            log.exception("park %s: the day-ahead plan failed", park.id)
            state.counters.add(plans_failed=1)
