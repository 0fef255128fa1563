"""The long schemathesis run against our OpenAPI, on PostgreSQL and on SQLite, every role.

    ZCPARK_FUZZ_LONG=1 ZCPARK_FUZZ_EXAMPLES=100 .venv/bin/python -m pytest tests/fuzz -q -s

prints the requests sent, the answers by status and every finding (a 5xx, or a 4xx without a
reason); the figures of the latest run are in docs/reliability.md.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from zctest_fuzz import fuzz_api, fuzz_server

pytestmark = [pytest.mark.fuzz_long, pytest.mark.timeout(3 * 3600)]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_long_fuzz(database: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    else:
        url = request.getfixturevalue("pg_fresh").url
    examples = int(os.environ.get("ZCPARK_FUZZ_EXAMPLES", "100"))
    t0 = time.monotonic()
    stats = fuzz_api(fuzz_server(url), max_examples=examples)
    print(
        f"\nfuzz {database}: {stats.requests:,} requests ({examples} examples per operation and "
        f"mode, 6 roles) in {time.monotonic() - t0:.0f} s; by status "
        f"{dict(sorted(stats.by_status.items()))}; 5xx: "
        f"{sum(n for c, n in stats.by_status.items() if c >= 500)}; findings: {len(stats.findings)}"
    )
    for f in stats.findings[:50]:
        print("  ", f)
    assert not stats.findings
