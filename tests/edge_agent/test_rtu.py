"""Modbus RTU over a real serial line (a socat pty pair): two devices share the line, requests never
overlap and keep the bus's inter-request delay."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice
from zctest_edge import SimThread

from config import load_profile
from config.gateway import Device, ModbusRtuBus
from edge_agent.buffer import Sample
from edge_agent.modbus import Line, ModbusDevice
from edge_agent.simulate import DeviceSim


@pytest.mark.skipif(
    shutil.which("socat") is None, reason="needs socat (installed by .ci/system-deps.sh)"
)
def test_two_devices_share_an_rs485_line(tmp_path: Path) -> None:
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    socat = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    st = SimThread()
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        profile = load_profile("chint-dtsu666")
        arrivals: list[float] = []
        sim = DeviceSim("aux-load", profile, lambda: {"active_power_kw": 61.5, "voltage_v": 231.0})
        inner = sim.action

        async def action(*args, **kwargs):  # type: ignore[no-untyped-def]
            arrivals.append(time.monotonic())
            return await inner(*args, **kwargs)

        hr, ir = sim.blocks()
        device = SimDevice(
            0,
            simdata=([SimData(0, 1, 0, DataType.BITS)], [SimData(0, 1, 0, DataType.BITS)], hr, ir),
            action=action,
        )

        async def start() -> ModbusSerialServer:
            server = ModbusSerialServer(device, port=str(a), baudrate=38400)
            import asyncio

            asyncio.get_running_loop().create_task(server.serve_forever())
            await asyncio.sleep(0.5)
            return server

        server = st.run(start())
        st.servers.append(server)
        bus = ModbusRtuBus(
            kind="modbus_rtu",
            name="rs485-1",
            port=str(b),
            baudrate=38400,
            inter_request_delay_ms=30,
            timeout_s=1.0,
        )
        got: list[Sample] = []
        line = Line("rtu", bus, None, None)
        devices = [
            ModbusDevice(
                Device(meter=m, bus="rs485-1", unit_id=u, profile="chint-dtsu666"),
                profile,
                line,
                got.extend,
                lambda k, msg: None,
            )
            for m, u in (("aux-load", 7), ("aux-load-2", 8))
        ]

        async def poll() -> list[bool]:
            import asyncio

            results = []
            for _ in range(3):  # both devices at once, as their poll loops would
                results += await asyncio.gather(*(d.poll_once() for d in devices))
            line.close()
            return results

        assert all(st.run(poll()))
    finally:
        st.close()
        socat.terminate()
        socat.wait(5)
    power = [s.value for s in got if s.quantity == "active_power_kw"]
    assert power == pytest.approx([61.5] * 6, abs=1e-3)
    assert {s.meter for s in got} == {"aux-load", "aux-load-2"}
    # chint-dtsu666 needs 2 requests a poll: 12 requests, never closer than the 30 ms delay
    assert len(arrivals) == 12
    gaps = [y - x for x, y in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.025, gaps
