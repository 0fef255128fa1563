"""Setpoints out: each gateway gets the setpoints of the meters it reads, over the MQTT link
(DESIGN.md §5 ``setpoints``, with the ``schedule`` of docs/edge.md).

A message carries the plan's current interval (``setpoints`` until ``valid_until``) and every
later interval of the plan, each with its own validity (``schedule``), so that a gateway holds
the plan's course through a late or missed re-plan and falls back to its safe default only when
the plan truly runs out. The newest message replaces the gateway's whole plan, so every message
— after a re-plan, or to a gateway that reappears — carries the schedule.
"""

from __future__ import annotations

from typing import Any

from config import Park
from config.signing import signed
from dispatch.setpoints import setpoints_of
from park_server.db.broker_auth import setpoint_keys
from park_server.db.engine import Session
from park_server.db.plans import plan_in_force
from park_server.db.tables import ParkRow
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms, parse_ts

#: schedule entries a gateway takes from one message (two days of quarter-hours)
MAX_SCHEDULE = 191


def plan_messages(
    plan: dict[str, Any], park: Park, index: int, gateway_meters: set[str]
) -> dict[str, Any] | None:
    """The setpoints message for one gateway from interval ``index`` of ``plan`` on; None when
    the plan sets none of the gateway's meters."""
    start = parse_ts(plan["start"])
    steps = len(plan["series"]["grid_import_kw"])

    def items(i: int) -> list[dict[str, Any]]:
        return [
            {"meter": m, "name": "active_power_kw", "value": round(v, 3)}
            for m, v in setpoints_of(plan, park, i).items()
            if m in gateway_meters
        ]

    first = items(index)
    if not first:
        return None
    return {
        "plan_id": plan["plan_id"],
        "valid_until": format_ts(start + (index + 1) * QUARTER_MS),
        "setpoints": first,
        "schedule": [
            {
                "valid_from": format_ts(start + i * QUARTER_MS),
                "valid_until": format_ts(start + (i + 1) * QUARTER_MS),
                "setpoints": items(i),
            }
            for i in range(index + 1, min(steps, index + 1 + MAX_SCHEDULE))
        ],
    }


def publish_plan(
    state: ServerState,
    park: Park,
    plan: dict[str, Any],
    at_ms: int | None = None,
    only: str | None = None,
) -> int:
    """Send each gateway of the park (or only ``only``) the plan from the interval that holds
    ``at_ms`` (now) on, signed with the gateway's setpoint key when it has one (config/signing.py);
    return how many messages went out."""
    link = state.mqtt
    if link is None:
        return 0
    at = at_ms if at_ms is not None else now_ms()
    index = (at - parse_ts(plan["start"])) // QUARTER_MS
    if index < 0 or index >= len(plan["series"]["grid_import_kw"]):
        return 0
    sent = 0
    with Session(state.engine) as session:
        keys = setpoint_keys(session)
    for (park_id, gateway), meters in state.gateway_meters().items():
        if park_id != park.id or (only is not None and gateway != only):
            continue
        message = plan_messages(plan, park, int(index), meters)
        if message is not None:
            key = keys.get((park_id, gateway))
            link.publish(park_id, gateway, "setpoints", signed(message, key) if key else message)
            sent += 1
    return sent


def publish_in_force(state: ServerState, park_id: str, gateway: str | None = None) -> int:
    """Publish the plan in force now (to one gateway or all of the park's)."""
    now = now_ms()
    with Session(state.engine) as session:
        plan = plan_in_force(session, park_id, now)
        row = session.get(ParkRow, park_id)
    if plan is None or row is None:
        return 0
    return publish_plan(state, Park.model_validate_json(row.config_json), plan, now, only=gateway)
