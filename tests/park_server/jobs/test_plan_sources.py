"""Every rolling plan says where each series came from: with fresh forecasts stored, every
renewable and load names the forecast issue it used; a stale state of charge is not used (the plan
estimates it and says so); one park whose plan fails does not stop the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from zctest_server import ingest_samples, make_server

from park_server.db import crud
from park_server.jobs import dispatch
from park_server.jobs.forecast import issue_forecast
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms


def test_every_series_names_the_forecast_issue_it_used(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 's.db'}")
    state = ServerState(server.settings, server.engine)
    now = now_ms()
    issued = {}
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert park is not None
        for target in ("pv", "wind", "load"):
            row = issue_forecast(session, park, target, now)
            assert row is not None
            issued[target] = format_ts(row.issued_ms)
    result = dispatch.plan_park(state, "huolingol", "rolling")
    assert result is not None
    sources = result.plan["sources"]
    for asset, target in (("pv-1", "pv"), ("wind-zhn", "wind"), ("wind-2", "wind")):
        assert sources[asset] == f"{target} forecast issued {issued[target]}"
    assert sources["aux"].startswith(f"load forecast issued {issued['load']}")
    assert sources["bess-1"].startswith("configured soc_initial (no measurement")
    assert result.plan["start"] == format_ts(now - now % QUARTER_MS)


def test_a_stale_state_of_charge_is_estimated_from_the_plan(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'c.db'}")
    state = ServerState(server.settings, server.engine)  # soc older than 15 min is stale
    now = now_ms()
    soc = {"meter": "bess-1", "quantity": "soc_pct", "value": 72.0}
    with Session(server.engine) as session:
        ingest_samples(session, [{**soc, "ts": format_ts(now - 60_000)}])
    fresh = dispatch.plan_park(state, "huolingol", "rolling")
    assert fresh is not None and fresh.plan["sources"]["bess-1"] == "measured soc"
    server2 = make_server(f"sqlite:///{tmp_path / 'd.db'}")
    state2 = ServerState(server2.settings, server2.engine)
    with Session(server2.engine) as session:
        ingest_samples(session, [{**soc, "ts": format_ts(now - 20 * 60_000)}])
    first = dispatch.plan_park(
        state2, "huolingol", "rolling", start_ms=now - now % QUARTER_MS - QUARTER_MS
    )
    assert first is not None
    assert first.plan["sources"]["bess-1"].startswith("configured soc_initial (newest measurement")
    again = dispatch.plan_park(state2, "huolingol", "rolling")
    assert again is not None
    source = again.plan["sources"]["bess-1"]
    assert source.startswith(f"estimated soc from plan {first.plan['plan_id']}"), source
    expected = first.plan["series"]["storage"]["bess-1"]["soc"][0]  # end of the first interval
    assert again.plan["series"]["storage"]["bess-1"]["soc"][0] != pytest.approx(0.72)
    scenario, _ = dispatch.build_scenario(
        Session(server2.engine),
        crud.park_config(Session(server2.engine), park_id="huolingol"),  # type: ignore[arg-type]
        now - now % QUARTER_MS,
        4,
        "probe",
    )
    assert scenario["storage"][0]["soc_initial"] == pytest.approx(expected)


def test_one_park_failing_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'f.db'}")
    state = ServerState(server.settings, server.engine)
    real = dispatch.build_scenario
    planned: list[str] = []

    def faulty(session, park, *args, **kw):  # type: ignore[no-untyped-def]
        if park.id == "baotou_aluminum":  # an injected fault in one park's scenario
            raise RuntimeError("injected fault")
        planned.append(park.id)
        return real(session, park, *args, **kw)

    monkeypatch.setattr(dispatch, "build_scenario", faulty)
    dispatch.rolling_job(state)
    assert "huolingol" in planned and "baotou_aluminum" not in planned
    assert state.counters.plans_failed == 1
