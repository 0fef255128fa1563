"""GET /api/v1/metrics: the server's counters in the Prometheus text format (DESIGN.md §6).

Written with ``prometheus_client``: one :class:`~prometheus_client.CollectorRegistry` per app
(tests build many apps in one process) holding a custom collector that reads, at each scrape, what
the server already keeps: the ingest counters and the ack-latency histogram of
:class:`~park_server.state.ServerState`, the scheduler's job runs, failures and leadership, the
MQTT link's inbox, and each gateway's last status (its queue depth) from the database.

Access (docs/decisions.md): with ``ZCPARK_METRICS_TOKEN`` set, a scraper sends it as
``Authorization: Bearer …``; without it, the route is open to loopback clients only. An admin's
token is accepted either way; any other caller gets 401 or 403 with the reason.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from park_server.db import crud
from park_server.db.engine import Session
from park_server.security import decode_token
from park_server.state import DBAPIError, ServerState, is_connection_error
from park_server.timeutil import now_ms

log = logging.getLogger("zcpark.metrics")

router = APIRouter(tags=["health"])


class ServerCollector(Collector):
    """Reads a running app's state at each scrape; holds no figure of its own."""

    def __init__(self, state: ServerState, app_state: Any) -> None:
        self.state = state
        self.app_state = app_state  # the FastAPI app's ``state``: its ``jobs`` and ``mqtt``

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._jobs()
        yield from self._mqtt()
        yield from self._gateways()

    def _ingest(self) -> Iterator[Metric]:
        c = self.state.counters
        with c.lock:
            batches, accepted, duplicate, rejected = (
                c.batches,
                c.samples_accepted,
                c.samples_duplicate,
                c.samples_rejected,
            )
            batches_rejected, weather_rejected, plans_failed = (
                c.batches_rejected,
                c.weather_rows_rejected,
                c.plans_failed,
            )
            by_class = dict(c.rejects_by_class)
        yield CounterMetricFamily(
            "zcpark_ingest_batches",
            "Telemetry batches stored (MQTT and HTTP), since the server started",
            value=batches,
        )
        yield CounterMetricFamily(
            "zcpark_ingest_batches_rejected",
            "Telemetry batches refused as a whole (unusable, too large, unknown gateway)",
            value=batches_rejected,
        )
        samples = CounterMetricFamily(
            "zcpark_ingest_samples",
            "Telemetry samples by outcome: accepted (stored), duplicate (stored before), rejected",
            labels=["outcome"],
        )
        samples.add_metric(["accepted"], accepted)
        samples.add_metric(["duplicate"], duplicate)
        samples.add_metric(["rejected"], rejected)
        yield samples
        rejects = CounterMetricFamily(
            "zcpark_ingest_rejects",
            "Refused samples by the class of their reason (meter, quantity, value, quality, ts, "
            "ts_future, ts_past, sample, other)",
            labels=["reason"],
        )
        for cls in sorted(by_class):
            rejects.add_metric([cls], by_class[cls])
        yield rejects
        yield CounterMetricFamily(
            "zcpark_weather_rows_rejected",
            "Weather forecast rows refused",
            value=weather_rejected,
        )
        yield CounterMetricFamily(
            "zcpark_plans_failed", "Dispatch plans that could not be made", value=plans_failed
        )
        buckets, total_s = self.state.ack_latency.snapshot()
        yield HistogramMetricFamily(
            "zcpark_ack_latency_seconds",
            "MQTT telemetry batches from receipt by this server to the publication of their ack "
            "(after the commit) [s]",
            buckets=buckets,
            sum_value=total_s,
        )

    def _jobs(self) -> Iterator[Metric]:
        jobs = getattr(self.app_state, "jobs", None)
        leader = GaugeMetricFamily(
            "zcpark_scheduler_leader",
            "1 when this instance runs the scheduled jobs (holds the advisory lock), else 0",
        )
        leader.add_metric([], 1.0 if jobs is not None and jobs.leadership.held else 0.0)
        yield leader
        runs = CounterMetricFamily(
            "zcpark_job_runs", "Scheduled job runs that succeeded, by job", labels=["job"]
        )
        failures = CounterMetricFamily(
            "zcpark_job_failures", "Scheduled job runs that failed, by job", labels=["job"]
        )
        if jobs is not None:
            done, failed = dict(jobs.runs), dict(jobs.failures)
            for name in sorted(set(done) | set(failed)):
                runs.add_metric([name], done.get(name, 0))
                failures.add_metric([name], failed.get(name, 0))
        yield runs
        yield failures

    def _mqtt(self) -> Iterator[Metric]:
        link = getattr(self.app_state, "mqtt", None)
        connected = GaugeMetricFamily(
            "zcpark_mqtt_connected", "1 when the MQTT link is connected (0 without a link)"
        )
        connected.add_metric([], 1.0 if link is not None and link.connected.is_set() else 0.0)
        yield connected
        inbox = GaugeMetricFamily(
            "zcpark_mqtt_inbox_messages", "MQTT messages received and waiting for the worker"
        )
        inbox.add_metric([], float(link.inbox.qsize()) if link is not None else 0.0)
        yield inbox

    def _gateways(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("zcpark_database_up", "1 when the database answers, else 0")
        labels = ["park", "gateway"]
        queue = GaugeMetricFamily(
            "zcpark_gateway_queue_samples",
            "Samples waiting in the gateway's buffer, from its last status message",
            labels=labels,
        )
        online = GaugeMetricFamily(
            "zcpark_gateway_online", "1 when the gateway's last status said online", labels=labels
        )
        age = GaugeMetricFamily(
            "zcpark_gateway_status_age_seconds",
            "Time since the gateway's last status message [s]",
            labels=labels,
        )
        dropped = CounterMetricFamily(
            "zcpark_gateway_dropped_samples",
            "Samples the gateway dropped from a full buffer (its own count)",
            labels=labels,
        )
        refused = CounterMetricFamily(
            "zcpark_gateway_rejected_samples",
            "Samples of the gateway this server refused (stored in rejected_sample)",
            labels=labels,
        )
        try:
            with Session(self.state.engine) as session:
                rows = [
                    gw
                    for park in crud.parks(session)
                    for gw in crud.gateways(session, park_id=park.id)
                ]
            self.state.database.ok()
        except DBAPIError as exc:
            if not is_connection_error(exc):
                raise
            self.state.database.down(exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        now = now_ms()
        for gw in rows:
            key = [gw.park_id, gw.id]
            try:
                st = json.loads(gw.status_json or "{}")
            except ValueError:
                st = {}
            q = st.get("queue_samples") if isinstance(st, dict) else None
            if type(q) is int and q >= 0:
                queue.add_metric(key, float(q))
            online.add_metric(key, 1.0 if gw.online else 0.0)
            if gw.last_status_ms is not None:
                age.add_metric(key, max(0.0, (now - gw.last_status_ms) / 1000))
            dropped.add_metric(key, gw.dropped_samples)
            refused.add_metric(key, gw.rejected_samples)
        yield from (queue, online, age, dropped, refused)


def registry(request: Request) -> CollectorRegistry:
    """The app's own registry (made at its first scrape), never the process-wide default."""
    app_state = request.app.state
    reg: CollectorRegistry | None = getattr(app_state, "metrics_registry", None)
    if reg is None:
        reg = CollectorRegistry(auto_describe=False)
        reg.register(ServerCollector(app_state.zcpark, app_state))
        app_state.metrics_registry = reg
    return reg


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(request: Request, state: ServerState) -> None:
    """The metrics token, an admin's token, or (no token configured) a loopback client."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        expected = state.settings.metrics_token
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return
        claims = decode_token(token, state.settings.secret_key)
        if claims is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "not the metrics token nor a valid user token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        with Session(state.engine) as session:
            row = crud.user_by_name(session, name=claims.user)
        if row is None or row.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics are for admins and scrapers")
        return
    if state.settings.metrics_token is None and _loopback(request):
        return
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "send the metrics token (ZCPARK_METRICS_TOKEN) or an admin's token as a bearer token"
        if state.settings.metrics_token
        else "metrics are open to loopback clients only; set ZCPARK_METRICS_TOKEN for others",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "the Prometheus text exposition format",
        },
        401: {"description": "no metrics token, and not a loopback client"},
        403: {"description": "a user token of a role other than admin"},
        503: {"description": "database away"},
    },
)
def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.zcpark
    check_access(request, state)
    return Response(generate_latest(registry(request)), media_type=CONTENT_TYPE_LATEST)
