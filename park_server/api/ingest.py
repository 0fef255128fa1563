"""POST /ingest: the same telemetry batch as MQTT, authenticated by the gateway's key.

The body is read with a size limit (``ZCPARK_MAX_BODY_BYTES``, 8 MiB by default: 413 before the
whole body is in memory), decoded by :func:`park_server.ingest.batches.parse_batch` and checked
sample by sample: a bad sample is refused with its reason, the others are stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from config.quantities import QUANTITIES
from park_server.api.deps import GatewayDep, StateDep
from park_server.api.errors import invalid
from park_server.db.engine import Session
from park_server.ingest.batches import (
    MAX_BATCH_NUMBER,
    BatchError,
    NotJson,
    ingest_batch,
    parse_batch,
)
from park_server.state import ServerState

router = APIRouter(tags=["ingest"])


class Rejected(BaseModel):
    index: int
    reason: str


class IngestAnswer(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]


class Detail(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    detail: list[FieldError]


#: the DESIGN.md §5 batch, as documentation: the route reads the body itself, so that a sample
#: that does not fit is refused on its own (with its reason in ``rejected``) and the rest stored
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["park", "gateway", "samples"],
    "properties": {
        "v": {"type": "integer", "enum": [1], "default": 1},
        "park": {"type": "string", "description": "the key's own park"},
        "gateway": {"type": "string", "description": "the key's own gateway"},
        "batch": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "description": f"the gateway's increasing sequence number, 0 to {MAX_BATCH_NUMBER}",
        },
        "samples": {
            "type": "array",
            "maxItems": 20_000,
            "description": "each sample is checked on its own: one that does not fit is listed "
            "in the answer's `rejected` with its reason, the others are stored",
            "items": {
                "type": "object",
                "properties": {
                    "ts": {
                        "oneOf": [
                            {"type": "string", "format": "date-time"},
                            {"type": "integer", "description": "epoch milliseconds"},
                        ]
                    },
                    "meter": {"type": "string"},
                    "quantity": {"type": "string", "enum": sorted(QUANTITIES)},
                    "value": {"type": "number"},
                    "quality": {
                        "type": "string",
                        "enum": ["good", "uncertain", "bad"],
                        "default": "good",
                    },
                },
            },
        },
    },
}


@router.post(
    "/ingest",
    response_model=IngestAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BATCH_SCHEMA}},
        }
    },
    responses={
        400: {"model": Detail, "description": "the body is not JSON"},
        401: {"model": Detail, "description": "no gateway key, or an unknown one"},
        403: {"model": Detail, "description": "the key acts for another park or gateway"},
        413: {"model": Detail, "description": "the body is larger than ZCPARK_MAX_BODY_BYTES"},
        422: {"model": Invalid, "description": "the batch as a whole is unusable"},
    },
)
async def ingest(request: Request, gateway: GatewayDep, state: StateDep) -> dict[str, Any]:
    raw = await _read_body(request, state.settings.max_body_bytes, state)
    try:
        body = parse_batch(raw)
    except NotJson as exc:
        state.counters.add(batches_rejected=1)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    except BatchError as exc:
        state.counters.add(batches_rejected=1)
        raise invalid(["body"], str(exc)) from None
    if isinstance(body, dict) and body.get("park") != gateway.park_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this key acts only for park {gateway.park_id!r}"
        )
    if isinstance(body, dict) and body.get("gateway") != gateway.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this key acts only for gateway {gateway.id!r}"
        )
    return await run_in_threadpool(_ingest, state, gateway.park_id, gateway.id, body)


async def _read_body(request: Request, limit: int, state: ServerState) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` bytes: by its Content-Length
    before reading, else by counting while it streams in (never the whole of it in memory)."""
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the body is larger than {limit} bytes"
    )
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Content-Length is not a number")
        if int(length) > limit:
            state.counters.add(batches_rejected=1)
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            state.counters.add(batches_rejected=1)
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _ingest(state: ServerState, park_id: str, gateway_id: str, body: Any) -> dict[str, Any]:
    with Session(state.engine) as session:
        park = state.park_meters(session, park_id)
        try:
            result = ingest_batch(
                session,
                body,
                park=park,
                gateway_id=gateway_id,
                max_future_s=state.settings.max_future_seconds,
                max_past_days=state.settings.max_past_days,
                max_samples=state.settings.max_batch_samples,
            )
        except BatchError as exc:
            state.counters.add(batches_rejected=1)
            raise invalid(["body"], str(exc)) from None
    state.note_meters(park_id, gateway_id, body.get("samples"), park.meters)
    state.counters.add(
        batches=1,
        samples_accepted=result.accepted,
        samples_duplicate=result.duplicates,
        samples_rejected=len(result.rejected),
    )
    state.counters.note_rejects(result.rejected)
    return result.as_dict()
