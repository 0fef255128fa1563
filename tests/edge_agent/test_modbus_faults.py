"""A Modbus device that answers with exception codes, with garbage, or 5 s late (issue #14),
against real pymodbus servers: the faulty device is marked offline (exception, late answer) or its
values uncertain/bad (garbage), each fault counted; the healthy devices, each on a line of its
own, keep their poll rate, and every read they served is one good sample in the buffer — none
lost, none twice. A late answer is never taken for the answer to a later request."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from zctest_edge import SimThread, free_port, write_gateway
from zctest_faulty_modbus import GarbageSim

from config import load_profile
from edge_agent.agent import Agent
from edge_agent.plausible import PLAUSIBLE
from edge_agent.simulate import Faults

INTERVAL_S = 0.2
HEALTHY = ("grid-main", "aux-load")


def test_exceptions_garbage_and_a_slow_device_leave_the_others_whole(tmp_path: Path) -> None:
    faults = Faults()
    values = {
        "voltage_v": 10_400.0,
        "current_a": 52.0,
        "active_power_kw": 800.0,
        "reactive_power_kvar": 90.0,
        "power_factor": 0.99,
        "frequency_hz": 50.0,
        "energy_import_kwh": 12_000.0,
        "energy_export_kwh": 3.0,
    }
    sims = {
        "grid-main": GarbageSim("grid-main", load_profile("janitza-umg604"), lambda: values),
        "aux-load": GarbageSim("aux-load", load_profile("chint-dtsu666"), lambda: values),
        "pv-meter": GarbageSim(
            "pv-meter", load_profile("janitza-umg604"), lambda: values, faults=faults
        ),
    }
    faulty = sims["pv-meter"]
    ports = {m: free_port() for m in sims}
    st = SimThread()
    for m, sim in sims.items():
        st.serve(sim, ports[m])
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url="mqtt://127.0.0.1:1",  # no broker: everything stays in the buffer
        devices=[
            {
                "meter": m,
                "bus": "lan",
                "port": ports[m],
                "unit_id": 1,
                "profile": s.profile.name,
                "poll_interval_s": INTERVAL_S,
            }
            for m, s in sims.items()
        ],
        buses=[
            {"name": "lan", "kind": "modbus_tcp", "host": "127.0.0.1", "port": 1, "timeout_s": 1.0}
        ],
    )
    agent = Agent(gw)
    stop = asyncio.Event()
    seen: dict[str, Any] = {}

    async def phase(name: str, seconds: float) -> None:
        start = {m: d.state.polls for m, d in agent.devices.items()}
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        took = time.monotonic() - t0
        seen[name] = {
            "polls": {m: d.state.polls - start[m] for m, d in agent.devices.items()},
            "seconds": took,
            "online": agent.devices["pv-meter"].state.online,
        }

    async def scenario() -> dict[str, Any]:
        task = asyncio.create_task(agent.run(stop))
        await phase("normal", 1.0)
        faults.exception = 4  # server device failure
        await phase("exception", 2.0)
        faults.exception = None
        await phase("recover-1", 1.5)
        faulty.garbage_word = 0x7F7F  # 3.4e38 in every float
        await phase("garbage", 1.5)
        faulty.garbage_word = 0xFFFF  # NaN in every float
        await phase("nan", 1.5)
        faulty.garbage_word = None
        faults.delay_s = 5.0  # answers, but 5 s late (timeout 1 s)
        await phase("slow", 6.0)
        faults.delay_s = 0.0
        await phase("recover-2", 12.0)  # backoff is capped at 10 s
        status = agent.status()
        stop.set()
        await task
        return status

    try:
        status = st.run(scenario(), timeout=120)
    finally:
        st.close()

    # the faulty device: offline on exceptions and late answers, back by itself each time
    assert seen["normal"]["online"] and seen["recover-1"]["online"] and seen["recover-2"]["online"]
    assert not seen["exception"]["online"] and not seen["slow"]["online"]
    assert seen["garbage"]["online"] and seen["nan"]["online"]  # it answers: values are suspect
    faults_counted = status["device_faults"]["pv-meter"]
    assert faults_counted["exceptions"] >= 1 and faults_counted["timeouts"] >= 1
    assert faults_counted["implausible"] >= 8  # 8 points of at least one garbage read
    assert "pv-meter" not in status["offline"]

    # the healthy devices kept their rate in every phase, the slow one's included (within 15 %)
    for name, ph in seen.items():
        for m in HEALTHY:
            expected = ph["seconds"] / INTERVAL_S
            assert ph["polls"][m] >= 0.85 * expected, (name, m, ph)

    buffer = sqlite3.connect(tmp_path / "buffer.sqlite")
    rows = buffer.execute("SELECT meter, quantity, ts, value, quality FROM sample").fetchall()
    # every read a healthy device served is one good sample of each point: none lost, none twice
    for m in HEALTHY:
        device = agent.devices[m]
        mine = [r for r in rows if r[0] == m]
        assert all(q == "good" for *_, q in mine)
        for quantity in values:
            got = [(ts, v) for mm, qq, ts, v, _ in mine if qq == quantity]
            assert len(got) == len({ts for ts, _ in got}) == sims[m].reads // len(device.blocks)
            assert all(math.isclose(v, values[quantity], rel_tol=1e-5) for _, v in got)
    # the faulty device: nothing stored as good that was not what it measured
    fr = [r for r in rows if r[0] == "pv-meter"]
    for _, quantity, _, value, quality in fr:
        assert math.isfinite(value)
        if quality == "good":
            assert math.isclose(value, values[quantity], rel_tol=1e-5), (quantity, value)
    qualities = {q for *_, q in fr}
    assert qualities == {"good", "uncertain", "bad"}
    uncertain = [(q, v) for _, q, _, v, quality in fr if quality == "uncertain"]
    assert uncertain and all(not PLAUSIBLE[q][0] <= v <= PLAUSIBLE[q][1] for q, v in uncertain)
