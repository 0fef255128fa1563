"""Forecasts: the newest issue per target, and day-by-day accuracy (DESIGN.md §6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from config import Park
from park_server import forecasts
from park_server.deps import ParkDep, SessionDep

router = APIRouter(tags=["forecasts"])

Target = Literal["pv", "wind", "load"]


@router.get("/parks/{park}/forecasts")
def newest(park: ParkDep, session: SessionDep, target: Target = "pv") -> dict[str, Any]:
    found = forecasts.latest(session, park.id, target)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no {target} forecast for park {park.id!r} yet"
        )
    return found


@router.get("/parks/{park}/forecasts/accuracy")
def accuracy(
    park: ParkDep,
    session: SessionDep,
    target: Target = "pv",
    days: Annotated[int, Query(ge=1, le=366)] = 7,
) -> list[dict[str, Any]]:
    return forecasts.accuracy(session, Park.model_validate_json(park.config_json), target, days)
