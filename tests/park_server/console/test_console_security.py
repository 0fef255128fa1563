"""Sign-in, CSRF and security headers of the console (in-process app, SQLite file), and the
message catalogues: every string of the templates and navigation has its zh translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient
from zctest_server import Server, make_server

from park_server.console.nav import PARK_PAGES, PENDING, REGION_PAGES
from park_server.locale import LANGUAGES, translations

PAGES = [
    "/",
    "/parks/huolingol",
    "/parks/huolingol/gateways",
    "/parks/huolingol/gateways/gw-hlgl-01",
    "/parks/huolingol/forecasts",
    "/parks/huolingol/forecasts?days=90",
    "/parks/huolingol/alarms",
    "/parks/huolingol/carbon",
    "/parks/huolingol/reports",
]
FORMS = [
    "/logout",
    "/parks/huolingol/alarms/1/acknowledge",
    "/parks/huolingol/carbon/budgets",
    "/parks/huolingol/carbon/certificates",
    "/parks/huolingol/reports/2026-05/generate",
]


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return make_server(f"sqlite:///{tmp_path / 'zcpark.db'}")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def sign_in(client: TestClient, server: Server, user: str) -> str:
    csrf = _csrf(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": user, "password": server.passwords[user], "csrf": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return _csrf(client.get("/").text)


def test_every_page_redirects_to_sign_in_without_a_session(server: Server) -> None:
    client = server.client()
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=/"), path
    assert client.get("/parks/huolingol/live.json").status_code == 401  # JSON: no redirect


def test_pages_render_after_sign_in_and_sign_out_ends_the_session(server: Server) -> None:
    client = server.client()
    csrf = sign_in(client, server, "ada")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_with_the_form_again(server: Server) -> None:
    client = server.client()
    csrf = _csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "ada", "password": "nope", "csrf": csrf})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_forms_without_their_csrf_token_are_refused(server: Server) -> None:
    client = server.client()
    client.get("/login")
    r = client.post(
        "/login", data={"username": "ada", "password": server.passwords["ada"]}
    )  # no token
    assert r.status_code == 403
    csrf = sign_in(client, server, "mia")
    for path in FORMS:
        for data in ({}, {"csrf": "forged-" + csrf}):
            r = client.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, data)
            assert 'data-error="csrf"' in r.text
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_session_cookie_flags(server: Server) -> None:
    client = server.client()
    set_cookie = client.get("/login").headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP here
    tls = TestClient(server.client().app, base_url="https://testserver")
    assert "Secure" in tls.get("/login").headers["set-cookie"]


def test_security_headers_on_pages_api_static_and_docs(server: Server) -> None:
    client = server.client()
    sign_in(client, server, "ada")
    for path in ("/", "/login", "/api/v1/health", "/openapi.json", "/static/console.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    docs = client.get("/docs")
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert re.search(
        r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", docs.headers["content-security-policy"]
    )
    for page in ("/", "/parks/huolingol"):
        html = client.get(page).text
        assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html), page
        assert "http://" not in html.replace("http://testserver", "") and "https://" not in html


def test_a_manager_may_not_acknowledge_in_a_park_of_others(server: Server) -> None:
    client = server.client()
    csrf = sign_in(client, server, "mia")  # manager of huolingol only
    r = client.post(
        "/parks/baotou_aluminum/alarms/1/acknowledge", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 403
    assert client.get("/parks/baotou_aluminum").status_code == 403
    assert client.get("/parks/nowhere").status_code == 403  # not even whether it exists


def test_every_message_has_its_translation() -> None:
    root = Path(__file__).resolve().parents[3] / "park_server" / "console"
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    ids = {
        m[2] if isinstance(m[2], str) else m[2][0]
        for m in extract_from_dir(
            root, method_map, keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
        )
    }
    ids |= {e.label for e in (*REGION_PAGES, *PARK_PAGES, *PENDING)}
    ids |= {e.missing for e in PENDING}
    assert len(ids) > 100
    zh = translations("zh")
    same_in_both = {"nMAE", "P10–P90", "[kW]", "CO₂ [t]"}  # units and symbols
    untranslated = sorted(i for i in ids if zh.gettext(i) == i and i not in same_in_both)
    assert untranslated == []
    assert set(LANGUAGES) == {"zh", "en"}
    assert translations("en").gettext("Overview") == "Overview"
