"""Server forecasts: trained on stored measurements, 48 h at 15 min, fallbacks said, accuracy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlmodel import Session
from zctest_server import make_server, pv_kw, store_power

from config import Park
from park_server.db import crud
from park_server.db.tables import ForecastRow
from park_server.jobs.forecast import HORIZON, issue_forecast
from park_server.timeseries.forecasts import accuracy
from park_server.timeutil import QUARTER_MS, format_ts, local_now, now_ms

TZ = ZoneInfo("Asia/Shanghai")


def test_pv_forecast_from_measurements_fallback_and_accuracy(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'f.db'}")
    rng = np.random.default_rng(5)
    now = now_ms()
    start = now - now % QUARTER_MS - 17 * 86_400_000
    factors = rng.uniform(0.5, 1.0, 18)
    times = list(range(start, now - now % QUARTER_MS, QUARTER_MS))
    store_power(server, "pv-1", [(t, pv_kw(t, factors[(t - start) // 86_400_000])) for t in times])
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert isinstance(park, Park)
        row = issue_forecast(session, park, "pv", now)
        assert row is not None and row.model != "fallback"
        points = json.loads(row.values_json)
        assert len(points) == HORIZON
        p = np.array([[x["p10"], x["p50"], x["p90"]] for x in points])
        assert np.all(p[:, 0] <= p[:, 1]) and np.all(p[:, 1] <= p[:, 2])
        assert p.min() >= 0 and p.max() <= 200_000
        hours = [
            datetime.fromisoformat(x["ts"].replace("Z", "+00:00")).astimezone(TZ).hour
            for x in points
        ]
        night = [p50 for p50, h in zip(p[:, 1], hours, strict=True) if h in (0, 1, 2, 23)]
        noon = [p50 for p50, h in zip(p[:, 1], hours, strict=True) if h in (11, 12)]
        assert max(night) < 5_000 and min(noon) > 50_000
        # no wind data: the fallback is used, and said
        wind = issue_forecast(session, park, "wind", now)
        assert wind is not None and wind.model == "fallback"
        assert "fewer than 14 days" in json.loads(wind.meta_json)["fallback"]
        # accuracy: a forecast issued 10:00 the day before that equals the measurements
        day = (local_now("Asia/Shanghai") - timedelta(days=2)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        issued = int((day - timedelta(days=1) + timedelta(hours=10)).timestamp() * 1000)
        day_times = range(
            int(day.timestamp() * 1000),
            int((day + timedelta(days=1)).timestamp() * 1000),
            QUARTER_MS,
        )
        exact = [
            {"ts": format_ts(t), "p10": v * 0.9, "p50": v, "p90": v * 1.1 + 1}
            for t in day_times
            for v in [pv_kw(t, factors[(t - start) // 86_400_000])]
        ]
        session.add(
            ForecastRow(
                park_id="huolingol",
                target="pv",
                issued_ms=issued,
                model="test",
                values_json=json.dumps(exact),
            )
        )
        session.commit()
        acc = {a["date"]: a for a in accuracy(session, park, "pv", 3)}
        entry = acc[day.date().isoformat()]
        assert entry["intervals"] == 96
        assert entry["nmae"] == pytest.approx(0.0, abs=1e-6)
        assert entry["coverage_p10_p90"] == 1.0
        # persistence: the measured values 24 h before as the forecast, normalised by capacity
        from park_server.timeseries.forecasts import accuracy_summary, capacity

        cap = capacity(park, "pv")
        assert cap is not None
        before = [
            abs(
                pv_kw(t - 86_400_000, factors[(t - 86_400_000 - start) // 86_400_000])
                - pv_kw(t, factors[(t - start) // 86_400_000])
            )
            for t in day_times
        ]
        assert entry["persistence_intervals"] == 96
        assert entry["persistence_nmae"] == pytest.approx(np.mean(before) / cap, rel=1e-9)
        assert entry["skill"] == pytest.approx(1.0, abs=1e-6)  # the forecast is exact
        sm = accuracy_summary(list(acc.values()))
        assert (sm["days"], sm["intervals"]) == (1, 96)
        assert sm["persistence_nmae"] == pytest.approx(entry["persistence_nmae"], rel=1e-12)
    with server.client() as client:
        admin = server.token(client, "ada")
        r = client.get("/api/v1/parks/huolingol/forecasts", params={"target": "pv"}, headers=admin)
        assert r.status_code == 200 and len(r.json()["points"]) == HORIZON
        assert r.json()["meta"]["weather"] == "no weather source configured"
        r = client.get(
            "/api/v1/parks/huolingol/forecasts", params={"target": "load"}, headers=admin
        )
        assert r.status_code == 404
        r = client.get(
            "/api/v1/parks/huolingol/forecasts/accuracy",
            params={"target": "pv", "days": 3},
            headers=admin,
        )
        assert r.status_code == 200 and len(r.json()) == 3


def test_pv_fallback_scales_clear_sky_by_the_recent_ratio(tmp_path: Path) -> None:
    from forecasting.solar import clear_sky_shape

    server = make_server(f"sqlite:///{tmp_path / 'g.db'}")
    now = now_ms()
    start = now - now % QUARTER_MS - 3 * 86_400_000
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert isinstance(park, Park)
        times = list(range(start, now - now % QUARTER_MS, QUARTER_MS))
        cap = 200_000.0
        values = clear_sky_shape(park, times) * cap * 0.5  # a hazy week: half of clear sky
    store_power(server, "pv-1", list(zip(times, values, strict=True)))
    with Session(server.engine) as session:
        row = issue_forecast(session, park, "pv", now)
        assert row is not None and row.model == "fallback"
        assert "recent measured ratio" in json.loads(row.meta_json)["fallback"]
        points = json.loads(row.values_json)
        stamps = [
            int(datetime.fromisoformat(p["ts"].replace("Z", "+00:00")).timestamp() * 1000)
            for p in points
        ]
        expected = clear_sky_shape(park, stamps) * cap * 0.5
        got = np.array([p["p50"] for p in points])
        assert np.allclose(got, expected, rtol=0.02, atol=50)


def test_live_load_forecast_follows_the_newest_measurement_then_the_model(tmp_path: Path) -> None:
    """The model is trained once a day; a jump in the load after that (which the model cannot
    know of) is carried into the first hours by the intraday correction, then fades."""
    server = make_server(f"sqlite:///{tmp_path / 'l.db'}")
    rng = np.random.default_rng(2)
    now = now_ms()
    start = now - now % QUARTER_MS - 20 * 86_400_000
    times = list(range(start, now - now % QUARTER_MS, QUARTER_MS))
    level = np.array(
        [50_000 + 5_000 * np.sin(2 * np.pi * (t % 86_400_000) / 86_400_000) for t in times]
    )
    # load wanders about its daily shape: errors carry over from one quarter to the next
    wander = np.zeros(len(times))
    for i in range(1, len(times)):
        wander[i] = 0.9 * wander[i - 1] + rng.normal(0, 500)
    level = level + wander
    before = times[-8]  # the model is trained here, two hours ago
    store_power(server, "aux-load", list(zip(times[:-8], level[:-8], strict=True)))
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert isinstance(park, Park)
        trained = issue_forecast(session, park, "load", before)
        assert trained is not None and trained.model != "fallback"
    level[-8:] += 20_000  # the last two hours: a jump the morning's model cannot know of
    store_power(server, "aux-load", list(zip(times[-8:], level[-8:], strict=True)))
    with Session(server.engine) as session:
        row = issue_forecast(session, park, "load", now)
        assert row is not None and row.model != "fallback"
        meta = json.loads(row.meta_json)
        assert meta["trained_at"] == format_ts(before)  # the same model: no retraining
        assert meta["intraday_error"] > 15_000 and 0 < meta["intraday_rho"] < 1
        assert meta["holidays"] == "cn"
        p50 = [p["p50"] for p in json.loads(row.values_json)]
    newest = level[-1]
    assert abs(p50[0] - newest) < 0.5 * abs(p50[-1] - newest)  # this quarter: near the newest
    assert p50[-1] < 60_000  # two days out: the model's level again
