"""POST /ingest with the issue-14 probe's inputs: type-confused samples are refused one by one
(the rest stored, 200), unusable batches get a 4xx with a reason, bodies over the limit 413, and a
refused value is echoed in at most ~64 characters (response and stored reason alike)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from zctest_server import batch, make_server

HOSTILE_SAMPLES = [  # JSON text, so that Infinity and 400-digit integers arrive as on the wire
    '{"ts": "%(ts)s", "meter": "grid-main", "quantity": [], "value": 1.0}',
    '{"ts": "%(ts)s", "meter": "grid-main", "quantity": "active_power_kw", "value": 1.0, '
    '"quality": []}',
    '{"ts": "%(ts)s", "meter": "grid-main", "quantity": "active_power_kw", "value": '
    + "9" * 400
    + "}",
    '{"ts": Infinity, "meter": "grid-main", "quantity": "active_power_kw", "value": 1.0}',
    '{"ts": "%(ts)s", "meter": "' + "m" * 200_000 + '", "quantity": "active_power_kw", '
    '"value": 1.0}',
]


def _payload(n_valid: int, batch_no: Any = 5) -> str:
    """A batch of n_valid good samples, each followed by the hostile ones (cycled)."""
    good = batch(n_valid, batch_no=1)["samples"]
    assert isinstance(good, list)
    parts = []
    for i, s in enumerate(good):
        parts.append(json.dumps(s))
        parts.append(HOSTILE_SAMPLES[i % len(HOSTILE_SAMPLES)] % {"ts": s["ts"]})
    head = '{"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": '
    return head + f'{batch_no}, "samples": [' + ", ".join(parts) + "]}"


def _count(server: Any, table: str) -> int:
    with server.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_type_confused_samples_are_refused_alone_and_the_batch_kept(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}", "Content-Type": "x/json"}
    with server.client() as client:
        r = client.post("/api/v1/ingest", content=_payload(10), headers=key)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        assert body["accepted"] == 10 and body["duplicates"] == 0
        reasons = [x["reason"] for x in body["rejected"]]
        assert [x["index"] for x in body["rejected"]] == list(range(1, 20, 2))
        assert reasons[:5] == [
            "unknown quantity []",
            "quality [] is not good, uncertain or bad",
            "value <an integer of 400 digits> is beyond the range of a number (about 1.8e308)",
            "ts: inf is not a finite time stamp",
            "unknown meter '" + "m" * 64 + "'… in park huolingol",
        ]
        assert max(len(x) for x in reasons) < 120
        assert len(r.content) < 3000  # not 200 kB of echoed meter id
        assert _count(server, "measurement") == 10
        with server.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT MAX(LENGTH(reason)), MAX(LENGTH(sample_json)) FROM rejected_sample")
            ).one()
        assert stored[0] < 120 and stored[1] <= 4000


@pytest.mark.parametrize(
    ("batch_no", "reason"),
    [
        ("18446744073709551617", "batch number 18446744073709551617 is not an integer from 0"),
        ("-1", "batch number -1 is not an integer from 0"),
        ("true", "batch number True is not an integer from 0"),
        ("1.5", "batch number 1.5 is not an integer from 0"),
    ],
)
def test_a_batch_number_beyond_64_bits_is_a_422(
    batch_no: str, reason: str, database_url: str
) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    with server.client() as client:
        r = client.post("/api/v1/ingest", content=_payload(2, batch_no), headers=key)
        assert r.status_code == 422, r.text[:300]
        [detail] = r.json()["detail"]
        assert detail["loc"] == ["body"] and detail["msg"].startswith(reason)
        assert _count(server, "measurement") == 0


def test_deep_nesting_and_huge_integers_are_refused_with_a_reason(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    deep = "[" * 100_000 + "]" * 100_000
    with server.client() as client:
        r = client.post(
            "/api/v1/ingest",
            content='{"v": 1, "park": "huolingol", "gateway": "gw-hlgl-01", "batch": 3, '
            '"samples": ' + deep + "}",
            headers=key,
        )
        assert r.status_code == 422
        assert "nested too deeply" in r.json()["detail"][0]["msg"]
        r = client.post(
            "/api/v1/ingest", content=_payload(3).replace("9" * 400, "9" * 5000), headers=key
        )
        assert r.status_code == 422 and "not usable JSON" in r.json()["detail"][0]["msg"]
        assert client.get("/api/v1/health").json()["ingest"]["batches_rejected"] == 2


def test_bodies_over_the_limit_are_413(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    server.settings = server.settings.model_copy(update={"max_body_bytes": 100_000})
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        for _ in range(50):
            sent.append(1)
            yield b" " * 10_000

    with server.client() as client:
        ok = batch(300)  # about 35 kB
        assert client.post("/api/v1/ingest", json=ok, headers=key).status_code == 200
        big = batch(2000)  # about 230 kB, with its Content-Length
        r = client.post("/api/v1/ingest", json=big, headers=key)
        assert r.status_code == 413 and r.json() == {
            "detail": "the body is larger than 100000 bytes"
        }
        r = client.post("/api/v1/ingest", content=chunks(), headers=key)
        assert r.status_code == 413
        assert client.get("/api/v1/health").json()["ingest"]["batches_rejected"] == 2
    assert _count(server, "measurement") == 300


def test_the_openapi_declares_the_ingest_body_and_422_details_are_lists(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        op = spec["paths"]["/api/v1/ingest"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema["required"] == ["park", "gateway", "samples"]
        assert schema["properties"]["batch"]["format"] == "int64"
        assert {"200", "400", "401", "403", "413", "422"} <= set(op["responses"])
        declared = spec["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]
        assert declared["type"] == "array"
        admin = server.token(client, "ada")
        for url in (
            "/api/v1/parks/huolingol/kpis?date=9999-12-31",
            "/api/v1/parks/huolingol/kpis?date=9999-12-01&period=month",
            "/api/v1/parks/huolingol/kpis?date=9999-06-01&period=year",
        ):
            r = client.get(url, headers=admin)
            assert r.status_code == 422, (url, r.status_code)
            [detail] = r.json()["detail"]
            assert detail["loc"] == ["query", "date"]
            assert "ends after 9999-12-31" in detail["msg"]
        r = client.get("/api/v1/parks/huolingol/kpis?date=9999-12-30", headers=admin)
        assert r.status_code == 200
        # a 422 raised with a plain string elsewhere has the declared shape too
        r = client.get(
            "/api/v1/parks/huolingol/measurements?meter=grid-main&quantity=active_power_kw"
            "&start=yesterday",
            headers=admin,
        )
        assert r.status_code == 422
        [detail] = r.json()["detail"]
        assert set(detail) == {"loc", "msg", "type"} and detail["msg"].startswith("start: ")


def _raw_post(url: str, headers: str, body_chunks: Iterator[bytes]) -> tuple[str, int]:
    """POST over a plain socket, sending chunks until the server answers; (status line, bytes
    sent before the answer)."""
    import select
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(headers.encode())
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer is there: stop sending
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection after answering
                break
            sent += len(chunk)
        answer = sock.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], sent


def test_a_real_server_answers_413_before_reading_a_large_body(tmp_path: Any) -> None:
    from zctest_uvicorn import running

    from park_server.app import create_app

    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    settings = server.settings.model_copy(update={"max_body_bytes": 1_000_000})
    key = server.keys["gw-hlgl-01"]
    head = (
        "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\n"
    )

    def chunks(n: int, size: int, chunked: bool) -> Iterator[bytes]:
        for _ in range(n):
            data = b" " * size
            yield b"%x\r\n%s\r\n" % (size, data) if chunked else data

    with running(create_app(settings, server.engine, background=False)) as url:
        # a declared 200 MB: refused by its Content-Length, after at most a few chunks
        status, sent = _raw_post(
            url, head + "Content-Length: 200000000\r\n\r\n", chunks(3200, 65536, False)
        )
        assert status == "HTTP/1.1 413 Request Entity Too Large" and sent < 20_000_000
        # chunked, no length: refused once 1 MB has been counted, long before 200 MB
        status, sent = _raw_post(
            url, head + "Transfer-Encoding: chunked\r\n\r\n", chunks(3200, 65536, True)
        )
        assert status == "HTTP/1.1 413 Request Entity Too Large" and sent < 20_000_000
