"""Dispatch plans: the plan in force (DESIGN.md §8 format) and an on-demand re-plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from park_server.api.deps import ParkDep, SessionDep, StateDep, WritableParkDep
from park_server.db.plans import plan_in_force
from park_server.jobs.dispatch import plan_park

router = APIRouter(tags=["dispatch"])


@router.get("/parks/{park}/dispatch/latest")
def latest_plan(park: ParkDep, session: SessionDep) -> dict[str, Any]:
    plan = plan_in_force(session, park.id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan in force for park {park.id!r}")
    return plan


@router.post("/parks/{park}/dispatch/replan")
async def replan(park: WritableParkDep, state: StateDep) -> dict[str, Any]:
    """Plan now (the rolling 24 h horizon) and publish the next interval's setpoints."""
    result = await run_in_threadpool(plan_park, state, park.id, "rolling")
    if result is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"park {park.id!r} has nothing to dispatch or no feasible plan (see the log)",
        )
    return {
        "plan_id": result.plan["plan_id"],
        "setpoints": result.setpoints,
        "kpis": result.plan["kpis"],
        "baseline_kpis": result.plan["baseline_kpis"],
    }
