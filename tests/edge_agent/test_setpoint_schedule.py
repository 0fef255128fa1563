"""Setpoints that never lapse: a message carries the next intervals of the plan (``schedule``), so
the gateway holds the plan's course through a late or missed re-plan and falls back to the safe
default only when the plan runs out. Time is a fake clock; the device is a real pymodbus server."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zctest_edge import FakeClock, SimThread, free_port, iso, write_gateway

from config import load_profile
from edge_agent.agent import Agent
from edge_agent.setpoints import SetpointManager
from edge_agent.simulate import DeviceSim

Q = 900.0  # s, the plan's interval
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()  # 08:00 UTC, pinned
BESS = "bess-1.active_power_kw"


def _sp(value: float, meter: str = "bess-1") -> list[dict[str, Any]]:
    return [{"meter": meter, "name": "active_power_kw", "value": value}]


def _value(plan: int, quarter: int) -> float:
    """Plan k's setpoint for quarter q (counted from T0): tells which plan is in force."""
    return -(100.0 * plan + quarter)


def _message(plan: int, sent_at: float, quarters: int) -> bytes:
    """What a re-plan at ``sent_at`` publishes: its quarter's setpoints, then the next ones."""
    q0 = int((sent_at - T0) // Q)
    start = T0 + q0 * Q
    return json.dumps(
        {
            "plan_id": f"p-{plan}",
            "valid_until": iso(start + Q),
            "setpoints": _sp(_value(plan, q0)),
            "schedule": [
                {
                    "valid_from": iso(start + i * Q),
                    "valid_until": iso(start + (i + 1) * Q),
                    "setpoints": _sp(_value(plan, q0 + i)),
                }
                for i in range(1, quarters)
            ],
        }
    ).encode()


def _bess_gateway(tmp_path: Path) -> tuple[SimThread, Agent, list[tuple[float, float]], FakeClock]:
    clock = FakeClock(T0)
    port = free_port()
    written: list[tuple[float, float]] = []  # (fake time, kW) as the device received it
    sim = DeviceSim(
        "bess-1",
        load_profile("sma-storage-pcs"),
        lambda: {"active_power_kw": 0.0},
        on_setpoint=lambda name, value: written.append((clock(), round(value, 3))),
    )
    st = SimThread()
    st.serve(sim, port)
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url="mqtt://127.0.0.1:1",  # no uplink needed: messages are handed in
        devices=[
            {
                "meter": "bess-1",
                "bus": "lan",
                "port": port,
                "unit_id": 3,
                "profile": "sma-storage-pcs",
                "poll_interval_s": 0.5,
            }
        ],
    )
    return st, Agent(gw), written, clock


def test_the_plan_holds_through_late_and_missed_replans_then_the_safe_default(
    tmp_path: Path,
) -> None:
    st, agent, written, clock = _bess_gateway(tmp_path)
    sp = SetpointManager(agent.devices, agent.event, clock=clock)
    # re-plans on the quarter, each some seconds late (solving takes time); 08:30 never comes
    replans = {T0 + 5: _message(1, T0 + 5, 3), T0 + Q + 7: _message(2, T0 + Q + 7, 3)}
    replans[T0 + 3 * Q + 3] = _message(4, T0 + 3 * Q + 3, 3)  # the last: covers to 09:30
    runs_out = T0 + 6 * Q
    # what must be in force, by hand: (from, plan, value)
    expected = [
        (T0 + 5, "p-1", _value(1, 0)),
        (T0 + Q, "p-1", _value(1, 1)),  # 08:15:00-08:15:07: plan 1's schedule, not a lapse
        (T0 + Q + 7, "p-2", _value(2, 1)),  # plan 2 replaces plan 1 whole
        (T0 + 2 * Q, "p-2", _value(2, 2)),
        (T0 + 3 * Q, "p-2", _value(2, 3)),  # the 08:30 re-plan was missed: plan 2 holds
        (T0 + 3 * Q + 3, "p-4", _value(4, 3)),
        (T0 + 4 * Q, "p-4", _value(4, 4)),
        (T0 + 5 * Q, "p-4", _value(4, 5)),
        (runs_out, None, 0.0),  # the plan ran out: the profile's safe default
    ]

    def want(t: float) -> tuple[str | None, float]:
        plan, value = None, 0.0
        for start, p, v in expected:
            if t >= start:
                plan, value = p, v
        return plan, value

    async def scenario() -> list[tuple[float, str | None, float, str]]:
        seen = []
        await agent.devices["bess-1"].poll_once()
        clock.now = T0 + 5
        while clock.now < runs_out + Q:
            if clock.now in replans:
                assert sp.receive(replans[clock.now]) == []
            await sp.apply()
            st_sp = sp.status()["setpoints"][BESS]
            seen.append((clock.now, st_sp["plan_id"], st_sp["value"], st_sp["mode"]))
            clock.advance(1.0)
        for line in agent.lines.values():
            line.close()
        return seen

    try:
        seen = st.run(scenario(), timeout=120)
    finally:
        st.close()
    assert len(seen) == int(runs_out + Q - (T0 + 5))
    wrong = [(iso(t), p, v, m) for t, p, v, m in seen if (p, v) != want(t)]
    assert wrong == [], wrong[:5]
    # at every second of the plan's hour and a half some plan's setpoint was in force ...
    assert all(m == "plan" for t, _, _, m in seen if t < runs_out)
    assert all(m == "safe_default" for t, _, _, m in seen if t >= runs_out)
    # ... and the device got exactly that: each change on its second, the safe default only
    # once the plan had run out (and re-written every 10 s in between)
    changes = [(t, v) for i, (t, v) in enumerate(written) if i == 0 or written[i - 1][1] != v]
    assert changes == [(start, value) for start, _, value in expected]
    assert all(v != 0.0 for t, v in written if t < runs_out)
    assert max(b[0] - a[0] for a, b in itertools.pairwise(written)) <= 10.0


def test_bad_schedule_entries_are_refused_with_a_reason_and_the_rest_kept(tmp_path: Path) -> None:
    st, agent, _, clock = _bess_gateway(tmp_path)
    sp = SetpointManager(agent.devices, agent.event, clock=clock)
    st.close()  # only receive() and target() here: nothing is written
    clock.now = T0 + 10

    def entry(a: float, b: float, value: float = -100.0, **kw: Any) -> dict[str, Any]:
        return {"valid_from": iso(a), "valid_until": iso(b), "setpoints": _sp(value, **kw)}

    msg = {
        "plan_id": "p-9",
        "valid_until": iso(T0 + Q),
        "setpoints": _sp(-50.0),
        "schedule": [
            entry(T0 + Q, T0 + 2 * Q, -60.0),  # good
            entry(T0 + 3 * Q, T0 + 3 * Q),  # empty interval
            entry(T0 + 1.5 * Q, T0 + 2.5 * Q),  # overlaps the good one
            {"valid_from": "2026-11-23T08:45:00", "valid_until": iso(T0 + 4 * Q), "setpoints": []},
            entry(T0 + 2 * Q, T0 + 3 * Q, 9000.0),  # outside the limits: this setpoint refused
            entry(T0 + 3 * Q, T0 + 4 * Q, -70.0, meter="bess-9"),  # not on this gateway
            "08:45",
            entry(T0 + 4 * Q, T0 + 5 * Q, -80.0),  # good, after a gap
        ],
    }
    reasons = sp.receive(json.dumps(msg).encode())
    assert len(reasons) == 6, reasons
    assert "schedule[1]" in reasons[0] and "valid_from must be before valid_until" in reasons[0]
    assert "schedule[2]" in reasons[1] and "overlaps schedule[0]" in reasons[1]
    assert "schedule[3]" in reasons[2] and "no time zone" in reasons[2]
    assert "schedule[4]" in reasons[3] and "outside the profile's limits" in reasons[3]
    assert "schedule[5]" in reasons[4] and "'bess-9'" in reasons[4]
    assert "schedule[6]" in reasons[5] and "must be an object" in reasons[5]
    assert sp.refused == 6

    def at(*offsets: float) -> dict[float, tuple[float, str]]:
        out = {}
        for dt in offsets:
            clock.now = T0 + dt
            out[dt] = sp.target("bess-1", "active_power_kw")
        return out

    assert at(10, Q + 1, 2 * Q + 1, 4 * Q + 1, 5 * Q) == {
        10: (-50.0, "plan"),
        Q + 1: (-60.0, "plan"),
        2 * Q + 1: (0.0, "safe_default"),  # schedule[4]'s only setpoint was refused
        4 * Q + 1: (-80.0, "plan"),  # after a gap the plan resumes
        5 * Q: (0.0, "safe_default"),  # valid_until is exclusive: the plan ran out
    }

    # a message refused whole leaves the plan in force: a time without a zone, one that is over
    clock.now = T0 + 10
    naive = {"plan_id": "p-10", "valid_until": "2026-11-23T09:00:00", "setpoints": _sp(-1.0)}
    (reason,) = sp.receive(json.dumps(naive).encode())
    assert "valid_until" in reason and "no time zone" in reason
    over = {
        "plan_id": "p-11",
        "valid_until": iso(T0),
        "setpoints": _sp(-1.0),
        "schedule": [entry(T0 - Q, T0 + 5, -2.0)],
    }
    (reason,) = sp.receive(json.dumps(over).encode())
    assert "p-11" in reason and "ran out" in reason
    assert sp.receive(json.dumps({**msg, "schedule": {"0": 1}}).encode())[0].startswith(
        "malformed setpoints message: schedule must be a list"
    )
    no_list = {"plan_id": "p-13", "valid_until": iso(T0 + Q)}
    assert sp.receive(json.dumps(no_list).encode()) == [
        "malformed setpoints message: setpoints must be a list, not None"
    ]
    assert sp.receive(b"[1]") == [
        "malformed setpoints message: a setpoints message must be a JSON object"
    ]
    assert sp.receive(b"\xff{")[0].startswith("malformed setpoints message")
    assert sp.target("bess-1", "active_power_kw") == (-50.0, "plan")
    assert sp.status()["setpoints"][BESS]["plan_id"] == "p-9"

    # a message delivered late, its first interval over but its schedule not: the schedule counts
    late = {
        "plan_id": "p-12",
        "valid_until": iso(T0),
        "setpoints": _sp(-1.0),
        "schedule": [entry(T0, T0 + Q, -3.0)],
    }
    assert sp.receive(json.dumps(late).encode()) == []
    assert sp.target("bess-1", "active_power_kw") == (-3.0, "plan")
    # and it replaced the whole of p-9: p-9's later intervals are gone
    assert at(4 * Q + 1)[4 * Q + 1] == (0.0, "safe_default")
