"""Setpoints never lapse while the server runs: 24 hours of rolling re-plans on a fake clock, each a
few seconds after its quarter, some missed, published over a real Mosquitto to a gateway's
setpoint manager — at every second of the day some plan's setpoint is in force at the gateway."""

from __future__ import annotations

from pathlib import Path

from zctest_clock import FakeClock, pinned
from zctest_server import make_server
from zctest_setpoints import setpoints_heard

from edge_agent.setpoints import SetpointManager
from park_server import timeutil
from park_server.jobs.dispatch import plan_park

Q = 900  # s
MISSED = {7, 8, 30, 61}  # quarters whose re-plan never comes (server busy, restarted, …)


def test_24_hours_of_replans_keep_a_plan_in_force_every_second(tmp_path: Path, mqtt_broker) -> None:  # type: ignore[no-untyped-def]
    server = make_server(f"sqlite:///{tmp_path / 'r.db'}", mqtt_url=mqtt_broker.url)
    clock = FakeClock()  # stands still unless advanced
    day0 = int(clock()) - int(clock()) % Q
    with setpoints_heard(server, mqtt_broker, tmp_path) as heard:
        state, got, agent = heard.state, heard.messages, heard.agent
        manager = SetpointManager(agent.devices, agent.event, clock=clock)
        lapses: list[float] = []
        replans = 0
        with pinned(clock):
            for quarter in range(96):
                clock.t = day0 + quarter * Q + 5  # re-plans run 5 s into the quarter
                if quarter not in MISSED:
                    assert plan_park(state, "huolingol", "rolling") is not None
                    replans += 1
                    assert manager.receive(got.get(timeout=10)) == []
                if quarter == 0:
                    start = clock()
                for second in range(Q):
                    clock.t = day0 + quarter * Q + 5 + second
                    for meter in ("bess-1", "potline-zhn"):
                        if manager.target(meter, "active_power_kw")[1] != "plan":
                            lapses.append(clock.t)
        assert replans == 96 - len(MISSED)
        assert clock() - start >= 24 * 3600 - Q
        assert lapses == []
        assert timeutil.now_ms() != int(clock() * 1000)  # the pin was lifted
