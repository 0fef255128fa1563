"""The FastAPI application: routes, lifespan (MQTT link and scheduler), error shape."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from park_server import console
from park_server.api import auth, carbon, dispatch, errors, ingest, metrics, parks
from park_server.api import forecasts as forecast_routes
from park_server.api import reports as report_routes
from park_server.db.engine import make_engine
from park_server.ingest.mqtt_link import MqttLink
from park_server.jobs.registry import schedule_all
from park_server.jobs.scheduler import Jobs
from park_server.settings import Settings, get_settings
from park_server.state import ServerState

log = logging.getLogger("zcpark.server")


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, background: bool = True
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    state = ServerState(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        link = jobs = None
        if background and settings.mqtt_url:
            link = MqttLink(state, settings.mqtt_url)
            link.start()
            app.state.mqtt = link
            state.mqtt = link
        if background and settings.run_scheduler:
            jobs = Jobs(state)
            schedule_all(jobs, settings)
            for hook in app.state.job_hooks:
                hook(jobs)
            jobs.start()
            app.state.jobs = jobs
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()
            if link is not None:
                link.stop()

    app = FastAPI(
        title="zcpark park server",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # console.install serves /docs from local assets, not a CDN
        redoc_url=None,
    )
    app.add_middleware(console.SecurityHeaders)
    app.state.zcpark = state
    errors.install(app, state)  # 422 bodies as declared, 503 when the database is away
    app.state.mqtt = None
    app.state.jobs = None
    app.state.job_hooks = []
    api = APIRouter(prefix="/api/v1")
    api.include_router(auth.router)
    api.include_router(ingest.router)
    api.include_router(parks.router)
    api.include_router(dispatch.router)
    api.include_router(forecast_routes.router)
    api.include_router(carbon.router)
    api.include_router(report_routes.router)
    api.include_router(metrics.router)

    @api.get("/health", tags=["health"], responses={503: {"description": "database away"}})
    def health() -> Any:
        db_ok = True
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            state.database.ok()
        except Exception as exc:
            db_ok = False
            state.database.down(exc)
        link: MqttLink | None = app.state.mqtt
        body = {
            "status": "ok" if db_ok else "degraded",
            "database": "ok" if db_ok else "unreachable",
            "mqtt": None
            if link is None
            else ("connected" if link.connected.is_set() else "connecting"),
            "ingest": state.counters.as_dict(),
        }
        return body if db_ok else JSONResponse(body, status_code=503)

    app.include_router(api)
    console.install(app)
    return app
