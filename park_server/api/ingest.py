"""POST /ingest: the same telemetry batch as MQTT, authenticated by the gateway's key."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from park_server.api.deps import GatewayDep, StateDep
from park_server.db.engine import Session
from park_server.ingest.batches import BatchError, ingest_batch
from park_server.state import ServerState

router = APIRouter(tags=["ingest"])


@router.post("/ingest")
async def ingest(request: Request, gateway: GatewayDep, state: StateDep) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        state.counters.add(batches_rejected=1)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from None
    if isinstance(body, dict) and body.get("park") != gateway.park_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this key acts only for park {gateway.park_id!r}"
        )
    if isinstance(body, dict) and body.get("gateway") != gateway.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this key acts only for gateway {gateway.id!r}"
        )
    return await run_in_threadpool(_ingest, state, gateway.park_id, gateway.id, body)


def _ingest(state: ServerState, park_id: str, gateway_id: str, body: Any) -> dict[str, Any]:
    with Session(state.engine) as session:
        try:
            result = ingest_batch(
                session,
                body,
                park=state.park_meters(session, park_id),
                gateway_id=gateway_id,
                max_future_s=state.settings.max_future_seconds,
                max_past_days=state.settings.max_past_days,
                max_samples=state.settings.max_batch_samples,
            )
        except BatchError as exc:
            state.counters.add(batches_rejected=1)
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    state.note_meters(park_id, gateway_id, body.get("samples"))
    state.counters.add(
        batches=1,
        samples_accepted=result.accepted,
        samples_duplicate=result.duplicates,
        samples_rejected=len(result.rejected),
    )
    return result.as_dict()
