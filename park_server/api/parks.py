"""Parks, meters, gateways, latest values, measurements, KPIs and events (DESIGN.md §6)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import text
from sqlmodel import col, select

from config import Park
from park_server.deps import ParkDep, SessionDep, StateDep, UserDep, WritableParkDep
from park_server.kpis import park_kpis
from park_server.models import EventRow, GatewayRow, MeterRow, ParkRow
from park_server.rollups import refresh_rollups
from park_server.timeutil import format_ts, now_ms, parse_ts

router = APIRouter(tags=["parks"])

MAX_POINTS = 100_000
MAX_RANGE_DAYS = {"raw": 31, "15min": 400, "1h": 800, "1d": 3700}


def _park(row: ParkRow) -> Park:
    return Park.model_validate_json(row.config_json)


@router.get("/parks")
def list_parks(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.exec(select(ParkRow).order_by(ParkRow.id)).all()
    return [_park_summary(r) for r in rows if user.can_read(r.id)]


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
    rows = session.exec(
        select(MeterRow).where(MeterRow.park_id == park.id).order_by(MeterRow.id)
    ).all()
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
        for m in rows
    ]


@router.get("/parks/{park}/gateways")
def list_gateways(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.exec(
        select(GatewayRow).where(GatewayRow.park_id == park.id).order_by(GatewayRow.id)
    ).all()
    out = []
    for g in rows:
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
            }
        )
    return out


@router.get("/parks/{park}/latest")
def latest(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT m.meter_id, m.quantity, m.ts_ms, m.value FROM measurement m JOIN "
                "(SELECT meter_id, quantity, MAX(ts_ms) AS ts FROM measurement WHERE park_id = :p "
                "GROUP BY meter_id, quantity) l ON l.meter_id = m.meter_id AND "
                "l.quantity = m.quantity AND l.ts = m.ts_ms WHERE m.park_id = :p "
                "ORDER BY m.meter_id, m.quantity"
            ),
            {"p": park.id},
        )
        .all()
    )
    return [
        {"meter": r[0], "quantity": r[1], "ts": format_ts(int(r[2])), "value": r[3]} for r in rows
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
    """Points in [start, end); ``next`` is the start of the following page, or null."""
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
    if session.get(MeterRow, (park.id, meter)) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meter {meter!r} in park {park.id!r}")
    conn = session.connection()
    params = {"p": park.id, "m": meter, "q": quantity, "s": start_ms, "e": end_ms, "n": limit + 1}
    if resolution == "raw":
        rows = conn.execute(
            text(
                "SELECT ts_ms, value FROM measurement WHERE park_id = :p AND meter_id = :m AND "
                "quantity = :q AND ts_ms >= :s AND ts_ms < :e ORDER BY ts_ms LIMIT :n"
            ),
            params,
        ).all()
    else:
        refresh_rollups(conn, timezones={park.id: park.timezone}, only=(park.id, meter, quantity))
        session.commit()
        conn = session.connection()
        rows = conn.execute(
            text(
                "SELECT ts_ms, value FROM rollup WHERE park_id = :p AND meter_id = :m AND "
                "quantity = :q AND resolution = :r AND ts_ms >= :s AND ts_ms < :e "
                "ORDER BY ts_ms LIMIT :n"
            ),
            {**params, "r": resolution},
        ).all()
    nxt = format_ts(int(rows[limit][0])) if len(rows) > limit else None
    return {
        "meter": meter,
        "quantity": quantity,
        "resolution": resolution,
        "points": [{"ts": format_ts(int(r[0])), "value": r[1]} for r in rows[:limit]],
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
    day = date_ or date.today()
    conn = session.connection()
    refresh_rollups(conn, timezones={park.id: park.timezone})
    session.commit()
    return park_kpis(session.connection(), cfg, period, day)


@router.get("/parks/{park}/events")
def events(
    park: ParkDep,
    session: SessionDep,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    q = select(EventRow).where(EventRow.park_id == park.id)
    if open_only:
        q = q.where(col(EventRow.closed_ms).is_(None))
    rows = session.exec(q.order_by(EventRow.opened_ms.desc()).limit(limit)).all()  # type: ignore[attr-defined]
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "subject": e.subject,
            "severity": e.severity,
            "message": e.message,
            "opened": format_ts(e.opened_ms),
            "closed": format_ts(e.closed_ms) if e.closed_ms else None,
        }
        for e in rows
    ]


__all__ = ["router"]
_ = (UserDep, StateDep)


@router.post("/parks/{park}/events/{event_id}/close")
def close_event(park: WritableParkDep, event_id: int, session: SessionDep) -> dict[str, Any]:
    """A manager acknowledges an event: it is closed now."""
    row = session.get(EventRow, event_id)
    if row is None or row.park_id != park.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id} in park {park.id!r}")
    if row.closed_ms is None:
        row.closed_ms = now_ms()
        session.add(row)
        session.commit()
    return {"id": row.id, "closed": format_ts(row.closed_ms)}
