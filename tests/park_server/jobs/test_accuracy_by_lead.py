"""The server scores its live issues by lead time: a forecast that is exact in its first hour and
off by a known amount later shows nMAE 0 at 0–1 h and that amount, over capacity, beyond."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from zctest_server import make_server, store_power

from park_server.db import crud
from park_server.db.tables import ForecastRow
from park_server.timeseries.forecasts import accuracy_by_lead
from park_server.timeutil import QUARTER_MS, format_ts, now_ms


def test_issues_scored_by_lead_bucket(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'l.db'}")
    now = now_ms()
    issued = now - now % QUARTER_MS - 30 * 3_600_000  # 30 h ago: leads up to 30 h are measured
    times = [issued + i * QUARTER_MS for i in range(30 * 4)]
    store_power(server, "pv-1", [(t + 60_000, 50_000.0) for t in times])
    points = []
    for t in times:
        lead_h = (t - issued) / 3_600_000  # to the interval's start
        p50 = 50_000.0 if lead_h < 1 else 50_000.0 + 4_000.0  # 2 % of 200 MW off past 1 h
        points.append({"ts": format_ts(t), "p10": p50 - 1_000, "p50": p50, "p90": p50 + 1_000})
    with Session(server.engine) as session:
        session.add(
            ForecastRow(
                park_id="huolingol",
                target="pv",
                issued_ms=issued,
                model="test",
                values_json=json.dumps(points),
            )
        )
        session.commit()
        park = crud.park_config(session, park_id="huolingol")
        assert park is not None
        got = {b["lead"]: b for b in accuracy_by_lead(session, park, "pv", 2, now)}
    assert got["0-1h"]["points"] == 4 and got["0-1h"]["nmae"] == pytest.approx(0.0)
    assert got["0-1h"]["coverage_p10_p90"] == 1.0
    for name in ("1-6h", "6-24h", "24-48h"):
        assert got[name]["nmae"] == pytest.approx(4_000 / 200_000), name
        assert got[name]["coverage_p10_p90"] == 0.0, name
    assert got["1-6h"]["points"] == 20 and got["24-48h"]["points"] == 24
    with server.client() as client:
        admin = server.token(client, "ada")
        r = client.get(
            "/api/v1/parks/huolingol/forecasts/accuracy/by-lead",
            params={"target": "pv"},
            headers=admin,
        )
        assert r.status_code == 200 and [b["lead"] for b in r.json()] == [
            "0-1h",
            "1-6h",
            "6-24h",
            "24-48h",
        ]
