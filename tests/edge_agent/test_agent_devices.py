"""A dead device is marked offline and recovers by itself; the others keep their rate.
Setpoints outside limits are refused; an expired plan falls back to the safe default."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from zctest_edge import FakeClock, SimThread, free_port, iso, write_gateway

from config import load_profile
from edge_agent.agent import Agent
from edge_agent.setpoints import SetpointManager
from edge_agent.simulate import DeviceSim, Faults


def _sim(
    name: str, profile: str, values: dict[str, float], faults: Faults | None = None
) -> DeviceSim:
    return DeviceSim(name, load_profile(profile), lambda: values, faults=faults or Faults())


def test_dead_device_goes_offline_others_keep_rate_and_it_recovers(tmp_path: Path) -> None:
    ports = [free_port() for _ in range(3)]
    faults = Faults()
    sims = [
        _sim("grid-main", "janitza-umg604", {"active_power_kw": 800.0}),
        _sim("aux-load", "chint-dtsu666", {"active_power_kw": 60.0}),
        _sim("pv-1", "sunspec-inverter-float", {"active_power_kw": 150.0}, faults),
    ]
    st = SimThread()
    for sim, port in zip(sims, ports, strict=True):
        st.serve(sim, port)
    interval = 0.2
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url="mqtt://127.0.0.1:1",  # no broker: data stays buffered
        devices=[
            {
                "meter": s.name,
                "bus": "lan",
                "port": p,
                "unit_id": 1,
                "profile": s.profile.name,
                "poll_interval_s": interval,
            }
            for s, p in zip(sims, ports, strict=True)
        ],
        buses=[
            {"name": "lan", "kind": "modbus_tcp", "host": "127.0.0.1", "port": 1, "timeout_s": 0.3}
        ],
    )
    agent = Agent(gw)
    stop = asyncio.Event()

    async def scenario() -> dict[str, Any]:
        task = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(1.0)
        base = {m: d.state.polls for m, d in agent.devices.items()}
        faults.drop = True  # pv-1 stops answering
        dropped_at = time.monotonic()
        offline_after = None
        while time.monotonic() - dropped_at < 5:
            if not agent.devices["pv-1"].state.online and offline_after is None:
                offline_after = time.monotonic() - dropped_at
            await asyncio.sleep(0.02)
        polls = {m: d.state.polls - base[m] for m, d in agent.devices.items()}
        status_dead = agent.status()
        faults.drop = False  # it comes back
        back_at = time.monotonic()
        while not agent.devices["pv-1"].state.online and time.monotonic() - back_at < 20:
            await asyncio.sleep(0.05)
        recovered_after = time.monotonic() - back_at
        stop.set()
        await task
        return {
            "offline_after": offline_after,
            "polls": polls,
            "status": status_dead,
            "recovered_after": recovered_after,
            "recovered": agent.devices["pv-1"].state.online,
        }

    try:
        r = st.run(scenario(), timeout=60)
    finally:
        st.close()
    # offline within 3 poll intervals (timeout 0.3 s plus the poll interval)
    assert r["offline_after"] is not None and r["offline_after"] <= 3 * interval + 0.3
    # the others kept their rate within 10 %: 5 s at 0.2 s is 25 polls
    expected = (5.0 + 0.02) / interval
    for meter in ("grid-main", "aux-load"):
        assert abs(r["polls"][meter] - expected) <= 0.1 * expected, r["polls"]
    assert r["status"]["offline"] == ["pv-1"] and r["status"]["devices_online"] == 2
    assert r["recovered"] and r["recovered_after"] < 12  # backoff is capped at 10 s


T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()  # pinned


def _plan(clock: FakeClock, valid_for_s: float, setpoints: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"plan_id": "p-1", "valid_until": iso(clock() + valid_for_s), "setpoints": setpoints}
    ).encode()


def test_setpoints_within_limits_and_safe_default_when_expired(tmp_path: Path) -> None:
    port = free_port()
    written: list[tuple[str, float]] = []
    sim = DeviceSim(
        "bess-1",
        load_profile("sma-storage-pcs"),
        lambda: {"active_power_kw": 0.0},
        on_setpoint=lambda n, v: written.append((n, v)),
    )
    st = SimThread()
    st.serve(sim, port)
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url="mqtt://127.0.0.1:1",
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
    agent = Agent(gw)
    clock = FakeClock(T0)
    sp = SetpointManager(agent.devices, agent.event, clock=clock)

    async def scenario() -> None:
        await agent.devices["bess-1"].poll_once()
        # outside the profile's limits [-2500, 2500]: refused, nothing written
        refused = sp.receive(
            _plan(clock, 60, [{"meter": "bess-1", "name": "active_power_kw", "value": -9000}])
        )
        assert refused and "outside the profile's limits" in refused[0]
        assert sp.receive(
            _plan(clock, 60, [{"meter": "grid-main", "name": "active_power_kw", "value": 1}])
        )
        assert sp.receive(
            _plan(clock, -5, [{"meter": "bess-1", "name": "active_power_kw", "value": 100}])
        )[0].endswith("ignored")
        # nothing valid in force: the safe default is written
        await sp.apply()
        assert written[-1] == ("active_power_kw", 0.0)
        assert sp.status()["setpoints"]["bess-1.active_power_kw"]["mode"] == "safe_default"
        # a valid plan is written
        assert (
            sp.receive(
                _plan(clock, 1.0, [{"meter": "bess-1", "name": "active_power_kw", "value": -500}])
            )
            == []
        )
        await sp.apply()
        assert written[-1] == ("active_power_kw", -500.0)
        assert sp.status()["setpoints"]["bess-1.active_power_kw"] == {
            "mode": "plan",
            "value": -500.0,
            "plan_id": "p-1",
            "holds_until": "2026-11-23T08:00:01Z",
        }
        # the plan expires: back to the safe default, and the status says so
        clock.advance(1.2)
        await sp.apply()
        assert written[-1] == ("active_power_kw", 0.0)
        assert sp.status()["setpoints"]["bess-1.active_power_kw"]["mode"] == "safe_default"
        assert sp.refused == 3
        for line in agent.lines.values():
            line.close()

    try:
        st.run(scenario(), timeout=30)
    finally:
        st.close()
    # SMA needs "control via communication" (40151 = 802) before each setpoint write
    assert sim.writes >= 2 * 3


def test_malformed_mqtt_meter_messages_are_counted_not_fatal() -> None:
    from config.gateway import Device
    from edge_agent.mqtt_meters import samples_from

    d = Device(
        meter="weather-1",
        bus="b",
        topic="t",
        fields={"irradiance_wm2": "/ghi", "wind_speed_ms": "/wind/speed"},
        timestamp_field="/ts",
    )
    ok = samples_from(d, b'{"ghi": 512.5, "wind": {"speed": 7.25}, "ts": "2026-11-23T08:00:00Z"}')
    assert [(s.quantity, s.value, s.ts) for s in ok] == [
        ("irradiance_wm2", 512.5, "2026-11-23T08:00:00.000Z"),
        ("wind_speed_ms", 7.25, "2026-11-23T08:00:00.000Z"),
    ]
    ms = samples_from(d, b'{"ghi": 1, "ts": 1795000000000}')
    assert ms[0].ts == "2026-11-18T11:06:40.000Z" and len(ms) == 1  # a missing field is skipped
    for bad in (b"{nope", b'{"ghi": "high", "ts": 1}', b'{"ghi": 1}'):
        with pytest.raises(ValueError):
            samples_from(d, bad)
