"""Closed loop: simulator + edge agent + server. The server plans, publishes setpoints over MQTT,
the agent writes them to the battery, and the battery's measured power follows them — also across
re-plans on the quarter, with no fall back to the safe default between plans."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from zctest_loop import closed_loop

from dispatch.setpoints import setpoints_of
from edge_agent import modbus
from park_server import timeutil
from park_server.jobs.dispatch import rolling_job
from park_server.timeutil import QUARTER_MS, parse_ts

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def test_battery_follows_published_setpoints(tmp_path: Path, private_broker: Any) -> None:
    with closed_loop(tmp_path, private_broker.url) as loop:
        loop.wait_for_data()
        assert loop.latest("bess-1", "soc_pct") == pytest.approx(90.0, abs=0.5)
        manager = loop.server.token(loop.client, "ada")
        r = loop.client.post("/api/v1/parks/looptest/dispatch/replan", headers=manager)
        assert r.status_code == 200, r.text
        setpoint = r.json()["setpoints"]["bess-1"]
        load = loop.latest("load-1", "active_power_kw")
        assert load is not None
        # import is capped at 5 kW and the battery is full: it must carry the load
        assert setpoint == pytest.approx(load, abs=0.5) and setpoint > 5
        deadline = time.monotonic() + 15
        measured = None
        while time.monotonic() < deadline:
            measured = loop.latest("bess-1", "active_power_kw")
            if measured is not None and abs(measured - setpoint) < 0.01:
                break
            time.sleep(0.2)
        assert measured == pytest.approx(setpoint, abs=0.01)
        assert loop.agent.status()["setpoints"]["bess-1.active_power_kw"]["mode"] == "plan"
        latest = loop.client.get("/api/v1/parks/looptest/dispatch/latest", headers=manager)
        assert latest.json()["status"] == "optimal"
        assert latest.json()["plan_id"] == r.json()["plan_id"]
        assert latest.json()["sources"]["bess"] == "measured soc"
    assert loop.model.setpoints["bess"] == pytest.approx(setpoint, abs=0.01)


SPEED = 90.0  # fake seconds per real second: a quarter-hour passes in 10 s
LAG_S = 3 * SPEED  # a setpoint reaches the battery and its reading the server within 3 real s


def test_three_replans_on_the_quarter_the_battery_follows_without_a_lapse(
    tmp_path: Path, private_broker: Any
) -> None:
    """One clock, sped up, for the server, the gateway's setpoints and the samples' time stamps;
    the rolling job runs 5 s into each quarter as the scheduler runs it, with default settings."""
    t0_real, t0 = time.monotonic(), time.time()

    def fast() -> float:
        return t0 + (time.monotonic() - t0_real) * SPEED

    modbus.sample_clock = fast
    timeutil.set_clock(fast)
    try:
        with closed_loop(tmp_path, private_broker.url) as loop:
            loop.agent.setpoints.clock = fast
            loop.wait_for_data()
            state = loop.client.app.state.zcpark
            admin = loop.server.token(loop.client, "ada")
            q = QUARTER_MS / 1000
            first = (fast() // q + 1) * q  # the next quarter
            plan_ids: list[str] = []
            lapses: list[tuple[float, str]] = []
            followed: list[tuple[float, float, float]] = []
            for k in range(3):
                replan_at = first + k * q + 5
                while fast() < replan_at:
                    time.sleep(0.05)
                rolling_job(state)
                r = loop.client.get("/api/v1/parks/looptest/dispatch/latest", headers=admin)
                plan = r.json()
                assert plan["kind"] == "rolling" and plan["plan_id"] not in plan_ids
                plan_ids.append(plan["plan_id"])
                # until the next re-plan: always a plan's setpoint, and the battery follows it
                while fast() < replan_at + q - 1:
                    t = fast()
                    mode = loop.agent.status()["setpoints"]["bess-1.active_power_kw"]["mode"]
                    if mode != "plan":
                        lapses.append((t, mode))
                    index = int((t * 1000 - parse_ts(plan["start"])) // QUARTER_MS)
                    want = setpoints_of(plan, loop.park, index)["bess-1"]
                    measured = loop.latest("bess-1", "active_power_kw")
                    # a poll and a batch after each change of setpoint (re-plan or quarter)
                    settled = t % q > 5 + LAG_S and t > replan_at + LAG_S
                    if measured is not None and settled:
                        followed.append((t, want, measured))
                    time.sleep(0.1)
            assert len(plan_ids) == 3
            assert lapses == []
            assert len(followed) > 100
            assert all(abs(w - m) < 0.01 for _, w, m in followed), followed[:5]
    finally:
        modbus.sample_clock = time.time
        timeutil.set_clock(None)
