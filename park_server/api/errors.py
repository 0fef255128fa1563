"""Error shapes shared by every route: 422 bodies as FastAPI declares them, 503 for a lost database.

Every 422 answers ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, the shape the
OpenAPI document declares for validation errors (``HTTPValidationError``); a route may raise
:func:`invalid` to name the field, and a plain string detail is wrapped with ``loc: ["request"]``.
A database that does not answer gives 503 ``{"detail": "database unavailable: …"}`` and one log
line per change of state (park_server.state.DatabaseStatus), not a traceback per request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from park_server.state import DBAPIError, ServerState, is_connection_error


def invalid(loc: list[str | int], msg: str, type_: str = "value_error") -> HTTPException:
    """A 422 naming the field (``loc``, as FastAPI's own validation errors do) and the reason."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": loc, "msg": msg, "type": type_}]
    )


def install(app: FastAPI, state: ServerState) -> None:
    """Register the handlers on the app."""

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 422 and not isinstance(exc.detail, list):
            exc = HTTPException(
                422,
                [{"loc": ["request"], "msg": str(exc.detail), "type": "value_error"}],
                headers=exc.headers,
            )
        return await http_exception_handler(request, exc)

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if not is_connection_error(exc):
            raise exc  # a bug, not an outage: the 500 and its traceback are wanted
        reason = state.database.down(exc)
        detail: Any = f"database unavailable: {reason}"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_database_error)
