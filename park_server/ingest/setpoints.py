"""Setpoints out: each gateway gets the setpoints of the meters it reads, over the MQTT link
(DESIGN.md §5 ``setpoints``)."""

from __future__ import annotations

from datetime import datetime

from config import Park
from dispatch.setpoints import setpoints_of
from park_server.db.engine import Session
from park_server.db.plans import plan_in_force
from park_server.db.tables import ParkRow
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms


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
