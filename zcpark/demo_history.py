"""The demo's history: weeks of 15-minute samples for one park from the simulator's own physics,
with a few planted events, backfilled through the same ingest path the gateways use
(:func:`park_server.ingest.batches.ingest_batch`), so that forecasts, plans, carbon figures,
alarms and last month's report exist from the demo's first minute.

Planted events (each visible in the console and the report):

- a **gateway outage**: six hours without any sample, ending two hours before the demo starts
  (an open data-gap alarm at the start, data completeness below 1, gaps listed);
- a **curtailment day**: the potlines held at their minimum for maintenance, so wind and PV
  exceed what the park can use and the anti-reverse-flow limit curtails them (measured
  curtailment: the plants report their available power);
- a **counter reset**: one meter's energy counters restart from zero (a replaced meter), which
  the rollups count as a reset, not as negative energy.

The battery follows a simple day rule in the history (charge 11:00–15:00, discharge
18:00–22:00 local); live, the dispatcher takes over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from config import Park, load_profile
from config.quantities import QUANTITIES
from edge_agent.simulate import ParkModel
from park_server.timeutil import format_ts

HISTORY_DAYS = 35
STEP_S = 900
#: what the history carries of each meter (what a park's charts and figures read)
HISTORY_QUANTITIES = (
    "active_power_kw",
    "energy_import_kwh",
    "energy_export_kwh",
    "available_power_kw",
    "soc_pct",
    "irradiance_wm2",
    "temperature_c",
    "wind_speed_ms",
)


@dataclass(frozen=True)
class Planted:
    """The events planted in the history [epoch s], so that a test or a tour can find them."""

    outage: tuple[float, float]
    curtailment_day: date
    reset_meter: str | None
    reset_at: float


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def plant_events(park: Park, start: float, end: float) -> Planted:
    """Where the events fall: the outage from eight to two hours before ``end``, the curtailment
    day a week before, the counter reset of the first load meter twelve days before."""
    tz = ZoneInfo(park.timezone)
    outage_start = end - 8 * 3600
    curtail = (datetime.fromtimestamp(end, tz) - timedelta(days=7)).date()
    loads = [m.id for m in park.meters if park.meter_role(m) in ("load", "flexible_load")]
    reset = end - 12 * 86_400
    return Planted(
        (outage_start, outage_start + 6 * 3600),
        curtail,
        loads[0] if loads else None,
        reset - reset % STEP_S,
    )


def _battery_rule(park: Park, model: ParkModel, local_hour: float) -> None:
    for st in park.storage:
        if 11 <= local_hour < 15:
            model.setpoints[st.id] = -0.5 * st.power_kw
        elif 18 <= local_hour < 22:
            model.setpoints[st.id] = 0.5 * st.power_kw
        else:
            model.setpoints[st.id] = 0.0


def history(
    park: Park, end: float, days: int = HISTORY_DAYS, seed: int = 1
) -> tuple[ParkModel, Planted, Iterator[list[dict[str, object]]]]:
    """The model (advanced to ``end`` once the samples are consumed), the planted events, and
    the samples one local day at a time (§5 sample objects, UTC time stamps)."""
    end -= end % STEP_S
    start = end - days * 86_400
    clock = _Clock(start)
    model = ParkModel(park, seed=seed, clock=clock)
    planted = plant_events(park, start, end)
    tz = ZoneInfo(park.timezone)
    wanted = {
        m.id: [
            q
            for q in load_profile(m.profile).quantities
            if q in HISTORY_QUANTITIES and q in QUANTITIES
        ]
        for m in park.meters
    }

    def days_of_samples() -> Iterator[list[dict[str, object]]]:
        out: list[dict[str, object]] = []
        t = start
        day = datetime.fromtimestamp(t, tz).date()
        while t < end:
            local = datetime.fromtimestamp(t, tz)
            if local.date() != day and out:
                yield out
                out, day = [], local.date()
            _battery_rule(park, model, local.hour + local.minute / 60)
            for f in park.flexible_loads:
                if local.date() == planted.curtailment_day:
                    model.setpoints[f.id] = -f.min_kw  # maintenance: the potlines at minimum
                else:
                    model.setpoints.pop(f.id, None)
            clock.t = t
            if planted.reset_meter and planted.reset_at <= t < planted.reset_at + STEP_S:
                model.advance(t)
                state = model.meters[planted.reset_meter]
                state.import_kwh, state.export_kwh = 0.0, 0.0
            ts = format_ts(round(t * 1000))
            readings = _readings(park, model, t)
            if not planted.outage[0] <= t < planted.outage[1]:
                for meter, quantities in wanted.items():
                    values = readings[meter]
                    out.extend(
                        {"ts": ts, "meter": meter, "quantity": q, "value": round(values[q], 4)}
                        for q in quantities
                        if q in values
                    )
            t += STEP_S
        clock.t = end
        model.advance(end)
        if out:
            yield out

    return model, planted, days_of_samples()


def _readings(park: Park, model: ParkModel, t: float) -> dict[str, dict[str, float]]:
    """What each meter reads at ``t`` of the quantities the history carries — the same figures
    as ``ParkModel.values`` gives for them, computed once per instant for every meter (values()
    also draws voltages, currents and reactive power, which the history leaves out, and costs 3 ms
    a meter: weeks of it would hold up the demo's start)."""
    model.advance(t)
    flows, grid = model._instant(t)
    w = model.weather
    weather = {
        "irradiance_wm2": w.at("ghi", t),
        "temperature_c": w.at("temp_air", t),
        "wind_speed_ms": w.at("wind10", t),
    }
    out: dict[str, dict[str, float]] = {}
    for meter in park.meters:
        ms = model.meters.get(meter.id)
        if ms is None:  # a weather station
            out[meter.id] = weather
            continue
        p = float(model._meter_power(ms, flows, grid)[0])
        imp, exp = ms.import_kwh, ms.export_kwh
        if meter.sign < 0:
            p, imp, exp = -p, exp, imp
        values = {"active_power_kw": p, "energy_import_kwh": imp, "energy_export_kwh": exp}
        avail = flows.get(f"available/{meter.asset}")
        if ms.role in ("pv", "wind", "direct_green") and avail is not None:
            values["available_power_kw"] = float(avail[0]) * ms.gain * meter.sign
        if ms.role == "wind":
            values["wind_speed_ms"] = w.at(f"hub/{meter.asset}", t)
        if ms.role == "storage":
            values["soc_pct"] = model.soc[meter.asset] * 100
        out[meter.id] = values
    return out


def continue_live(live: ParkModel, past: ParkModel) -> None:
    """Carry the history's counters and states of charge into the live simulator, so that the
    live counters go on from where the history's stopped (no false reset at the seam)."""
    for meter_id, state in past.meters.items():
        if meter_id in live.meters:
            live.meters[meter_id].import_kwh = state.import_kwh
            live.meters[meter_id].export_kwh = state.export_kwh
    live.soc.update(past.soc)


def backfill(
    engine: Any, park: Park, gateway_id: str, end: float, days: int = HISTORY_DAYS
) -> tuple[ParkModel, Planted, int]:
    """Write the history through the ingest path, 5,000 samples a batch, as the park's gateway;
    return the model at ``end``, the planted events and how many samples were stored."""
    from sqlmodel import Session

    from park_server.db.crud import load_park_meters
    from park_server.ingest.batches import ingest_batch

    model, planted, samples = history(park, end, days)
    stored = 0
    batch = 1
    with Session(engine) as session:
        meters = load_park_meters(session, park.id)
        for day in samples:
            for i in range(0, len(day), 5000):
                body = {
                    "v": 1,
                    "park": park.id,
                    "gateway": gateway_id,
                    "batch": batch,
                    "samples": day[i : i + 5000],
                }
                result = ingest_batch(session, body, park=meters, gateway_id=gateway_id)
                if result.rejected:
                    raise RuntimeError(f"history refused: {result.rejected[0]}")
                stored += result.accepted
                batch += 1
    return model, planted, stored
