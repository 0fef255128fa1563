"""Every route × role × park against the expected answer (issue #14, "Access").

The routes are GENERATED: the API's from /openapi.json, the console's (HTML, outside /api/v1, not
in the OpenAPI) from the app's routes. Each must have an entry in ``API`` or ``CONSOLE`` below
naming its access rule and a request that passes validation; a route without an entry, or an
entry without a route, fails the test, so a new route cannot land without its expected answers.

Roles: admin; manager of park A (huolingol); viewer of A; manager of park B (baotou_aluminum);
the gateway key of A (gw-hlgl-01); none. Every park route is asked for park A and park B.

Rules (the expected answer of each role × park):
- ``public``: the route's own answer for everyone;
- ``gateway``: the gateway key of the park → the route's answer; of another park → 403; any user
  token or none → 401;
- ``user``: any signed-in user → the answer; gateway key or none → 401;
- ``read``: admin, or a user of the park → the answer; a user of another park → 403; key/none 401;
- ``write``: admin, or a manager of the park → the answer; a viewer, or a manager of another park
  → 403; key/none → 401;
- ``admin``: admin → the answer; other users → 403; key/none → 401 (GET /metrics);
- console ``page``/``form``: like ``read``/``write`` but with the session cookie: without a session
  (none, or a gateway key) → 303 to /login; a denial is an HTML page with 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from zctest_server import Server, batch, make_server

from park_server.db import crud

A, B = "huolingol", "baotou_aluminum"
ROLES = ("admin", "manager_a", "viewer_a", "manager_b", "gateway_a", "none")
USERS = {"admin": "ada", "manager_a": "mia", "viewer_a": "vic", "manager_b": "bob"}
PARKS_OF = {"manager_a": A, "viewer_a": A, "manager_b": B}
GATEWAY_OF = {A: "gw-hlgl-01", B: "gw-bt-01"}


@dataclass(frozen=True)
class Rule:
    """A route's access rule, the request to send (path parameters besides ``park`` filled in;
    ``json``/``data``/``params``), and the answer when access is granted."""

    access: str
    ok: int
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    body: bytes | None = None
    #: the park-dependent body (POST /ingest)
    per_park: bool = False
    #: path parameters of this route other than PATH_VALUES'
    path: dict[str, str] | None = None


# ---- the expectations ----------------------------------------------------------------------
# For writes, the request is chosen to be refused *after* the access check (422 for a body
# that does not fit, 404 for no such event) so that the table changes nothing it reads; only a
# re-plan is made for real (GET .../dispatch/latest is asked before it, hence its 404).

API: dict[str, Rule] = {
    "POST /api/v1/auth/token": Rule(
        "public", 401, data={"username": "ada", "password": "not-the-password"}
    ),
    "POST /api/v1/ingest": Rule("gateway", 200, per_park=True),
    "GET /api/v1/health": Rule("public", 200),
    "GET /api/v1/metrics": Rule("admin", 200),
    "GET /api/v1/parks": Rule("user", 200),
    "GET /api/v1/region/carbon": Rule("user", 200),
    "GET /api/v1/parks/{park}": Rule("read", 200),
    "GET /api/v1/parks/{park}/meters": Rule("read", 200),
    "GET /api/v1/parks/{park}/gateways": Rule("read", 200),
    "GET /api/v1/parks/{park}/latest": Rule("read", 200),
    "GET /api/v1/parks/{park}/completeness": Rule("read", 200),
    "GET /api/v1/parks/{park}/measurements": Rule(
        "read", 200, params={"meter": "grid-main", "quantity": "active_power_kw"}
    ),
    "GET /api/v1/parks/{park}/kpis": Rule("read", 200, params={"period": "day"}),
    "GET /api/v1/parks/{park}/events": Rule("read", 200),
    "POST /api/v1/parks/{park}/events/{event_id}/close": Rule("write", 404),
    "GET /api/v1/parks/{park}/dispatch/latest": Rule("read", 404),
    "POST /api/v1/parks/{park}/dispatch/replan": Rule("write", 200),  # makes a plan
    "GET /api/v1/parks/{park}/forecasts": Rule("read", 404, params={"target": "pv"}),
    "GET /api/v1/parks/{park}/forecasts/accuracy": Rule("read", 200, params={"target": "pv"}),
    "GET /api/v1/parks/{park}/forecasts/accuracy/by-lead": Rule(
        "read", 200, params={"target": "pv"}
    ),
    "GET /api/v1/parks/{park}/weather": Rule("read", 200),
    "GET /api/v1/parks/{park}/carbon": Rule("read", 200, params={"period": "month"}),
    "GET /api/v1/parks/{park}/certificates": Rule("read", 200),
    "POST /api/v1/parks/{park}/certificates": Rule("write", 422, json={"certificates": "nope"}),
    "POST /api/v1/parks/{park}/trades/{trade_id}/profile": Rule("write", 422, json=[]),
    "GET /api/v1/parks/{park}/budgets/{year}": Rule("read", 200),
    "PUT /api/v1/parks/{park}/budgets/{year}": Rule("write", 422, json={"nope": 1}),
    "GET /api/v1/parks/{park}/inputs/{month}": Rule("read", 200, path={"month": "2026-05"}),
    "PUT /api/v1/parks/{park}/inputs/{month}": Rule("write", 422, json={"nope": 1}),
    "GET /api/v1/parks/{park}/offsets": Rule("read", 200),
    "POST /api/v1/parks/{park}/offsets": Rule("write", 422, json={"nope": 1}),
    "GET /api/v1/parks/{park}/reports": Rule("read", 200),
    "GET /api/v1/parks/{park}/reports/{name}": Rule("read", 404),
    "POST /api/v1/parks/{park}/reports/{month}": Rule("write", 422),
}

CONSOLE: dict[str, Rule] = {
    "GET /login": Rule("public", 200),
    "POST /login": Rule("public", 403),  # no CSRF token with the form: refused for everyone
    "POST /logout": Rule("logout", 303),  # asked last: it ends the session
    "GET /": Rule("page_any", 200),
    "GET /parks/{park}": Rule("page", 200),
    "GET /parks/{park}/live.json": Rule("live", 200),  # JSON: 401 without a session
    "GET /parks/{park}/gateways": Rule("page", 200),
    "GET /parks/{park}/gateways/{gateway}": Rule("page", 200),
    "GET /parks/{park}/forecasts": Rule("page", 200),
    "GET /parks/{park}/alarms": Rule("page", 200),
    "POST /parks/{park}/alarms/{event_id}/acknowledge": Rule("form", 404),
    "GET /parks/{park}/carbon": Rule("page", 200),
    "POST /parks/{park}/carbon/budgets": Rule("form", 422),  # no year: the form again
    "POST /parks/{park}/carbon/certificates": Rule("form", 422),  # no file: the form again
    "GET /parks/{park}/reports": Rule("page", 200),
    "GET /parks/{park}/reports/{name}": Rule("page", 404),
    "POST /parks/{park}/reports/{month}/generate": Rule("form", 422),
}

#: values of the path parameters other than ``park`` (none names anything that exists)
PATH_VALUES = {
    "event_id": "999999",
    "trade_id": "999999",
    "year": "2026",
    "month": "2026-13",  # not a month: refused after the access check, nothing generated
    "name": "2026-05.html",
}


def expected(rule: Rule, role: str, park: str | None) -> int:
    """The answer ``role`` gets for a route of ``rule`` on ``park``."""
    a = rule.access
    user = role in USERS
    if a == "public":
        return rule.ok
    if a == "gateway":
        if role != "gateway_a":
            return 401
        return rule.ok if park == A else 403
    if a == "logout":
        return rule.ok if user else 403  # no session, so no CSRF token to match
    if a == "live":
        if not user:
            return 401
        a = "read"
    if a in ("page", "page_any", "form"):
        if not user:
            return 303  # to the sign-in page
        if a == "page_any":
            return rule.ok
        a = "read" if a == "page" else "write"
    if not user:
        return 401
    if a == "user":
        return rule.ok
    if a == "admin":
        return rule.ok if role == "admin" else 403
    mine = role == "admin" or PARKS_OF.get(role) == park
    if a == "read":
        return rule.ok if mine else 403
    if a == "write":
        return rule.ok if mine and role != "viewer_a" else 403
    raise AssertionError(f"unknown access rule {a!r}")


# ---- the routes, generated -----------------------------------------------------------------


def openapi_routes(client: TestClient) -> set[str]:
    spec = client.get("/openapi.json").json()
    return {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}


def console_routes(app: Any) -> set[str]:
    """The app's routes outside /api/v1 that are not in the OpenAPI (the console's pages and
    forms), walking included routers (FastAPI ≥ 0.16x keeps them as ``original_router``)."""
    found: set[str] = set()

    def walk(routes: list[Any]) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes)
                continue
            path, methods = getattr(r, "path", None), getattr(r, "methods", None)
            if not path or not methods or path.startswith("/api/") or r.include_in_schema:
                continue
            if path in ("/openapi.json", "/docs"):
                continue  # the API's description and its page: public, checked below
            for m in methods - {"HEAD"}:
                found.add(f"{m} {path}")

    walk(app.routes)
    return found


# ---- the clients of each role --------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    server = make_server(f"sqlite:///{tmp_path_factory.mktemp('access') / 's.db'}")
    with Session(server.engine) as session:
        crud.create_user(session, name="bob", role="manager", parks=[B], password="bob-password-1")
    server.passwords["bob"] = "bob-password-1"
    return server


@pytest.fixture(scope="module")
def clients(
    server: Server,
) -> Iterator[dict[str, tuple[TestClient, dict[str, str], str | None]]]:
    """role -> (a client with its session cookie, its bearer header, its CSRF token)."""
    out = {}
    for role in ROLES:
        c = TestClient(server_app(server))
        c.__enter__()
        headers: dict[str, str] = {}
        csrf = None
        if role in USERS:
            name = USERS[role]
            headers = server.token(c, name)
            csrf = _csrf(c.get("/login").text)
            r = c.post(
                "/login",
                data={"username": name, "password": server.passwords[name], "csrf": csrf},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            csrf = _csrf(c.get("/").text)
        elif role == "gateway_a":
            headers = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
        out[role] = (c, headers, csrf)
    yield out
    for c, _, _ in out.values():
        c.__exit__(None, None, None)


_APPS: dict[int, Any] = {}


def server_app(server: Server) -> Any:
    """One app for every role (its login limiter is shared: tokens are taken once per role)."""
    from park_server.app import create_app

    if id(server) not in _APPS:
        settings = server.settings.model_copy(update={"login_attempts_per_minute": 1000})
        _APPS[id(server)] = create_app(settings, server.engine, background=False)
    return _APPS[id(server)]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def _request(
    client: TestClient, headers: dict[str, str], csrf: str | None, key: str, rule: Rule, park: str
) -> Any:
    method, template = key.split(" ", 1)
    path = template.replace("{park}", park).replace("{gateway}", GATEWAY_OF[park])
    for name, value in {**PATH_VALUES, **(rule.path or {})}.items():
        path = path.replace("{" + name + "}", value)
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if rule.params:
        kwargs["params"] = rule.params
    if rule.per_park:
        kwargs["json"] = batch(1, park=park, gateway=GATEWAY_OF[park])
    elif rule.json is not None:
        kwargs["json"] = rule.json
    if key in CONSOLE and method == "POST" and key != "POST /login":
        kwargs["data"] = {"csrf": csrf or "", **(rule.data or {})}
    elif rule.data is not None:
        kwargs["data"] = rule.data
    return client.request(method, path, **kwargs)


# ---- the tests -----------------------------------------------------------------------------


def test_every_route_has_its_expected_answers(server: Server) -> None:
    with TestClient(server_app(server)) as client:
        api, console = openapi_routes(client), console_routes(client.app)
    assert not api - set(API), f"API routes without an access entry: {sorted(api - set(API))}"
    assert not set(API) - api, f"entries for no API route: {sorted(set(API) - api)}"
    missing = console - set(CONSOLE)
    assert not missing, f"console routes without an access entry: {sorted(missing)}"
    assert not set(CONSOLE) - console, (
        f"entries for no console route: {sorted(set(CONSOLE) - console)}"
    )


def _cases() -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    # POST /logout last: it ends the session of the role asking
    for key in sorted(API) + sorted(CONSOLE, key=lambda k: (k == "POST /logout", k)):
        parks: tuple[str | None, ...] = (
            (A, B) if "{park}" in key or key == "POST /api/v1/ingest" else (None,)
        )
        for park in parks:
            for role in ROLES:
                out.append((key, role, park))
    return out


CASES = _cases()


def test_the_access_table(
    clients: dict[str, tuple[TestClient, dict[str, str], str | None]],
) -> None:
    """All cases in one test (a few hundred requests on one app): every wrong answer listed."""
    wrong = []
    for key, role, park in CASES:
        rule = API.get(key) or CONSOLE[key]
        client, headers, csrf = clients[role]
        r = _request(client, headers, csrf, key, rule, park or A)
        want = expected(rule, role, park or A)
        got = r.status_code
        if got != want:
            wrong.append(f"{key} as {role} on {park}: {got} (expected {want}) {r.text[:120]!r}")
            continue
        if want == 303 and rule.access.startswith(("page", "form")) and role not in USERS:
            assert r.headers["location"].startswith("/login"), (key, role)
        if 400 <= got < 500 and key in API:
            detail = r.json().get("detail")
            assert detail, f"{key} as {role}: a {got} without a reason"
    assert not wrong, f"{len(wrong)} of {len(CASES)} cases wrong:\n" + "\n".join(wrong)
    assert len(CASES) > 400  # every route × role × park


def test_the_api_description_and_its_page_are_public(server: Server) -> None:
    with TestClient(server_app(server)) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
