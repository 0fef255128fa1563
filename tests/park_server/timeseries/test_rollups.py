"""Rollups equal an independent pandas computation from raw rows (power, counters, late data).
GETs read what the rollup job wrote, so the tests run the job where the server would."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from zctest_rollups import roll
from zctest_server import hour_ago, make_server

from park_server.timeutil import format_ts


def _post(client: Any, key: dict[str, str], batch_no: int, samples: list[dict[str, Any]]) -> None:
    body = {
        "v": 1,
        "park": "huolingol",
        "gateway": "gw-hlgl-01",
        "batch": batch_no,
        "samples": samples,
    }
    r = client.post("/api/v1/ingest", json=body, headers=key)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def _series(
    client: Any, headers: dict[str, str], quantity: str, resolution: str, start: int
) -> pd.Series:
    r = client.get(
        "/api/v1/parks/huolingol/measurements",
        headers=headers,
        params={
            "meter": "grid-main",
            "quantity": quantity,
            "resolution": resolution,
            "start": format_ts(start - 86_400_000),
            "end": format_ts(start + 2 * 86_400_000),
        },
    )
    assert r.status_code == 200, r.text
    pts = r.json()["points"]
    return pd.Series(
        [p["value"] for p in pts], index=pd.to_datetime([p["ts"] for p in pts]), dtype=float
    )


def _expected_power(raw: pd.DataFrame, freq: str) -> pd.Series:
    good = raw[raw.quality != "bad"].set_index("ts")["value"]
    if freq == "1D":  # park-local days (Asia/Shanghai), labelled by their start in UTC
        local = good.tz_convert("Asia/Shanghai")
        out = local.groupby(local.index.floor("D")).mean()
        out.index = out.index.tz_convert("UTC")
        return out
    return good.groupby(good.index.floor(freq)).mean()


def _expected_counter(raw: pd.DataFrame, freq: str) -> pd.Series:
    s = raw.sort_values("ts").set_index("ts")["value"]
    delta = s.diff()
    inc = delta.where(delta >= 0, s)  # a drop is a reset: the counter restarted from zero
    inc.iloc[0] = 0.0
    return inc.groupby(inc.index.floor(freq)).sum()


def _compare(got: pd.Series, want: pd.Series) -> None:
    got.index = (
        got.index.tz_convert("UTC") if got.index.tz is not None else got.index.tz_localize("UTC")
    )
    want = want[want.index.isin(got.index) | True]
    assert list(got.index) == list(want.index), (got, want)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9)


def test_rollups_match_pandas(database_url: str) -> None:
    rng = np.random.default_rng(3)
    server = make_server(database_url)
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    start = hour_ago(30)
    # power: irregular samples over 3 hours, some flagged bad
    offsets = np.sort(rng.choice(3 * 3600, size=300, replace=False)) * 1000
    power = [
        {
            "ts": format_ts(start + int(o)),
            "meter": "grid-main",
            "quantity": "active_power_kw",
            "value": float(rng.normal(500, 100)),
            "quality": "bad" if i % 17 == 0 else "good",
        }
        for i, o in enumerate(offsets)
    ]
    # counter: every 5 minutes, reset to a small value half-way through
    counter, level = [], 1_000.0
    for i in range(36):
        level = 3.0 if i == 20 else level + float(rng.uniform(5, 50))
        counter.append(
            {
                "ts": format_ts(start + i * 300_000),
                "meter": "grid-main",
                "quantity": "energy_import_kwh",
                "value": level,
            }
        )
    late_power, late_counter = power[::9], [counter[7], counter[25]]
    early_power = [p for p in power if p not in late_power]
    early_counter = [c for c in counter if c not in late_counter]

    with server.client() as client:
        admin = server.token(client, "ada")
        _post(client, key, 1, early_power + early_counter)
        # the rollups are computed once without the late data ...
        roll(server.engine, server.settings)
        _series(client, admin, "active_power_kw", "15min", start)
        _series(client, admin, "energy_import_kwh", "15min", start)
        # ... then the late samples arrive and must update the intervals they belong to
        _post(client, key, 2, late_power + late_counter)
        roll(server.engine, server.settings)

        raw_p = pd.DataFrame(power).assign(ts=lambda d: pd.to_datetime(d.ts))
        raw_c = pd.DataFrame(counter).assign(ts=lambda d: pd.to_datetime(d.ts))
        for res, freq in (("15min", "15min"), ("1h", "1h"), ("1d", "1D")):
            _compare(
                _series(client, admin, "active_power_kw", res, start), _expected_power(raw_p, freq)
            )
        for res, freq in (("15min", "15min"), ("1h", "1h")):
            _compare(
                _series(client, admin, "energy_import_kwh", res, start),
                _expected_counter(raw_c, freq),
            )
        total = _series(client, admin, "energy_import_kwh", "1d", start).sum()
        assert total == pytest.approx(_expected_counter(raw_c, "1h").sum())


def test_kpis_from_rollups(tmp_path: Any) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'k.db'}")
    key = {"Authorization": f"Bearer {server.keys['gw-hlgl-01']}"}
    start = hour_ago(30)
    samples = []
    for q in range(4):  # one hour: grid imports 100 kW, wind 300 kW, potline takes 400 kW
        ts = format_ts(start + q * 900_000)
        samples += [
            {"ts": ts, "meter": "grid-main", "quantity": "active_power_kw", "value": 100.0},
            {"ts": ts, "meter": "wind-zhn", "quantity": "active_power_kw", "value": 300.0},
            {"ts": ts, "meter": "potline-zhn", "quantity": "active_power_kw", "value": 400.0},
        ]
    with server.client() as client:
        admin = server.token(client, "ada")
        _post(client, key, 1, samples)
        roll(server.engine, server.settings)
        day = (
            pd.Timestamp(start, unit="ms", tz="UTC").tz_convert("Asia/Shanghai").date().isoformat()
        )
        k = client.get(
            "/api/v1/parks/huolingol/kpis", params={"period": "day", "date": day}, headers=admin
        ).json()
    assert k["energy_kwh"]["wind"] == pytest.approx(300.0)
    assert k["energy_kwh"]["grid_import"] == pytest.approx(100.0)
    assert k["consumption_kwh"] == pytest.approx(400.0)
    assert k["green_share"] == pytest.approx(0.75)
    assert k["co2_t"] == pytest.approx(100 * 0.6849 / 1000)
    assert k["curtailed_kwh_planned"] is None  # no day-ahead plan for that day
