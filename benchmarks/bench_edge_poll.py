"""Edge polling throughput: the agent's full poll path against a bare pymodbus read loop.

Against the same pymodbus server (a simulated device of a shipped profile), in the same run:
- ours: ``ModbusDevice.poll_once`` — coalesced reads through the line's lock, decoding, scaling,
  samples written durably to the SQLite buffer (group commit, as the agent runs it);
- bare: ``read_holding_registers``/``read_input_registers`` of the same blocks in a loop, nothing
  decoded or stored.
The device runs in a process of its own; the two loops alternate, medians of ``--rounds``.
Both count samples (points) per second. Goal: ours / bare >= 0.7. Also prints, for every shipped
profile, the points and the requests one poll cycle makes (coalescing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from config import load_profile, shipped_profiles
from config.gateway import Device, ModbusTcpBus
from edge_agent.buffer import Buffer, SampleSink
from edge_agent.coalesce import plan_reads
from edge_agent.modbus import Line, ModbusDevice
from edge_agent.simulate import DeviceSim, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_forever(profile_name: str, port: int) -> None:
    """The device, in a process of its own as a real device would be."""
    profile = load_profile(profile_name)
    values = {p.quantity: 100.0 for p in profile.points}

    async def run() -> None:
        await serve(DeviceSim(profile_name, profile, lambda: values), port)
        await asyncio.Event().wait()

    asyncio.run(run())


async def bare_loop(port: int, profile_name: str, polls: int) -> float:
    profile = load_profile(profile_name)
    blocks = plan_reads(profile)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2)
    await client.connect()
    started = time.perf_counter()
    for _ in range(polls):
        for b in blocks:
            if b.table == "holding":
                await client.read_holding_registers(b.start, count=b.count, device_id=1)
            else:
                await client.read_input_registers(b.start, count=b.count, device_id=1)
    elapsed = time.perf_counter() - started
    client.close()
    return polls * len(profile.points) / elapsed


async def our_loop(port: int, profile_name: str, polls: int) -> float:
    profile = load_profile(profile_name)
    tmp = Path(tempfile.mkdtemp())
    buffer = Buffer(tmp / "b.sqlite", max_mb=100)
    sink = SampleSink(buffer)
    bus = ModbusTcpBus(kind="modbus_tcp", name="lan", host="127.0.0.1", port=port, timeout_s=2)
    device = ModbusDevice(
        Device(meter="m", bus="lan", unit_id=1, profile=profile_name),
        profile,
        Line("bench", bus, None, None),
        sink.emit,
        lambda k, m: None,
    )
    done = asyncio.Event()

    async def flusher() -> None:  # as the agent runs it: every 20 ms, in a worker thread
        sink.background = True
        while not done.is_set():
            await asyncio.sleep(sink.max_delay_s)
            if sink.pending:
                await asyncio.to_thread(sink.flush)

    task = asyncio.create_task(flusher())
    started = time.perf_counter()
    for _ in range(polls):
        assert await device.poll_once()
    done.set()
    await task
    sink.flush()
    elapsed = time.perf_counter() - started
    assert buffer.stats()["queue_samples"] == polls * len(profile.points)
    device.line.close()
    buffer.close()
    return polls * len(profile.points) / elapsed


def measure(profile_name: str, polls: int, rounds: int) -> tuple[float, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", profile_name, str(port)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        ours, bare = [], []
        for _ in range(rounds):  # alternate, so that both see the same machine
            bare.append(asyncio.run(bare_loop(port, profile_name, polls)))
            ours.append(asyncio.run(our_loop(port, profile_name, polls)))
        return statistics.median(ours), statistics.median(bare)
    finally:
        proc.terminate()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", nargs=2, metavar=("PROFILE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve[0], int(args.serve[1]))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'profile':>24} {'points':>6} {'requests':>8} {'ours /s':>10} {'bare /s':>10} {'ratio':>6}"
    )
    for name in ("janitza-umg604", "sma-storage-pcs", "sunspec-inverter-int"):
        ours, bare = measure(name, args.polls, args.rounds)
        points, requests = len(load_profile(name).points), len(plan_reads(load_profile(name)))
        print(
            f"{name:>24} {points:>6} {requests:>8} {ours:>10,.0f} {bare:>10,.0f} {ours / bare:>6.2f}"
        )
    print("goal: ratio >= 0.7")
    print()
    print("coalescing: requests per poll cycle for every shipped profile")
    for path in shipped_profiles():
        profile = load_profile(path.stem)
        blocks = plan_reads(profile)
        registers = sum(b.count for b in blocks)
        print(
            f"{path.stem:>24} {len(profile.points):>3} points -> {len(blocks)} requests "
            f"({registers} registers)"
        )


if __name__ == "__main__":
    main()
