"""GET /parks/{park}/completeness: each meter's share of the last hours' 15-minute intervals with
data, worked out by hand from what was sent (a gap, a meter sending a counter only, a silent one)."""

from __future__ import annotations

from zctest_server import batch, make_server

from park_server.jobs.rollup import rollup_job
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, now_ms


def test_completeness_counts_the_intervals_with_data(database_url: str) -> None:
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    now = now_ms()
    end = now - now % QUARTER_MS  # the quarter in progress is left out
    with server.client() as client:
        # grid-main every 5 min over the last 6 h, but not in the 3rd quarter-hour of them
        first = end - 6 * 3_600_000
        for n, start in enumerate((first, first + 3 * QUARTER_MS)):
            quarters = 2 if n == 0 else 21
            body = batch(quarters * 3, batch_no=n + 1, start_ms=start, step_ms=300_000)
            assert client.post("/api/v1/ingest", json=body, headers=key).status_code == 200
        # potline-2 sends only its import counter, in the last hour (and in the quarter under way)
        body = batch(
            5, batch_no=9, start_ms=end - 3_600_000, meter="potline-2",
            quantity="energy_import_kwh", step_ms=QUARTER_MS,
        )  # fmt: skip
        assert client.post("/api/v1/ingest", json=body, headers=key).status_code == 200
        rollup_job(ServerState(server.settings, server.engine))
        admin = server.token(client, "ada")
        r = client.get("/api/v1/parks/huolingol/completeness", headers=admin)
        bad = client.get("/api/v1/parks/huolingol/completeness?hours=0", headers=admin)
    assert r.status_code == 200 and bad.status_code == 422
    got = r.json()
    assert got["intervals"] == 96
    by = {m["meter"]: m for m in got["meters"]}
    assert by["grid-main"]["with_data"] == 23 and by["grid-main"]["share"] == 23 / 96
    assert by["potline-2"]["with_data"] == 4  # the fifth sample is in the quarter under way
    silent = [m for m, v in by.items() if m not in ("grid-main", "potline-2")]
    assert silent and all(by[m]["with_data"] == 0 and by[m]["share"] == 0.0 for m in silent)
