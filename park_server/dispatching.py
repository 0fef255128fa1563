"""The dispatcher in the server: scenarios from the park's assets, forecasts, tariff and measured
state; a day-ahead plan at 10:00 local for the next day; a rolling 24 h re-plan every 15 minutes
(model-predictive control); every plan stored; the next interval's setpoints published to the
gateways with a ``valid_until``.

Where a forecast is missing, the scenario says which fallback it used (``sources``): PV from a
clear-sky shape of the park's location, wind and loads by persistence of the latest measurement,
storage from its latest measured state of charge.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlmodel import Session, select

from config import Park, load_factors, load_profile
from config.loader import park_tariff
from dispatch.scenario import parse_scenario
from dispatch.solve import DispatchError, solve
from park_server import crud
from park_server.models import ParkRow, PlanRow
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms

log = logging.getLogger("zcpark.dispatch")

STEP_MIN = 15


@dataclass
class PlanResult:
    plan_id: int
    plan: dict[str, Any]
    setpoints: dict[str, float]  # meter -> kW (+ discharge / - consume)


def _latest(session: Session, park: str, meter: str, quantity: str) -> float | None:
    row = (
        session.connection()
        .execute(
            text(
                "SELECT value FROM measurement WHERE park_id = :p AND meter_id = :m AND quantity = :q "
                "AND quality < 2 ORDER BY ts_ms DESC LIMIT 1"
            ),
            {"p": park, "m": meter, "q": quantity},
        )
        .first()
    )
    return float(row[0]) if row else None


def _asset_power(session: Session, park: Park, asset_id: str) -> float | None:
    for m in park.meters:
        if m.asset == asset_id:
            v = _latest(session, park.id, m.id, "active_power_kw")
            if v is not None:
                return v
    return None


def _forecast(session: Session, park: str, target: str, times_ms: list[int]) -> np.ndarray | None:
    """P50 of the newest forecast issue at ``times_ms``; None unless it covers all of them."""
    from park_server.forecasts import latest

    issue = latest(session, park, target)
    if issue is None:
        return None
    points = {p["ts"]: p["p50"] for p in issue["points"]}
    values = [points.get(format_ts(t)) for t in times_ms]
    if any(v is None for v in values):
        return None
    return np.array(values, dtype=float)


def clear_sky_shape(park: Park, times_ms: list[int]) -> np.ndarray:
    """Fraction of PV capacity on a clear day, from the sun's elevation (pvlib)."""
    import pandas as pd
    import pvlib

    index = pd.to_datetime(times_ms, unit="ms", utc=True) + pd.Timedelta(minutes=STEP_MIN / 2)
    pos = pvlib.solarposition.get_solarposition(
        index, park.location.lat, park.location.lon, park.location.altitude_m
    )
    elevation = np.radians(np.clip(pos["apparent_elevation"].to_numpy(), 0, None))
    shape: np.ndarray = np.clip(np.sin(elevation) ** 1.2 * 1.05, 0, 1)
    return shape


def build_scenario(
    session: Session,
    park: Park,
    start_ms: int,
    steps: int,
    name: str,
    objective: str = "green_first",
) -> tuple[dict[str, Any], dict[str, str]]:
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
            series = fc * cap / total_cap
            sources[r.id] = "forecast"
        elif r.kind == "pv":
            pv_shape = clear_sky_shape(park, times) if pv_shape is None else pv_shape
            series = pv_shape * cap
            sources[r.id] = "clear-sky shape (no forecast)"
        else:
            last = _asset_power(session, park, r.id)
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
    for ld in park.loads:
        last = _asset_power(session, park, ld.id)
        kw = max(0.0, last) if last is not None else ld.nominal_kw
        sources[ld.id] = "persistence" if last is not None else "nominal (no data)"
        loads.append({"name": ld.id, "kw": [kw] * steps})
    flexible = []
    for f in park.flexible_loads:
        last = _asset_power(session, park, f.id)
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
        soc = None
        for m in park.meters:
            if m.asset == st.id:
                v = _latest(session, park.id, m.id, "soc_pct")
                soc = v / 100 if v is not None else soc
        soc0 = st.soc_initial if soc is None else min(max(soc, 0.0), 1.0)
        sources[st.id] = "measured soc" if soc is not None else "configured soc_initial (no data)"
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


def setpoints_of(plan: dict[str, Any], park: Park, index: int = 0) -> dict[str, float]:
    """Setpoints per meter for interval ``index``: storage + discharge / - charge, flexible - kW."""
    out: dict[str, float] = {}
    series = plan["series"]
    for m in park.meters:
        if not any(s.name == "active_power_kw" for s in load_profile(m.profile).setpoints):
            continue  # a meter that cannot take a setpoint (e.g. the AC side of a rectifier)
        if m.asset in series["storage"]:
            s = series["storage"][m.asset]
            out[m.id] = float(s["discharge_kw"][index] - s["charge_kw"][index])
        elif m.asset in series["flexible_loads"]:
            out[m.id] = -float(series["flexible_loads"][m.asset]["kw"][index])
    return out


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
        scenario, sources = build_scenario(session, park, start, steps, name)
        try:
            plan = solve(parse_scenario(scenario, name)).to_json()
        except DispatchError as exc:
            log.error("park %s: no %s plan: %s", park.id, kind, exc)
            return None
        plan["sources"] = sources
        plan["start"] = format_ts(start)
        plan["interval_minutes"] = STEP_MIN
        record = PlanRow(
            park_id=park.id,
            kind=kind,
            created_ms=now,
            start_ms=start,
            end_ms=start + steps * QUARTER_MS,
            plan_json=json.dumps(plan),
        )
        session.add(record)
        session.commit()
        session.refresh(record)
        plan["plan_id"] = f"{park.id}-{record.id}"
        points = setpoints_of(plan, park)
    if kind == "rolling":
        publish_setpoints(state, park.id, plan["plan_id"], start + QUARTER_MS, points)
    assert record.id is not None
    return PlanResult(record.id, plan, points)


def publish_setpoints(
    state: ServerState,
    park_id: str,
    plan_id: str,
    valid_until_ms: int,
    points: dict[str, float],
    only: str | None = None,
) -> int:
    """Send each gateway (or only ``only``) the setpoints of the meters it reads; return how many
    messages went out."""
    link = state.mqtt
    if link is None:
        return 0
    sent = 0
    for (park, gateway), meters in state.gateway_meters().items():
        if park != park_id or (only is not None and gateway != only):
            continue
        items = [
            {"meter": m, "name": "active_power_kw", "value": round(v, 3)}
            for m, v in points.items()
            if m in meters
        ]
        if items:
            link.publish(
                park,
                gateway,
                "setpoints",
                {"plan_id": plan_id, "valid_until": format_ts(valid_until_ms), "setpoints": items},
            )
            sent += 1
    return sent


def publish_in_force(state: ServerState, park_id: str, gateway: str | None = None) -> int:
    """Publish the current interval's setpoints of the plan in force (to one gateway or all)."""
    now = now_ms()
    with Session(state.engine) as session:
        plan = plan_in_force(session, park_id, now)
        row = session.get(ParkRow, park_id)
    if plan is None or row is None:
        return 0
    park = Park.model_validate_json(row.config_json)
    start = int(datetime.fromisoformat(plan["start"].replace("Z", "+00:00")).timestamp() * 1000)
    index = (now - start) // QUARTER_MS
    if index < 0 or index >= len(plan["series"]["grid_import_kw"]):
        return 0
    points = setpoints_of(plan, park, int(index))
    valid_until = start + (index + 1) * QUARTER_MS
    return publish_setpoints(state, park_id, plan["plan_id"], valid_until, points, only=gateway)


def plan_in_force(
    session: Session, park_id: str, at_ms: int | None = None
) -> dict[str, Any] | None:
    at = at_ms if at_ms is not None else now_ms()
    for kind in ("rolling", "day_ahead"):
        row = session.exec(
            select(PlanRow)
            .where(
                PlanRow.park_id == park_id,
                PlanRow.kind == kind,
                PlanRow.start_ms <= at,
                PlanRow.end_ms > at,
            )
            .order_by(PlanRow.created_ms.desc())  # type: ignore[attr-defined]
        ).first()
        if row is not None:
            plan: dict[str, Any] = json.loads(row.plan_json)
            plan["plan_id"] = f"{park_id}-{row.id}"
            plan["kind"] = kind
            return plan
    return None


def rolling_job(state: ServerState) -> None:
    with Session(state.engine) as session:
        parks = [r.id for r in session.exec(select(ParkRow)).all()]
    for p in parks:
        plan_park(state, p, "rolling")


def day_ahead_job(state: ServerState) -> None:
    """At 10:00 local: the plan for the next local day (96 intervals from local midnight)."""
    with Session(state.engine) as session:
        parks = crud.park_configs(session)
    for park in parks:
        tomorrow = (datetime.now(_zone(park)) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        plan_park(state, park.id, "day_ahead", start_ms=int(tomorrow.timestamp() * 1000))
