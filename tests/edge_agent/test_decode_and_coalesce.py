"""Every shipped profile reads back the values served, in as few requests as possible."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
import yaml
from zctest_edge import SimThread, free_port

from config import load_gateway, load_profile, shipped_profiles
from config.profile import MAX_REGISTERS_PER_READ, DeviceProfile
from edge_agent.buffer import Sample
from edge_agent.coalesce import plan_reads
from edge_agent.decode import decode, encode
from edge_agent.modbus import Line, ModbusDevice
from edge_agent.plausible import quality_of
from edge_agent.simulate import DeviceSim

TYPES = ["int16", "uint16", "int32", "uint32", "float32", "float64"]


@pytest.mark.parametrize(("dtype", "order"), list(itertools.product(TYPES, ["big", "little"])))
def test_encode_decode_roundtrip(dtype: str, order: str) -> None:
    for value in (0, 1, 123, 32767 if dtype != "uint16" else 65535):
        assert decode(encode(value, dtype, order), dtype, order) == value
    if dtype.startswith("int"):
        assert decode(encode(-321, dtype, order), dtype, order) == -321
    if dtype == "float32":
        assert decode(encode(812.5, dtype, order), dtype, order) == 812.5


def test_word_order_is_the_order_of_words() -> None:
    # 0x12345678 as uint32: big = high word first, little = low word first
    assert encode(0x12345678, "uint32", "big") == [0x1234, 0x5678]
    assert encode(0x12345678, "uint32", "little") == [0x5678, 0x1234]
    assert decode([0x5678, 0x1234], "uint32", "little") == 0x12345678


def minimal_requests(profile: DeviceProfile) -> int:
    """Independent count: dynamic programme over the sorted spans of each table."""
    total = 0
    by_table: dict[str, list[tuple[int, int]]] = {}
    for p in profile.points:
        by_table.setdefault(p.table, []).append((p.address, p.end))
        if p.scale_factor is not None:
            by_table.setdefault(p.scale_factor.table, []).append(
                (p.scale_factor.address, p.scale_factor.address + 1)
            )
    for spans in by_table.values():
        spans.sort()
        n = len(spans)
        best = [0] + [n + 1] * n  # best[i]: fewest requests covering spans[:i]
        for i in range(1, n + 1):
            for j in range(i):  # spans[j:i] in one request
                lo = spans[j][0]
                hi = max(e for _, e in spans[j:i])
                if hi - lo <= MAX_REGISTERS_PER_READ:
                    best[i] = min(best[i], best[j] + 1)
        total += best[n]
    return total


def _value_for(quantity: str, dtype: str, i: int) -> float:
    base = {"int16": 123, "uint16": 456, "int32": -70_000, "uint32": 70_000}.get(dtype, 812.5)
    return float(base + i)


def _variants() -> list[tuple[str, str]]:
    return [(p.stem, order) for p in shipped_profiles() for order in ("big", "little")]


@pytest.mark.parametrize(("name", "order"), _variants())
def test_profile_reads_back_served_values(tmp_path: Path, name: str, order: str) -> None:
    profile = load_profile(name)
    if order != profile.word_order:  # the same map with the other word order
        data = yaml.safe_load(Path(f"config/devices/{name}.yaml").read_text())
        data["word_order"] = order
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        profile = load_profile(path)
    # values exactly representable after scale: raw integers (or floats) times the scale
    wanted = {
        p.quantity: _value_for(p.quantity, p.type, i) * p.scale + p.offset
        for i, p in enumerate(profile.points)
    }
    sim = DeviceSim(name, profile, lambda: wanted, keep_served=True)
    sims = SimThread()
    port = free_port()
    try:
        sims.serve(sim, port)
        got: list[Sample] = []
        gw = load_gateway(_gateway(tmp_path, port, name))
        device = ModbusDevice(
            gw.devices[0],
            profile,
            Line("t", gw.buses[0], None, None),  # type: ignore[arg-type]
            got.extend,
            lambda k, m: None,
        )

        async def poll() -> bool:
            ok = await device.poll_once()
            device.line.close()
            return ok

        assert sims.run(poll())
    finally:
        sims.close()
    assert {s.quantity: s.value for s in got} == pytest.approx(sim.served[-1], rel=1e-6, abs=1e-9)
    assert {s.quantity for s in got} == {p.quantity for p in profile.points}
    # the served values are synthetic (812.5 Hz, a power factor of 812.5): good when plausible,
    # uncertain otherwise (edge_agent.plausible), never bad
    assert all(s.quality == quality_of(s.quantity, s.value) != "bad" for s in got)
    # requests counted at the server: no more than the minimum
    assert sim.reads == len(plan_reads(profile)) <= minimal_requests(profile)


def _gateway(tmp_path: Path, port: int, profile: str) -> Path:
    path = tmp_path / "gw.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "gateway": "gw-t",
                "park": "huolingol",
                "uplink": {"mqtt": "mqtt://127.0.0.1:1883"},
                "buffer": {"path": "b.sqlite"},
                "buses": [
                    {
                        "name": "lan",
                        "kind": "modbus_tcp",
                        "host": "127.0.0.1",
                        "port": port,
                        "timeout_s": 1.0,
                    }
                ],
                "devices": [{"meter": "m1", "bus": "lan", "unit_id": 1, "profile": profile}],
            }
        )
    )
    return path


def test_coalescing_counts_for_the_shipped_maps() -> None:
    assert len(plan_reads(load_profile("sma-storage-pcs"))) == 2  # 30595.. and 30775..30850
    assert len(plan_reads(load_profile("sunspec-inverter-int"))) == 1  # values and SFs, 37 regs
    assert len(plan_reads(load_profile("chint-dtsu666"))) == 2  # 0x2000 and 0x4000 blocks
    assert len(plan_reads(load_profile("eastron-sdm630"))) == 2  # 0x0006.. and U L1-L2 at 0x00C8
    _ = asyncio  # the module is used by the simulator thread
