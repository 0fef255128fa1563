"""The login limiter: bounded in memory, not evaded by a rotated X-Forwarded-For from an untrusted
client, and no lockout: a flood from one address leaves the account usable from another.
HTTP cases run through a real uvicorn with the options `zcpark server` gives it."""

from __future__ import annotations

import tracemalloc
from typing import Any

import httpx
from zctest_server import make_server
from zctest_uvicorn import running

from park_server.app import create_app
from park_server.cli import uvicorn_options
from park_server.state import LoginLimiter


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_entries_never_exceed_the_cap_however_many_names_are_tried() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(5, 30, max_entries=1000, clock=clock)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    most = 0
    for i in range(20_000):  # 20,000 long names from 2,000 addresses
        limiter.allow(f"10.0.{i % 2000 // 250}.{i % 250}", f"user-{i}-" + "n" * 5000)
        most = max(most, len(limiter))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert most == 1000 == len(limiter)
    assert grown < 1_000_000, grown  # user names are kept as 16-byte digests


def test_no_lockout_from_another_address_and_buckets_refill() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(5, 15, clock=clock)
    flood = [limiter.allow("203.0.113.9", "ada") for _ in range(100)]
    assert flood[:5] == [True] * 5 and not any(flood[5:])
    assert limiter.allow("198.51.100.7", "ada")  # the owner, elsewhere, still gets in
    # one address trying many names is held by its own bucket (15 a minute, 95 already spent)
    assert not any(limiter.allow("203.0.113.9", f"user{i}") for i in range(20))
    clock.t += 60  # a minute later both buckets are full again
    assert [limiter.allow("203.0.113.9", "ada") for _ in range(6)] == [True] * 5 + [False]
    clock.t += 12  # 5 a minute: one attempt back every 12 s, no long lockout
    assert limiter.allow("203.0.113.9", "ada")


def _attempts(url: str, n: int, user: str = "ada", password: str = "wrong", **kw: Any) -> list[int]:
    codes = []
    with httpx.Client(base_url=url, **kw) as http:
        for i in range(n):
            r = http.post(
                "/api/v1/auth/token",
                data={"username": user, "password": password},
                headers={"X-Forwarded-For": f"192.0.2.{i + 1}"},  # rotated every time
            )
            codes.append(r.status_code)
    return codes


def test_a_rotated_forwarded_for_from_an_untrusted_client_does_not_evade(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    settings = server.settings  # ZCPARK_TRUSTED_PROXIES unset: no proxy is believed
    assert uvicorn_options(settings) == {"proxy_headers": False}
    with running(
        create_app(settings, server.engine, background=False), uvicorn_options(settings)
    ) as url:
        assert _attempts(url, 7) == [401] * 5 + [429] * 2
    # the control: uvicorn's own defaults believe any local client, and the rotation evades
    with running(create_app(settings, server.engine, background=False), {}) as url:
        assert _attempts(url, 7) == [401] * 7


def test_a_configured_proxy_is_believed_and_a_flood_locks_out_no_one_else(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'z.db'}")
    settings = server.settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    app = create_app(settings, server.engine, background=False)
    with running(app, uvicorn_options(settings)) as url:
        assert _attempts(url, 7) == [401] * 7  # seven forwarded clients, one try each
        # a flood on ada from 127.0.0.2, a peer that is not a trusted proxy
        local = httpx.HTTPTransport(local_address="127.0.0.2")
        flood = _attempts(url, 40, transport=local)
        assert flood[:5] == [401] * 5 and set(flood[5:]) == {429}
        # ada herself, from another address, signs in during the flood
        elsewhere = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(base_url=url, transport=elsewhere) as http:
            ok = http.post(
                "/api/v1/auth/token",
                data={"username": "ada", "password": server.passwords["ada"]},
            )
        assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
