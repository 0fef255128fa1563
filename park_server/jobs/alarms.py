"""Alarms and events: gateway offline (after a grace period for a gateway never heard from),
meter stale, data gap, buffer drops, a check meter that disagrees with its primary meter.

An alarm opens an event (one per kind and subject while it lasts) and closes it when the condition
clears, so the console shows both what is wrong now and what was wrong when.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlmodel import Session, col, select

from park_server.db import crud
from park_server.db.tables import EventRow, GatewayRow, MeterRow
from park_server.ingest.clock import CLOCK_OFFSET_LIMIT_S
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms

GATEWAY_OFFLINE_S = 120
METER_STALE_S = 300
GAP_LOOKBACK_MS = 6 * 3600 * 1000
#: a gateway just added is "awaiting first contact", not offline, for this long
FIRST_CONTACT_GRACE_S = 600


def _open(session: Session, park: str, kind: str, subject: str) -> EventRow | None:
    return session.exec(
        select(EventRow).where(
            EventRow.park_id == park,
            EventRow.kind == kind,
            EventRow.subject == subject,
            col(EventRow.closed_ms).is_(None),
        )
    ).first()


def _set(
    session: Session,
    park: str,
    kind: str,
    subject: str,
    active: bool,
    message: str,
    now: int,
    severity: str = "warning",
) -> None:
    current = _open(session, park, kind, subject)
    if active and current is None:
        session.add(
            EventRow(
                park_id=park,
                kind=kind,
                subject=subject,
                severity=severity,
                message=message,
                opened_ms=now,
            )
        )
    elif not active and current is not None:
        current.closed_ms = now
        session.add(current)


def evaluate(session: Session, now: int | None = None) -> None:
    now = now if now is not None else now_ms()
    for g in session.exec(select(GatewayRow)).all():
        seen = max(g.last_status_ms or 0, g.last_seen_ms or 0)
        if seen:
            offline = now - seen > GATEWAY_OFFLINE_S * 1000 or not g.online
            message = f"gateway {g.id} offline (last heard {format_ts(seen)})"
        else:  # awaiting first contact: an alarm only once the grace period has passed
            offline = now - g.created_ms > FIRST_CONTACT_GRACE_S * 1000
            message = (
                f"gateway {g.id} never heard from since it was added at {format_ts(g.created_ms)}"
            )
        _set(session, g.park_id, "gateway_offline", g.id, offline, message, now, "critical")
        status = json.loads(g.status_json or "{}")
        reported = int(status.get("dropped_samples") or 0)
        last = session.exec(
            select(EventRow)
            .where(
                EventRow.park_id == g.park_id,
                EventRow.kind == "buffer_drops",
                EventRow.subject == g.id,
            )
            .order_by(EventRow.opened_ms.desc())  # type: ignore[attr-defined]
        ).first()
        known = int(last.message.split(" ")[-2]) if last and last.message.endswith("samples") else 0
        if reported > known:
            session.add(
                EventRow(
                    park_id=g.park_id,
                    kind="buffer_drops",
                    subject=g.id,
                    severity="critical",
                    message=f"gateway {g.id} buffer full: dropped {reported} samples",
                    opened_ms=now,
                    closed_ms=now,
                )
            )
    conn = session.connection()
    # freshness counts only samples that are not bad: an offline device's 0.0 flagged bad is
    # stored, but says nothing about the meter
    latest = conn.execute(
        text(
            "SELECT park_id, meter_id, MAX(CASE WHEN quality < 2 THEN ts_ms END), MAX(ts_ms) "
            "FROM measurement GROUP BY park_id, meter_id"
        )
    ).all()
    last_by_meter = {(p, m): (good, int(t)) for p, m, good, t in latest}
    for m in session.exec(select(MeterRow)).all():
        newest = last_by_meter.get((m.park_id, m.id))
        if newest is None:
            continue  # never reported: not stale, just not connected yet
        first = conn.execute(
            text("SELECT MIN(ts_ms) FROM measurement WHERE park_id = :p AND meter_id = :m"),
            {"p": m.park_id, "m": m.id},
        ).scalar_one()
        last_good = int(newest[0]) if newest[0] is not None else None
        fresh_since = last_good if last_good is not None else int(first)
        if newest[1] > (last_good if last_good is not None else -1):
            stale_message = (
                f"meter {m.id} has sent only bad-quality samples since {format_ts(fresh_since)}"
            )
        else:
            stale_message = f"meter {m.id} has sent nothing since {format_ts(fresh_since)}"
        _set(
            session,
            m.park_id,
            "meter_stale",
            m.id,
            now - fresh_since > METER_STALE_S * 1000,
            stale_message,
            now,
        )
        gaps = conn.execute(
            text(
                "SELECT COUNT(DISTINCT (ts_ms / :q)) FROM measurement WHERE park_id = :p AND "
                "meter_id = :m AND ts_ms >= :s AND ts_ms < :e AND quality < 2"
            ),
            {
                "q": QUARTER_MS,
                "p": m.park_id,
                "m": m.id,
                "s": now - GAP_LOOKBACK_MS,
                "e": now - now % QUARTER_MS,
            },
        ).scalar_one()
        start = max(now - GAP_LOOKBACK_MS, int(first))
        expected = max(0, (now - now % QUARTER_MS - (start - start % QUARTER_MS)) // QUARTER_MS)
        missing = expected - int(gaps or 0)
        _set(
            session,
            m.park_id,
            "data_gap",
            m.id,
            missing > 0,
            f"meter {m.id}: {missing} of the last {expected} quarter-hours have no data",
            now,
        )
    session.commit()


def check_meters(session: Session, now: int | None = None) -> None:
    """A check meter whose last complete quarter-hour of active power differs from its primary
    meter's by more than its tolerance opens a ``meter_disagreement`` alarm (closed when they
    agree again); the two are compared, never summed."""
    now = now if now is not None else now_ms()
    bucket = now - now % QUARTER_MS - QUARTER_MS
    for park in crud.park_configs(session):
        for m in park.meters:
            primary = park.primary_meter(m.asset) if m.duty == "check" else None
            if primary is None:
                continue
            values: dict[str, float] = dict(
                session.connection()
                .execute(
                    text(
                        "SELECT meter_id, value FROM rollup WHERE park_id = :p AND quantity = "
                        "'active_power_kw' AND resolution = '15min' AND ts_ms = :t AND "
                        "meter_id IN (:a, :b) AND count > 0"
                    ),
                    {"p": park.id, "t": bucket, "a": m.id, "b": primary.id},
                )
                .all()
            )
            if m.id not in values or primary.id not in values:
                continue  # nothing to compare: gaps have alarms of their own
            check_kw, primary_kw = float(values[m.id]), float(values[primary.id])
            diff_pct = abs(check_kw - primary_kw) / max(abs(primary_kw), 1e-9) * 100
            _set(
                session,
                park.id,
                "meter_disagreement",
                m.id,
                diff_pct > m.check_tolerance_pct,
                f"check meter {m.id} reads {check_kw:,.0f} kW against {primary_kw:,.0f} kW on "
                f"primary meter {primary.id} ({diff_pct:.1f} % apart, tolerance "
                f"{m.check_tolerance_pct:g} %) at {format_ts(bucket)}",
                now,
            )
    session.commit()


def gateway_clocks(session: Session, now: int | None = None) -> None:
    """A gateway whose clock is more than CLOCK_OFFSET_LIMIT_S off the server's (measured on its
    newest batch, park_server.ingest.clock) opens a ``gateway_clock`` alarm, closed when the
    clock is right again; its samples are kept as stamped."""
    now = now if now is not None else now_ms()
    for g in session.exec(select(GatewayRow)).all():
        offset = g.clock_offset_s
        off = offset is not None and abs(offset) > CLOCK_OFFSET_LIMIT_S
        ahead = "ahead of" if (offset or 0) > 0 else "behind"
        _set(
            session,
            g.park_id,
            "gateway_clock",
            g.id,
            off,
            f"gateway {g.id} clock {abs(offset or 0):,.0f} s {ahead} the server's (at "
            f"{format_ts(g.clock_checked_ms or now)}): its samples are stamped with that clock",
            now,
        )
    session.commit()


def alarm_job(state: ServerState) -> None:
    with Session(state.engine) as session:
        evaluate(session)
        check_meters(session)
        gateway_clocks(session)
