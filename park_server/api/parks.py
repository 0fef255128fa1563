"""Parks, meters, gateways, latest values, measurements, KPIs and events (DESIGN.md §6)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from config import Park
from park_server.api.deps import ParkDep, SessionDep, StateDep, UserDep, WritableParkDep
from park_server.api.errors import invalid
from park_server.db import crud
from park_server.db.tables import EventRow, ParkRow
from park_server.ingest.clock import CLOCK_OFFSET_LIMIT_S
from park_server.timeseries import queries
from park_server.timeseries.kpis import PeriodOutOfRange, park_kpis, period_bounds
from park_server.timeutil import QUARTER_MS, format_ts, local_now, now_ms, parse_ts

router = APIRouter(tags=["parks"])

MAX_POINTS = 100_000
MAX_RANGE_DAYS = {"raw": 31, "15min": 400, "1h": 800, "1d": 3700}


def _park(row: ParkRow) -> Park:
    return Park.model_validate_json(row.config_json)


@router.get("/parks")
def list_parks(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    return [_park_summary(r) for r in crud.parks(session) if user.can_read(r.id)]


def _park_summary(row: ParkRow) -> dict[str, Any]:
    park = _park(row)
    return {
        "id": park.id,
        "name": park.name,
        "name_zh": park.name_zh,
        "timezone": park.timezone,
        "location": park.location.model_dump(),
        "capacity_kw": {
            kind: sum(getattr(a, "capacity_kw", 0.0) for a in park.assets_of(kind))
            for kind in ("pv", "wind")
        },
        "storage_kwh": sum(getattr(a, "energy_kwh", 0.0) for a in park.assets_of("storage")),
        "grid": park.grid.model_dump(),
        "green_share_target": park.green_share_target,
        "carbon_budget_t_per_year": park.carbon_budget_t_per_year,
    }


@router.get("/parks/{park}")
def get_park(park: ParkDep) -> dict[str, Any]:
    cfg = _park(park)
    return {
        **_park_summary(park),
        "enterprises": [e.model_dump() for e in cfg.enterprises],
        "assets": [a.model_dump() for a in cfg.assets],
        "emission_factor": cfg.emission_factor.model_dump(),
    }


@router.get("/parks/{park}/meters")
def list_meters(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "asset": m.asset_id,
            "role": m.role,
            "profile": m.profile,
            "sign": m.sign,
            "enterprise": m.enterprise_id,
            "quantities": json.loads(m.quantities_json),
            "description": m.description,
        }
        for m in crud.meters(session, park_id=park.id)
    ]


@router.get("/parks/{park}/completeness")
def completeness(
    park: ParkDep, session: SessionDep, hours: Annotated[int, Query(ge=1, le=168)] = 24
) -> dict[str, Any]:
    """Data completeness of each meter over the last ``hours`` whole quarter-hours: the share of
    15-minute intervals with a rollup of any of its quantities (the one in progress left out)."""
    now = now_ms()
    end = now - now % QUARTER_MS
    start = end - hours * 3_600_000
    intervals = hours * 4
    meters = crud.meters(session, park_id=park.id)
    got = queries.meter_completeness(
        session, park.id, [(m.id, json.loads(m.quantities_json)) for m in meters], start, end
    )
    return {
        "from": format_ts(start),
        "until": format_ts(end),
        "intervals": intervals,
        "meters": [
            {"meter": m.id, "with_data": got[m.id], "share": got[m.id] / intervals} for m in meters
        ],
    }


@router.get("/parks/{park}/gateways")
def list_gateways(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    out = []
    for g in crud.gateways(session, park_id=park.id):
        st = json.loads(g.status_json or "{}")
        out.append(
            {
                "id": g.id,
                "online": g.online,
                "last_seen": format_ts(g.last_seen_ms) if g.last_seen_ms else None,
                "last_status": format_ts(g.last_status_ms) if g.last_status_ms else None,
                "queue_samples": st.get("queue_samples"),
                "oldest_unsent": st.get("oldest_unsent"),
                "dropped_samples": g.dropped_samples,
                "rejected_samples": g.rejected_samples,
                "devices_online": st.get("devices_online"),
                "devices_total": st.get("devices_total"),
                "poll_cycle_ms": st.get("poll_cycle_ms"),
                "last_batch": g.last_batch,
                # the gateway's clock minus the server's [s], on its newest batch; None: unknown
                "clock_offset_s": g.clock_offset_s,
                "clock_ok": None
                if g.clock_offset_s is None
                else abs(g.clock_offset_s) <= CLOCK_OFFSET_LIMIT_S,
            }
        )
    return out


@router.get("/parks/{park}/latest")
def latest(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    return [
        {"meter": m, "quantity": q, "ts": format_ts(ts), "value": v}
        for m, q, ts, v in queries.latest_values(session, park.id)
    ]


def _time_param(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {exc}") from None


@router.get("/parks/{park}/measurements")
def measurements(
    park: ParkDep,
    session: SessionDep,
    meter: str,
    quantity: str,
    start: str | None = None,
    end: str | None = None,
    resolution: Literal["raw", "15min", "1h", "1d"] = "15min",
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 10_000,
) -> dict[str, Any]:
    """Points in [start, end); ``next`` is the start of the following page, or null. Rollups are
    read as the rollup job last wrote them (at most 30 s behind the raw samples; docs/rollups.md);
    raw points carry their ``quality``, counters' rollups their ``suspect_decreases``."""
    end_ms = _time_param("end", end, now_ms())
    start_ms = _time_param("start", start, end_ms - 86_400_000)
    if end_ms <= start_ms:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "end must be after start")
    if end_ms - start_ms > MAX_RANGE_DAYS[resolution] * 86_400_000:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"range too long for resolution {resolution}: "
            f"at most {MAX_RANGE_DAYS[resolution]} days",
        )
    if crud.meter(session, park_id=park.id, meter_id=meter) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meter {meter!r} in park {park.id!r}")
    rows = queries.points(
        session,
        park_id=park.id,
        meter=meter,
        quantity=quantity,
        start_ms=start_ms,
        end_ms=end_ms,
        resolution=resolution,
        limit=limit + 1,
    )
    nxt = format_ts(rows[limit][0]) if len(rows) > limit else None
    return {
        "meter": meter,
        "quantity": quantity,
        "resolution": resolution,
        "points": [{"ts": format_ts(ts), "value": v, **more} for ts, v, more in rows[:limit]],
        "next": nxt,
    }


@router.get("/parks/{park}/kpis")
def kpis(
    park: ParkDep,
    session: SessionDep,
    state: StateDep,
    period: Literal["day", "month", "year"] = "day",
    date_: Annotated[date | None, Query(alias="date")] = None,
) -> dict[str, Any]:
    cfg = _park(park)
    day = date_ or local_now(park.timezone).date()
    try:
        period_bounds(period, day, park.timezone)
    except PeriodOutOfRange as exc:
        raise invalid(["query", "date"], str(exc)) from None
    # reads the rollups as the rollup job last wrote them (every 30 s; a GET never writes)
    return park_kpis(session.connection(), cfg, period, day, now_ms=now_ms())


@router.get("/parks/{park}/events")
def events(
    park: ParkDep,
    session: SessionDep,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return [
        event_dict(e)
        for e in crud.events(session, park_id=park.id, open_only=open_only, limit=limit)
    ]


def event_dict(e: EventRow) -> dict[str, Any]:
    """An event as the API gives it (the console's alarm lists show the same)."""
    return {
        "id": e.id,
        "kind": e.kind,
        "subject": e.subject,
        "severity": e.severity,
        "message": e.message,
        "opened": format_ts(e.opened_ms),
        "closed": format_ts(e.closed_ms) if e.closed_ms else None,
        "acknowledged": format_ts(e.acknowledged_ms) if e.acknowledged_ms else None,
        "acknowledged_by": e.acknowledged_by,
    }


__all__ = ["router"]
_ = (UserDep, StateDep)


@router.post("/parks/{park}/events/{event_id}/close")
def close_event(park: WritableParkDep, event_id: int, session: SessionDep) -> dict[str, Any]:
    """A manager acknowledges an event: it is closed now."""
    row = crud.close_event(session, park_id=park.id, event_id=event_id)
    if row is None or row.closed_ms is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id} in park {park.id!r}")
    return {"id": row.id, "closed": format_ts(row.closed_ms)}
