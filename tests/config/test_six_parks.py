"""The six shipped parks are complete: enterprises, one primary meter per asset, budgets and targets,
the assumptions labelled; and each one simulates - ``zcpark simulate PARK.yaml`` serves a Modbus
register of every meter, and stops cleanly on SIGINT."""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from config import load_gateway, load_park, load_profile, shipped_parks
from config.profile import REGISTER_COUNT
from edge_agent.decode import decode, scaled

ROOT = Path(__file__).resolve().parents[2]
PARKS = sorted(shipped_parks(), key=lambda p: p.stem)


@pytest.mark.parametrize("path", PARKS, ids=lambda p: p.stem)
def test_park_is_complete(path: Path) -> None:
    park = load_park(path)
    text = path.read_text()
    assert park.league, "the league line stays"
    assert park.enterprises, "tenants with their meters"
    assert park.carbon_budget_t_per_year and park.energy_budget_tce_per_year
    assert park.green_share_target is not None
    assert park.grid.voltage_kv is not None
    assert "Assumed by zcpark" in text and "Public" in text  # every figure says where it is from
    # one primary meter per asset that carries power, and for the grid connection
    for asset_id in [park.grid.id] + [a.id for a in park.assets if a.kind != "weather"]:
        primaries = [m for m in park.meters if m.asset == asset_id and m.duty == "primary"]
        assert len(primaries) == 1, (park.id, asset_id)
    # every primary meter but the grid's belongs to an enterprise; check meters have a primary
    owned = {m for e in park.enterprises for m in e.meters}
    for m in park.meters:
        if m.duty == "primary" and m.asset != park.grid.id and park.meter_role(m) != "weather":
            assert m.id in owned, (park.id, m.id)
    assert any(m.duty == "check" for m in park.meters), "a check meter where a park has one"
    # a gateway file for the park, matching `zcpark simulate`'s ports and the park's profiles
    gateways = [load_gateway(p) for p in sorted((ROOT / "config" / "gateways").glob("*.yaml"))]
    mine = [g for g in gateways if g.park == park.id]
    assert mine, park.id
    served = {m.id: (15020 + i, m.profile) for i, m in enumerate(park.meters)}
    for d in mine[0].devices:
        if d.port is not None:
            assert served[d.meter] == (d.port, d.profile), (park.id, d.meter)


def _free_base(n: int) -> int:
    for base in range(21000, 60000, 97):
        ok = True
        for port in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def _read_one(port: int, profile_name: str) -> float:
    """The meter's active power (or its first point), read and decoded as a gateway would."""
    profile = load_profile(profile_name)
    point = next((p for p in profile.points if p.quantity == "active_power_kw"), profile.points[0])
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
    try:
        assert client.connect(), port  # type: ignore[no-untyped-call]
        read = (
            client.read_holding_registers
            if point.table == "holding"
            else client.read_input_registers
        )
        rr = read(point.address, count=REGISTER_COUNT[point.type], device_id=1)
        assert not rr.isError(), (port, rr)
        sf = None
        if point.scale_factor is not None:
            sf_read = client.read_holding_registers(
                point.scale_factor.address, count=1, device_id=1
            )
            sf = int(decode(sf_read.registers, "int16"))
        raw = decode(rr.registers, point.type, point.word_order or profile.word_order)
        return scaled(raw, point.scale, point.offset, sf)
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("path", PARKS, ids=lambda p: p.stem)
def test_zcpark_simulate_serves_every_meter(path: Path) -> None:
    park = load_park(path)
    base = _free_base(len(park.meters))
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "zcpark"),
            "simulate",
            str(path),
            "--modbus-port-base",
            str(base),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        last = base + len(park.meters) - 1
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", last)) == 0:
                    break
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)
        values = {m.id: _read_one(base + i, m.profile) for i, m in enumerate(park.meters)}
        time.sleep(1.0)
        again = {m.id: _read_one(base + i, m.profile) for i, m in enumerate(park.meters)}
    finally:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, proc.stdout.read().decode() if proc.stdout else ""
    for m in park.meters:
        role = park.meter_role(m)
        if role in ("load", "flexible_load"):
            assert values[m.id] > 0, (park.id, m.id, values[m.id])  # consuming: + (DESIGN §2)
        if role in ("pv", "wind"):
            assert values[m.id] >= 0, (park.id, m.id)
        if role == "grid":
            # a grid meter may read exactly 0 (renewables above the load, export curtailed at an
            # anti-reverse-flow connection), whatever the hour the test runs at
            assert math.isfinite(values[m.id]), (park.id, m.id)
    assert values != again, park.id  # alive: the park's meters move from one read to the next
