"""The console's pages. Each calls the API's own route functions (or the crud/timeseries query
functions they call) for its figures and hands them to a template unchanged: the console computes
no figure of its own (DESIGN.md §6). Empty states say what is missing and how to fix it.

It is one piece, past 400 lines, because every page is a short function over the same few query
calls and the same template context; split by page, each file would repeat that context.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from park_server.api import carbon as carbon_routes
from park_server.api import dispatch as dispatch_routes
from park_server.api import forecasts as forecast_routes
from park_server.api import parks as park_routes
from park_server.api.deps import SessionDep, StateDep
from park_server.carbon.region import by_league
from park_server.console.access import DataPageDep, Page, PageDep, PageError, language
from park_server.console.nav import PARK_PAGES, PENDING, REGION_PAGES
from park_server.console.render import render
from park_server.console.session import (
    CSRF_FIELD,
    LANG_COOKIE,
    check_csrf,
    clear_session,
    new_session,
    read_session,
    store_session,
)
from park_server.db import crud
from park_server.db.tables import ParkRow
from park_server.timeseries import queries
from park_server.timeseries.forecasts import accuracy_summary
from park_server.timeutil import DAY_MS, local_now, now_ms

router = APIRouter(include_in_schema=False)

#: the meter roles of the live power flows, in the order the dashboard shows them
FLOW_ROLES = ("pv", "wind", "grid", "storage", "flexible_load", "load")
TARGETS: tuple[forecast_routes.Target, ...] = ("pv", "wind", "load")
LIVE_POLL_S = 3


def respond(
    page: Page | None,
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    lang: str | None = None,
) -> HTMLResponse:
    """Render a template with the frame's context (user, parks, navigation, language)."""
    lang = lang or (page.lang if page else language(request))
    frame: dict[str, Any] = {
        "path": request.url.path,
        "region_pages": REGION_PAGES,
        "park_pages": PARK_PAGES,
        "pending_pages": PENDING,
        "user": None,
        "csrf": "",
        "parks": [],
        "park": None,
        "active": "",
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "lang_links": {
            code: str(request.url.include_query_params(lang=code).path)
            + "?"
            + str(request.url.include_query_params(lang=code).query)
            for code in ("zh", "en")
        },
    }
    if page is not None:
        frame.update(
            user=page.user,
            csrf=page.cookie.csrf,
            parks=park_routes.list_parks(user=page.user, session=page.db),
        )
    response = HTMLResponse(render(lang, template, {**frame, **context}), status_code)
    if request.query_params.get("lang") == lang:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="strict", httponly=True
        )
    return response


def _today(row: ParkRow) -> date:
    return local_now(row.timezone).date()


def _no_figure(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The route's answer, or None where the API answers 404 (nothing there yet)."""
    try:
        return call(*args, **kwargs)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            return None
        raise


_event = park_routes.event_dict


# ---- sign-in --------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, state: StateDep, next: str | None = None) -> Response:
    secret = state.settings.secret_key
    cookie = read_session(request, secret)
    fresh = cookie is None
    cookie = cookie or new_session(None)
    response = respond(
        None,
        request,
        "login.html",
        {"next": _safe_next(next), "error": None, "csrf": cookie.csrf},
    )
    if fresh:
        store_session(request, response, secret, cookie)
    return response


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    state: StateDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    secret = state.settings.secret_key
    cookie = read_session(request, secret)
    check_csrf(cookie, csrf)
    assert cookie is not None

    def refuse(message: str, code: int) -> Response:
        context = {"next": _safe_next(next), "error": message, "csrf": cookie.csrf}
        return respond(None, request, "login.html", context, code)

    client = request.client.host if request.client else "?"
    if not state.limiter.allow(f"user:{username}", f"ip:{client}"):
        return refuse("too_many", status.HTTP_429_TOO_MANY_REQUESTS)
    user = crud.authenticate(session, name=username, password=password)
    if user is None:
        return refuse("wrong", status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    store_session(request, response, secret, new_session(user.name))  # new session, new token
    return response


@router.post("/logout")
def logout(
    request: Request, state: StateDep, csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None
) -> Response:
    check_csrf(read_session(request, state.settings.secret_key), csrf)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    clear_session(response)
    return response


# ---- overview (region) ---------------------------------------------------------------------


@router.get("/")
def overview(page: PageDep) -> Response:
    leagues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for summary in park_routes.list_parks(user=page.user, session=page.db):
        row = page.park(summary["id"])
        config = crud.park_config(page.db, park_id=row.id)
        day = _today(row)
        kpi = {
            p: park_routes.kpis(park=row, session=page.db, state=page.state, period=p, date_=day)
            for p in ("day", "month")
        }
        alarms = crud.events(page.db, park_id=row.id, open_only=True, limit=1000)
        try:  # §10's month figures: green shares (both definitions), CO2 against the budget
            carbon = carbon_routes.carbon(park=row, session=page.db, period="month", day=day)
        except HTTPException:
            carbon = None  # the carbon page says why
        leagues[config.league if config else ""].append(
            {
                "summary": summary,
                "kpis": kpi,
                "carbon": carbon,
                "open_alarms": [_event(e) for e in alarms],
                "critical": [e.id for e in alarms if e.severity == "critical"],
            }
        )
    groups = sorted(leagues.items(), key=lambda kv: (kv[0] == "", kv[0]))
    # the regional totals of the same answers, as GET /region/carbon adds them up
    totals, region = by_league(
        [(league, i["carbon"]) for league, items in groups for i in items if i["carbon"]]
    )
    return respond(
        page,
        page.request,
        "overview.html",
        {"groups": groups, "active": "overview", "totals": totals, "region": region},
    )


# ---- park dashboard ------------------------------------------------------------------------


def _flows(
    meters: list[dict[str, Any]], latest: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The meters of each flow role with their newest values by quantity, as /latest gives them."""
    values: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for v in latest:
        values[v["meter"]][v["quantity"]] = v
    flows: dict[str, list[dict[str, Any]]] = {role: [] for role in FLOW_ROLES}
    for m in meters:
        if m["role"] in flows:
            flows[m["role"]].append({**m, "values": values.get(m["id"], {})})
    return flows


@router.get("/parks/{park}")
def dashboard(park: str, page: PageDep) -> Response:
    row = page.park(park)
    db = page.db
    detail = park_routes.get_park(park=row)
    kpis = park_routes.kpis(park=row, session=db, state=page.state, period="day", date_=_today(row))
    meters = park_routes.list_meters(park=row, session=db)
    latest = park_routes.latest(park=row, session=db)
    now = now_ms()
    charts: dict[str, Any] = {"tz": row.timezone, "lang": page.lang, "forecasts": {}}
    forecasts: dict[str, Any] = {}
    for target in TARGETS:
        if not any(m["role"] in queries.ROLES[target] for m in meters):
            continue  # the park has no such assets
        found = _no_figure(forecast_routes.newest, park=row, session=db, target=target)
        actual = queries.measured(db, row.id, target, now - DAY_MS, now)
        forecasts[target] = found
        charts["forecasts"][target] = {
            "points": found["points"] if found else [],
            "actual": [
                [int(ms), float(v)]
                for ms, v in zip(
                    pd.DatetimeIndex(actual.index).as_unit("ms").asi8,
                    actual.to_numpy(),
                    strict=True,
                )
            ],
        }
    plan = _no_figure(dispatch_routes.latest_plan, park=row, session=db)
    if plan is not None:
        charts["plan"] = {
            "start": plan.get("start"),
            "interval_minutes": plan.get("interval_minutes", 15),
            "series": plan.get("series", {}),
        }
    alarms = [_event(e) for e in crud.events(db, park_id=row.id, open_only=True, limit=20)]
    return respond(
        page,
        page.request,
        "dashboard.html",
        {
            "park": detail,
            "active": "dashboard",
            "kpis": kpis,
            "flows": _flows(meters, latest),
            "forecasts": forecasts,
            "plan": plan,
            "alarms": alarms,
            "charts": charts,
            "poll_s": LIVE_POLL_S,
        },
    )


@router.get("/parks/{park}/live.json")
def live(park: str, page: DataPageDep) -> Response:
    """What the dashboard polls: the API's /latest, unchanged."""
    try:
        row = page.park(park)
    except PageError as exc:
        return JSONResponse({"detail": exc.detail}, exc.status_code)
    return JSONResponse(
        {"latest": park_routes.latest(park=row, session=page.db)},
        headers={"Cache-Control": "no-store"},
    )


# ---- meters and gateways -------------------------------------------------------------------


@router.get("/parks/{park}/gateways")
def gateways(park: str, page: PageDep) -> Response:
    row = page.park(park)
    meters = park_routes.list_meters(park=row, session=page.db)
    latest = park_routes.latest(park=row, session=page.db)
    by_meter: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in latest:
        by_meter[v["meter"]].append(v)
    return respond(
        page,
        page.request,
        "gateways.html",
        {
            "park": park_routes.get_park(park=row),
            "active": "gateways",
            "gateways": park_routes.list_gateways(park=row, session=page.db),
            "meters": meters,
            "latest": by_meter,
            "completeness": _completeness(row, page),
        },
    )


def _completeness(row: ParkRow, page: Page) -> dict[str, Any]:
    """The meters' data completeness of the last 24 h, by meter id."""
    found = park_routes.completeness(park=row, session=page.db, hours=24)
    return {"hours": 24, "by_meter": {m["meter"]: m for m in found["meters"]}}


@router.get("/parks/{park}/gateways/{gateway}")
def gateway_detail(park: str, gateway: str, page: PageDep) -> Response:
    row = page.park(park)
    found = [g for g in park_routes.list_gateways(park=row, session=page.db) if g["id"] == gateway]
    if not found:
        raise PageError(status.HTTP_404_NOT_FOUND, f"no gateway {gateway!r} in park {park!r}")
    heard = page.state.gateway_meters().get((row.id, gateway), set())
    meters = [m for m in park_routes.list_meters(park=row, session=page.db) if m["id"] in heard]
    latest = park_routes.latest(park=row, session=page.db)
    by_meter: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in latest:
        if v["meter"] in heard:
            by_meter[v["meter"]].append(v)
    return respond(
        page,
        page.request,
        "gateway.html",
        {
            "park": park_routes.get_park(park=row),
            "active": "gateways",
            "gateway": found[0],
            "meters": meters,
            "latest": by_meter,
            "completeness": _completeness(row, page),
        },
    )


# ---- forecast accuracy ---------------------------------------------------------------------


#: days of live issues the accuracy page scores by lead time
LEAD_DAYS = 7


@router.get("/parks/{park}/forecasts")
def forecast_accuracy(
    park: str, page: PageDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> Response:
    row = page.park(park)
    meters = park_routes.list_meters(park=row, session=page.db)
    targets = [t for t in TARGETS if any(m["role"] in queries.ROLES[t] for m in meters)]
    accuracy = {
        t: forecast_routes.accuracy(park=row, session=page.db, target=t, days=days) for t in targets
    }
    scored = {t: [d for d in rows if d["nmae"] is not None] for t, rows in accuracy.items()}
    # the live issues by lead time, over the last week (what the API gives by default)
    by_lead = {
        t: forecast_routes.accuracy_by_lead(park=row, session=page.db, target=t, days=LEAD_DAYS)
        for t in targets
    }
    return respond(
        page,
        page.request,
        "forecasts.html",
        {
            "park": park_routes.get_park(park=row),
            "active": "forecasts",
            "days": days,
            "accuracy": accuracy,
            "scored": scored,
            "summary": {t: accuracy_summary(rows) for t, rows in accuracy.items()},
            "by_lead": by_lead,
            "lead_days": LEAD_DAYS,
            "charts": {"tz": row.timezone, "lang": page.lang, "accuracy": accuracy},
        },
    )


# ---- alarms --------------------------------------------------------------------------------

ALARM_KINDS = ("gateway_offline", "meter_stale", "data_gap", "buffer_drops")


@router.get("/parks/{park}/alarms")
def alarms(
    park: str,
    page: PageDep,
    show: Literal["open", "all"] = "open",
    kind: str = "",
    severity: Literal["", "critical", "warning"] = "",
) -> Response:
    row = page.park(park)
    events = crud.events(page.db, park_id=row.id, open_only=show == "open", limit=500)
    listed = [
        _event(e)
        for e in events
        if (not kind or e.kind == kind) and (not severity or e.severity == severity)
    ]
    return respond(
        page,
        page.request,
        "alarms.html",
        {
            "park": park_routes.get_park(park=row),
            "active": "alarms",
            "events": listed,
            "filters": {"show": show, "kind": kind, "severity": severity},
            "kinds": ALARM_KINDS,
            "can_write": page.user.can_write(row.id),
        },
    )


@router.post("/parks/{park}/alarms/{event_id}/acknowledge")
def acknowledge(
    park: str,
    event_id: int,
    page: PageDep,
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    back: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page.cookie, csrf)
    row = page.writable(park)
    if (
        crud.acknowledge_event(page.db, park_id=row.id, event_id=event_id, user=page.user.name)
        is None
    ):
        raise PageError(status.HTTP_404_NOT_FOUND, f"no event {event_id} in park {park!r}")
    target = (
        _safe_next(back) if back.startswith(f"/parks/{park}/alarms") else f"/parks/{park}/alarms"
    )
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
