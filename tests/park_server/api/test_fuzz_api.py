"""Bad input, the short run (in the suite; the long one is tests/fuzz/, docs/reliability.md).

1. schemathesis against our OpenAPI, every operation, valid and schema-breaking cases, each sent
   with every role's token: no 5xx, every 4xx with a reason (``detail``).
2. SQL-looking, control-character and non-UTF-8 strings in every text parameter (path, query and
   the string fields of JSON bodies) of every operation: no 5xx, every 4xx with a reason, and the
   tables still there with what they held.
3. Path tricks on report downloads (API and console): never a file from outside the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from zctest_fuzz import ROLES, FuzzStats, fuzz_api, fuzz_server, role_headers
from zctest_server import batch

from park_server.app import create_app

HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE measurement; --",
    '" OR 1=1 --',
    "%' UNION SELECT key_hash FROM gateway --",
    "\x00",
    "../../../../etc/passwd",
    "a" * 5000,
]
#: percent-encoded bytes that are not UTF-8, for paths and queries
RAW_BAD = ["%ff%fe", "%c0%af"]


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = fuzz_server(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 's.db'}")
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with TestClient(create_app(server.settings, server.engine, background=False)) as c:
        assert c.post("/api/v1/ingest", json=batch(20), headers=key).status_code == 200
    return server


def test_schemathesis_finds_no_5xx_and_every_4xx_has_a_reason(fuzz: Any) -> None:
    stats = fuzz_api(fuzz, max_examples=2)  # bounded: about 30 s on 2 cores
    print(
        f"\nschemathesis: {stats.requests} requests, by status {dict(sorted(stats.by_status.items()))}"
    )
    assert stats.requests > 200, stats.by_status  # every operation, both modes, six roles
    assert not stats.findings, f"{len(stats.findings)} findings:\n" + "\n".join(stats.findings[:20])


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _string_fields(schema: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return [
        name
        for name, prop in schema.get("properties", {}).items()
        if prop.get("type") == "string"
        or any(x.get("type") == "string" for x in prop.get("anyOf", []))
    ]


def test_hostile_strings_in_every_text_field(fuzz: Any) -> None:
    app = create_app(fuzz.settings, fuzz.engine, background=False)
    stats = FuzzStats()
    with TestClient(app) as client:
        headers = role_headers(fuzz, client)
        spec = client.get("/openapi.json").json()
        before = _counts(fuzz)
        for method, path, op in _operations(client):
            params = op.get("parameters", [])
            body_schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            fields = _string_fields(body_schema, spec) if body_schema else []
            for role in ("admin", "gateway_a"):  # past the access check, and a key
                for value in HOSTILE + RAW_BAD:
                    raw = value in RAW_BAD
                    for target in [p["name"] for p in params] + [f"body.{f}" for f in fields]:
                        url = path
                        query: dict[str, str] = {}
                        qs = ""
                        for p in params:
                            v = value if p["name"] == target else _plain(p)
                            if p["in"] == "path":
                                url = url.replace(
                                    "{" + p["name"] + "}",
                                    v if raw and p["name"] == target else _quote(v),
                                )
                            elif p["in"] == "query" and p["name"] == target and raw:
                                qs = f"?{p['name']}={value}"
                            elif p["in"] == "query" and (p["name"] == target or p.get("required")):
                                query[p["name"]] = v
                        body = None
                        if fields:
                            body = {f: (value if target == f"body.{f}" else "x") for f in fields}
                            if raw and target.startswith("body."):
                                body = None  # raw bytes go in a body below, not JSON
                        r = client.request(
                            method, url + qs, params=query or None, json=body, headers=headers[role]
                        )
                        stats.check(f"{method} {path}", role, r, f"{target}={value[:40]!r}")
                # a JSON body that is not UTF-8 at all
                if op.get("requestBody"):
                    r = client.request(
                        method,
                        path.replace("{park}", "huolingol"),
                        content=b'{"park": "\xff\xfe", "name": "\xc0\xaf"}',
                        headers={**headers[role], "Content-Type": "application/json"},
                    )
                    stats.check(f"{method} {path}", role, r, "body of non-UTF-8 bytes")
        assert _counts(fuzz) == before  # nothing dropped or changed by the strings
    print(
        f"\nhostile strings: {stats.requests} requests, by status {dict(sorted(stats.by_status.items()))}"
    )
    assert stats.requests > 1000, stats.requests
    assert not stats.findings, f"{len(stats.findings)} findings:\n" + "\n".join(stats.findings[:20])


def _plain(param: dict[str, Any]) -> str:
    """A value that fits the parameter, so the hostile one is the only odd field."""
    name = param["name"]
    return {
        "park": "huolingol",
        "meter": "grid-main",
        "quantity": "active_power_kw",
        "month": "2026-05",
        "year": "2026",
        "name": "2026-05.html",
        "event_id": "1",
        "trade_id": "1",
        "target": "pv",
        "period": "day",
    }.get(name, "1")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _counts(server: Any) -> dict[str, int]:
    with server.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
            for t in ("measurement", "gateway", "park", "meter")
        }


TRICKS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "..\\..\\etc\\passwd",
    "2026-05.html%00.pdf",
    "2026-05.html/../../../etc/passwd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "2026-05.pdf%2f..%2f..%2f..%2fetc%2fpasswd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
]


def test_path_tricks_on_report_downloads_read_no_file(fuzz: Any) -> None:
    app = create_app(fuzz.settings, fuzz.engine, background=False)
    with TestClient(app) as client:
        headers = role_headers(fuzz, client)
        for trick in TRICKS:
            for prefix in ("/api/v1/parks/huolingol/reports/", "/parks/huolingol/reports/"):
                for role in ROLES:
                    r = client.get(prefix + trick, headers=headers[role], follow_redirects=False)
                    where = (prefix + trick, role, r.status_code)
                    assert r.status_code < 500, where
                    assert b"root:" not in r.content, where  # /etc/passwd's first line
                    assert r.status_code in (303, 307, 400, 401, 403, 404, 422), where
                    if 400 <= r.status_code < 500 and prefix.startswith("/api"):
                        assert r.json().get("detail"), where
