"""Dispatch plans as stored: one row per plan (rolling or day-ahead), and the plan in force at a
moment (the newest rolling plan covering it, else the newest day-ahead one)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from park_server.db.tables import PlanRow
from park_server.timeutil import now_ms


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


def store_plan(
    session: Session,
    *,
    park_id: str,
    kind: str,
    created_ms: int,
    start_ms: int,
    end_ms: int,
    plan: dict[str, Any],
) -> int:
    """Store one plan and commit; return its row id."""
    record = PlanRow(
        park_id=park_id,
        kind=kind,
        created_ms=created_ms,
        start_ms=start_ms,
        end_ms=end_ms,
        plan_json=json.dumps(plan),
    )
    session.add(record)
    session.commit()
    session.refresh(record)
    assert record.id is not None
    return record.id


def has_plan(session: Session, *, park_id: str, kind: str, start_ms: int) -> bool:
    """Whether a plan of this kind starting at ``start_ms`` is stored for the park."""
    row = session.exec(
        select(PlanRow.id).where(
            PlanRow.park_id == park_id, PlanRow.kind == kind, PlanRow.start_ms == start_ms
        )
    ).first()
    return row is not None
