"""Property-based fuzzing of the park server's API with schemathesis, shared by the short run in
the suite (tests/park_server/api/test_fuzz_api.py) and the long one (tests/fuzz/).

Every operation of /openapi.json gets cases generated from its schema (valid ones and, with
``negative``, ones that break it), each sent with the token of every role: admin, manager of A,
viewer of A, manager of B, the gateway key of A, and none. A finding is a 5xx, or a 4xx whose body
has no ``detail`` (no reason); findings are collected, not raised, so a run lists them all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from sqlmodel import Session
from zctest_server import Server, make_server

from park_server.app import create_app
from park_server.db import crud

ROLES = ("admin", "manager_a", "viewer_a", "manager_b", "gateway_a", "none")
USERS = {"admin": "ada", "manager_a": "mia", "viewer_a": "vic", "manager_b": "bob"}


@dataclass
class FuzzStats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    #: operations whose schema leaves nothing to break (no parameters, in negative mode)
    unsatisfiable: list[str] = field(default_factory=list)

    def check(self, label: str, role: str, response: Any, request: str) -> None:
        self.requests += 1
        code = response.status_code
        self.by_status[code] += 1
        if code >= 500:
            self.findings.append(f"{label} as {role}: {code} for {request[:300]}")
        elif code >= 400 and code != 405:
            try:
                detail = response.json().get("detail")
            except Exception:
                detail = None
            if not detail:
                self.findings.append(
                    f"{label} as {role}: {code} without a reason ({response.text[:100]!r}) "
                    f"for {request[:200]}"
                )


def fuzz_server(url: str) -> Server:
    server = make_server(url)
    with Session(server.engine) as session:
        crud.create_user(
            session, name="bob", role="manager", parks=["baotou_aluminum"], password="bob-pw-1234"
        )
    server.passwords["bob"] = "bob-pw-1234"
    server.settings = server.settings.model_copy(update={"login_attempts_per_minute": 100_000})
    return server


def role_headers(server: Server, client: TestClient) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for role in ROLES:
        if role in USERS:
            out[role] = server.token(client, USERS[role])
        elif role == "gateway_a":
            out[role] = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
        else:
            out[role] = {}
    return out


def fuzz_api(
    server: Server, max_examples: int, modes: tuple[str, ...] = ("positive", "negative")
) -> FuzzStats:
    """Fuzz every operation of the app's OpenAPI with every role; return what was seen."""
    app = create_app(server.settings, server.engine, background=False)
    stats = FuzzStats()
    with TestClient(app) as client:
        headers = role_headers(server, client)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # an operation whose schema cannot be read fails here (Err has no ok())
        results: list[Any] = list(schema.get_all_operations())
        operations = [r.ok() for r in results]
        for op in operations:
            for mode in modes:
                strategy = op.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

                @settings(
                    max_examples=max_examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate],
                )
                @given(case=strategy)
                def run(case: Any) -> None:
                    label = case.operation.label
                    for role in ROLES:
                        extra = dict(case.headers or {})
                        extra.pop("Authorization", None)
                        extra.update(headers[role])
                        try:
                            response = case.call(headers=extra)
                        except Exception as exc:  # the app raised through the transport: a 500
                            stats.requests += 1
                            stats.by_status[500] += 1
                            stats.findings.append(
                                f"{label} as {role}: {type(exc).__name__}: {exc} for "
                                f"{case.as_curl_command()[:300]}"
                            )
                            continue
                        stats.check(label, role, response, _describe(case))

                try:
                    run()
                except Unsatisfiable:
                    stats.unsatisfiable.append(f"{op.label} ({mode})")  # nothing to break
    return stats


def _describe(case: Any) -> str:
    try:
        return str(case.as_curl_command())
    except Exception:
        return f"{case.method} {case.formatted_path} {case.query!r} {case.body!r}"
