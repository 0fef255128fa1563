"""Park KPIs for a local day, month or year, from the 15-minute rollups of active power.

Energy by meter role (DESIGN.md §2 signs): generation (pv, wind), grid import (+) and export (−),
storage discharge (+) and charge (−), consumption (load and flexible-load meters; where a park has
none, the balance). ``green_share`` is §8's definition, 1 − import / consumption;
``green_share_volumetric`` = on-site renewables used / consumption (DOMAIN.md: say which is which).
CO2 of imports uses the park's grid factor (config/factors). Interval energy is the rollups'
(mean power × covered time), and ``completeness`` says what share of the expected
meter-intervals had data (DESIGN.md §10's definition).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from config import Park, load_factors
from park_server.timeutil import QUARTER_MS


class PeriodOutOfRange(ValueError):
    """The period's end lies beyond the calendar (after 9999-12-31)."""


def period_bounds(period: str, day: date, tz: str) -> tuple[int, int, str]:
    """[start, end) of the local day, month or year holding ``day`` [epoch ms], and its label;
    PeriodOutOfRange when the period ends after the last date a calendar holds."""
    try:
        return _period_bounds(period, day, tz)
    except (OverflowError, ValueError) as exc:
        if period not in ("day", "month", "year"):
            raise
        raise PeriodOutOfRange(
            f"the {period} of {day.isoformat()} ends after 9999-12-31, the last date supported"
        ) from exc


def _period_bounds(period: str, day: date, tz: str) -> tuple[int, int, str]:
    zone = ZoneInfo(tz)
    if period == "day":
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        end = datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=zone)
        label = day.isoformat()
    elif period == "month":
        start = datetime(day.year, day.month, 1, tzinfo=zone)
        nxt = (day.year + (day.month == 12), day.month % 12 + 1)
        end = datetime(nxt[0], nxt[1], 1, tzinfo=zone)
        label = f"{day.year:04d}-{day.month:02d}"
    elif period == "year":
        start = datetime(day.year, 1, 1, tzinfo=zone)
        end = datetime(day.year + 1, 1, 1, tzinfo=zone)
        label = f"{day.year:04d}"
    else:
        raise ValueError(f"period {period!r} is not day, month or year")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000), label


#: meter roles whose active power is energy in the balance
ENERGY_ROLES = ("grid", "pv", "wind", "storage", "load", "flexible_load")


def park_kpis(
    conn: Connection, park: Park, period: str, day: date, *, now_ms: int | None = None
) -> dict[str, Any]:
    """KPIs of the local ``period`` holding ``day``, from the 15-minute rollups as they are.

    Energy is each interval's rollup energy (mean power × the time its samples cover, so the
    interval in progress counts only what has been measured). ``completeness`` is the share of
    expected meter-intervals that have data: the primary meters of energy roles × the intervals
    of the period begun by ``now_ms`` (all of them when it is None); None before the period.
    """
    start, end, label = period_bounds(period, day, park.timezone)
    rows = conn.execute(
        text(
            # meters first (CROSS JOIN keeps SQLite's order): an index range of the rollup's
            # key per primary meter, not a scan of every rollup of the park
            "SELECT m.role, r.energy_kwh, r.count FROM meter m CROSS JOIN rollup r WHERE "
            "m.park_id = :p AND m.duty = 'primary' AND r.park_id = m.park_id AND "
            "r.meter_id = m.id AND r.quantity = 'active_power_kw' AND r.resolution = '15min' "
            "AND r.ts_ms >= :s AND r.ts_ms < :e"
        ),
        {"p": park.id, "s": start, "e": end},
    ).all()
    e: dict[str, float] = {
        k: 0.0 for k in ("pv", "wind", "import", "export", "discharge", "charge", "consumption")
    }
    intervals = 0
    for role, energy, count in rows:
        if not count:
            continue
        kwh = float(energy or 0.0)
        if role in ("pv", "wind"):
            e[role] += max(kwh, 0.0)
        elif role == "grid":
            intervals += 1
            e["import" if kwh > 0 else "export"] += abs(kwh)
        elif role == "storage":
            e["discharge" if kwh > 0 else "charge"] += abs(kwh)
        elif role in ("load", "flexible_load"):
            e["consumption"] += max(kwh, 0.0)
    has_load_meters = any(
        park.meter_role(m) in ("load", "flexible_load") and park.counts(m) for m in park.meters
    )
    if not has_load_meters:
        e["consumption"] = (
            e["pv"] + e["wind"] + e["import"] - e["export"] + e["discharge"] - e["charge"]
        )
    consumption = e["consumption"]
    meters = sum(1 for m in park.meters if park.counts(m) and park.meter_role(m) in ENERGY_ROLES)
    until = end if now_ms is None else max(start, min(end, now_ms))
    expected = meters * -(-(until - start) // QUARTER_MS)  # intervals begun, the current one too
    with_data = sum(1 for role, _, count in rows if count and role in ENERGY_ROLES)
    factors = load_factors()
    ef = park.emission_factor
    factor = factors.grid_factor(ef.region, ef.year)
    renewables = e["pv"] + e["wind"]
    planned = conn.execute(
        text(
            "SELECT plan_json FROM dispatch_plan WHERE park_id = :p AND kind = 'day_ahead' "
            "AND start_ms >= :s AND start_ms < :e"
        ),
        {"p": park.id, "s": start, "e": end},
    ).all()
    curtailed = [json.loads(r[0])["kpis"]["curtailed_kwh"] for r in planned]
    return {
        "park": park.id,
        "period": period,
        "label": label,
        "energy_kwh": {
            "pv": e["pv"],
            "wind": e["wind"],
            "grid_import": e["import"],
            "grid_export": e["export"],
            "storage_discharge": e["discharge"],
            "storage_charge": e["charge"],
        },
        "consumption_kwh": consumption,
        "green_share": 1 - e["import"] / consumption if consumption > 0 else None,
        "green_share_volumetric": (
            min(1.0, (renewables - e["export"]) / consumption) if consumption > 0 else None
        ),
        "co2_t": e["import"] * factor.value / 1000.0,
        # curtailment needs the power that was available, which meters do not measure: this is
        # what the day-ahead plans of the period expected to curtail (None without plans)
        "curtailed_kwh_planned": sum(curtailed) if curtailed else None,
        "grid_factor": {
            "region": ef.region,
            "year": ef.year,
            "t_per_mwh": factor.value,
            "source": factor.source,
            "confidence": factor.confidence,
        },
        "grid_intervals_with_data": intervals,
        "completeness": with_data / expected if expected else None,
        "meter_intervals": {"expected": expected, "with_data": with_data},
    }
