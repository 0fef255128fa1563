"""The database away (a real PostgreSQL behind a TCP proxy the test kills): every route answers 503
with a reason, /health 503, one log line when it goes and one when it is back, no tracebacks; and
the server serves again by itself when the database returns."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from zctest_proxy import TcpProxy
from zctest_server import batch, make_server

from park_server.app import create_app


def _through(url: str, proxy: TcpProxy) -> str:
    assert "127.0.0.1:5432" in url, url
    return url.replace("127.0.0.1:5432", proxy.address)


def test_database_away_gives_503_with_a_reason_and_one_log_line(
    pg_fresh: Any, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    try:
        server = make_server(_through(pg_fresh.url, proxy))
        app = create_app(server.settings, server.engine, background=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            admin = server.token(client, "ada")
            key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
            assert client.get("/api/v1/parks", headers=admin).status_code == 200
            assert client.get("/api/v1/health").status_code == 200

            proxy.stop()  # the database is away
            caplog.clear()
            caplog.set_level(logging.INFO)
            answers = []
            for i in range(10):
                answers.append(client.get("/api/v1/parks", headers=admin))
                answers.append(client.get("/api/v1/parks/huolingol/latest", headers=admin))
                answers.append(client.post("/api/v1/ingest", json=batch(5), headers=key))
                if i < 3:  # (the login limiter allows 5 a minute in these tests)
                    login = {"username": "ada", "password": "x"}
                    answers.append(client.post("/api/v1/auth/token", data=login))
            assert {r.status_code for r in answers} == {503}
            for r in answers:
                assert r.json()["detail"].startswith("database unavailable: "), r.text
            health = client.get("/api/v1/health")
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
            down = [r for r in caplog.records if r.name == "zcpark.db"]
            assert len(down) == 1 and down[0].getMessage().startswith("database unavailable: ")
            assert [r for r in caplog.records if r.exc_info] == []  # no traceback at all

            proxy.start()  # back, on the same address: served again without a restart
            caplog.clear()
            for _ in range(5):
                assert client.get("/api/v1/parks", headers=admin).status_code == 200
            assert client.get("/api/v1/health").status_code == 200
            r = client.post("/api/v1/ingest", json=batch(5), headers=key)
            assert r.status_code == 200 and r.json()["accepted"] == 5
            back = [r.getMessage() for r in caplog.records if r.name == "zcpark.db"]
            assert len(back) == 1 and back[0].startswith("database reachable again after ")
    finally:
        proxy.stop()
