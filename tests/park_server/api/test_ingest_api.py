"""HTTP ingest and API access, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from zctest_server import batch, make_server


def _count(server, table: str = "measurement") -> int:  # type: ignore[no-untyped-def]
    with server.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_batch_is_stored_once_and_bad_samples_are_named(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        r = client.post("/api/v1/ingest", json=batch(100), headers=key)
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": 100, "duplicates": 0, "rejected": []}
        r = client.post("/api/v1/ingest", json=batch(100), headers=key)
        assert r.json() == {"accepted": 0, "duplicates": 100, "rejected": []}
        assert _count(server) == 100

        mixed = batch(6, batch_no=2, start_ms=None)
        samples = mixed["samples"]
        assert isinstance(samples, list)
        for s in samples:
            s["ts"] = s["ts"].replace("T", "T").replace(".000Z", ".500Z")
        samples[1]["meter"] = "no-such-meter"
        samples[2]["quantity"] = "voltage_kv"
        samples[3]["value"] = "NaN"
        samples[4]["ts"] = "2099-01-01T00:00:00Z"
        r = client.post("/api/v1/ingest", json=mixed, headers=key)
        assert r.status_code == 200
        body = r.json()
        assert body["accepted"] == 2 and body["duplicates"] == 0
        reasons = {x["index"]: x["reason"] for x in body["rejected"]}
        assert set(reasons) == {1, 2, 3, 4}
        assert "unknown meter 'no-such-meter'" in reasons[1]
        assert "unknown quantity 'voltage_kv'" in reasons[2]
        assert "not a finite number" in reasons[3]
        assert "in the future" in reasons[4]
        assert _count(server) == 102
        assert _count(server, "rejected_sample") == 4  # kept with their reasons, not dropped

        # the gateway's status shows what was refused
        admin = server.token(client, "ada")
        gws = {
            g["id"]: g for g in client.get("/api/v1/parks/huolingol/gateways", headers=admin).json()
        }
        assert gws["gw-hlgl-01"]["rejected_samples"] == 4
        assert gws["gw-hlgl-01"]["last_batch"] == 2


def test_malformed_batches_get_4xx_not_5xx(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        assert client.post("/api/v1/ingest", content=b"{not json", headers=key).status_code == 400
        assert client.post("/api/v1/ingest", json=[1, 2], headers=key).status_code == 422
        body = batch(1)
        body["samples"] = "nope"
        r = client.post("/api/v1/ingest", json=body, headers=key)
        assert r.status_code == 422 and "'samples' must be a list" in r.json()["detail"][0]["msg"]


def test_keys_and_roles(database_url: str) -> None:
    server = make_server(database_url)
    with server.client() as client:
        # no token -> 401, a forged key -> 401
        assert client.post("/api/v1/ingest", json=batch(1)).status_code == 401
        assert client.get("/api/v1/parks").status_code == 401
        forged = {"Authorization": "Bearer zcgk_0000_nothing"}
        assert client.post("/api/v1/ingest", json=batch(1), headers=forged).status_code == 401
        # a key of park A (huolingol) is refused for park B (baotou_aluminum)
        key_a = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
        other = batch(1, park="baotou_aluminum", gateway="gw-bt-01")
        r = client.post("/api/v1/ingest", json=other, headers=key_a)
        assert r.status_code == 403 and "huolingol" in r.json()["detail"]
        # a user token is not a gateway key
        viewer = server.token(client, "vic")
        assert client.post("/api/v1/ingest", json=batch(1), headers=viewer).status_code == 401
        # viewers read their park, not others, and change nothing
        assert client.get("/api/v1/parks/huolingol", headers=viewer).status_code == 200
        assert client.get("/api/v1/parks/baotou_aluminum", headers=viewer).status_code == 403
        assert [p["id"] for p in client.get("/api/v1/parks", headers=viewer).json()] == [
            "huolingol"
        ]
        r = client.post("/api/v1/parks/huolingol/events/1/close", headers=viewer)
        assert r.status_code == 403
        manager = server.token(client, "mia")
        r = client.post("/api/v1/parks/huolingol/events/999/close", headers=manager)
        assert r.status_code == 404  # allowed to change, but there is no such event
        admin = server.token(client, "ada")
        assert len(client.get("/api/v1/parks", headers=admin).json()) == 6
        # health needs no auth
        assert client.get("/api/v1/health").json()["database"] == "ok"


def test_login_is_rate_limited(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    with server.client() as client:
        codes = [
            client.post(
                "/api/v1/auth/token", data={"username": "ada", "password": "wrong"}
            ).status_code
            for _ in range(7)
        ]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429, 429]


def test_meters_latest_and_measurement_ranges(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        client.post("/api/v1/ingest", json=batch(30, step_ms=60_000), headers=key)
        admin = server.token(client, "ada")
        meters = {
            m["id"]: m for m in client.get("/api/v1/parks/huolingol/meters", headers=admin).json()
        }
        assert (
            meters["grid-main"]["asset"] == "grid"
            and "active_power_kw" in meters["grid-main"]["quantities"]
        )
        assert meters["potline-zhn"]["enterprise"] == "huomei-hongjun"
        latest = client.get("/api/v1/parks/huolingol/latest", headers=admin).json()
        assert latest == [
            {
                "meter": "grid-main",
                "quantity": "active_power_kw",
                "ts": batch(30, step_ms=60_000)["samples"][-1]["ts"],
                "value": 829.0,
            }
        ]
        b = batch(30, step_ms=60_000)
        start = b["samples"][0]["ts"]
        params = {
            "meter": "grid-main",
            "quantity": "active_power_kw",
            "start": start,
            "resolution": "raw",
            "limit": 10,
        }
        r = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin).json()
        assert len(r["points"]) == 10 and r["next"] == b["samples"][10]["ts"]
        params["resolution"] = "15min"
        from zctest_rollups import roll

        roll(server.engine, server.settings)  # GETs read what the rollup job (every 30 s) wrote
        r = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin).json()
        # 30 one-minute samples from a whole hour: two full quarters
        assert [p["value"] for p in r["points"]] == [pytest.approx(807.0), pytest.approx(822.0)]
        params.update(resolution="raw", start="2020-01-01T00:00:00Z")
        r = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin)
        assert r.status_code == 422 and "range too long" in r.json()["detail"][0]["msg"]
        params.update(start="yesterday")
        r = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin)
        assert r.status_code == 422 and "start" in r.json()["detail"][0]["msg"]
        params.update(start=start, meter="nope")
        r = client.get("/api/v1/parks/huolingol/measurements", params=params, headers=admin)
        assert r.status_code == 404


def test_partly_resent_batch_stores_only_the_new_samples(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        first = batch(100, batch_no=1)
        assert client.post("/api/v1/ingest", json=first, headers=key).json()["accepted"] == 100
        both = batch(150, batch_no=2)  # the first 100 again, and 50 new ones
        r = client.post("/api/v1/ingest", json=both, headers=key).json()
        assert r == {"accepted": 50, "duplicates": 100, "rejected": []}
        assert _count(server) == 150
        # and a fresh batch after that still takes the fast path and stores everything
        later = batch(20, batch_no=3, start_ms=None)
        for s in later["samples"]:  # type: ignore[union-attr]
            s["meter"] = "aux-load"
        assert client.post("/api/v1/ingest", json=later, headers=key).json()["accepted"] == 20
        assert _count(server) == 170
