"""Device simulators: pymodbus servers that act as a park's meters, with realistic, time-varying
values, for the edge agent to read (``zcpark simulate PARK.yaml``).

Each metered device of the park gets a Modbus TCP server on ``--modbus-port-base + i`` (in the
order of the park file's meters) that answers any unit id. Values follow a park model: PV on a
clear-sky day shape with drifting clouds, wind through the turbines' power curve, loads with a
daily swing, a potline or battery that follows its written setpoint, and the grid meter closing
the balance. Faults can be injected per meter: drop out (no answer), answer slowly, or return a
Modbus exception code.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import math
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from config import DeviceProfile, Park, load_park, load_profile
from config.profile import Point
from edge_agent.decode import decode, encode

log = logging.getLogger("zcpark.simulate")
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_RANGE: dict[str, tuple[float, float]] = {
    "int16": (-32768, 32767),
    "uint16": (0, 65535),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


def raw_for(point: Point, value: float) -> tuple[float, int | None]:
    """Raw register value for ``value``, and the scale-factor exponent when the point has one."""
    base = (value - point.offset) / point.scale
    if point.scale_factor is None:
        if point.type in _RANGE:
            lo, hi = _RANGE[point.type]
            return float(min(max(round(base), lo), hi)), None
        return base, None
    lo, hi = _RANGE.get(point.type, (-(2.0**63), 2.0**63))
    for sf in range(-3, 10):  # the finest resolution that fits the type
        raw = round(base / 10.0**sf)
        if lo <= raw <= hi:
            return float(raw), sf
    return float(hi), 9


@dataclass
class Faults:
    drop: bool = False  # no answer at all (the client times out)
    delay_s: float = 0.0  # answer late
    exception: int | None = None  # answer with this Modbus exception code


@dataclass
class DeviceSim:
    """One simulated device: a register image for a profile, filled from ``values()`` on each read."""

    name: str
    profile: DeviceProfile
    values: Callable[[], dict[str, float]]
    on_setpoint: Callable[[str, float], None] = lambda name, value: None
    faults: Faults = field(default_factory=Faults)
    reads: int = 0
    writes: int = 0
    served: list[dict[str, float]] = field(default_factory=list)  # what each read returned
    keep_served: bool = False

    def blocks(self) -> tuple[list[SimData], list[SimData]]:
        spans: dict[str, list[int]] = {"holding": [], "input": []}
        for p in self.profile.points:
            spans[p.table] += [p.address, p.end]
            if p.scale_factor is not None:
                spans[p.scale_factor.table] += [p.scale_factor.address, p.scale_factor.address + 1]
        for s in self.profile.setpoints:
            spans["holding"] += [s.address, s.address + s.count]
            if s.enable is not None:
                spans["holding"] += [s.enable.address, s.enable.address + 2]
        out = []
        for table in ("holding", "input"):
            if spans[table]:
                lo, hi = min(spans[table]), max(spans[table])
                out.append([SimData(lo, hi - lo, 0, DataType.REGISTERS)])
            else:
                out.append([SimData(0, 1, 0, DataType.REGISTERS)])
        return out[0], out[1]

    def fill(self, table: str, start: int, regs: list[int]) -> None:
        values = self.values()
        served = {}
        for p in self.profile.points:
            if p.quantity not in values:
                continue
            raw, sf = raw_for(p, values[p.quantity])
            order = p.word_order or self.profile.word_order
            if p.table == table:
                words = encode(raw, p.type, order)
                for i, w in enumerate(words):
                    idx = p.address - start + i
                    if 0 <= idx < len(regs):
                        regs[idx] = w
            if p.scale_factor is not None and p.scale_factor.table == table:
                idx = p.scale_factor.address - start
                if 0 <= idx < len(regs):
                    regs[idx] = encode(sf or 0, "int16")[0]
            served[p.quantity] = raw * p.scale * (10.0**sf if sf is not None else 1) + p.offset
        if self.keep_served:
            self.served.append(served)

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        f = self.faults
        if f.drop:
            await asyncio.sleep(3600)
        if f.delay_s:
            await asyncio.sleep(f.delay_s)
        if f.exception is not None:
            return ExcCodes(f.exception)
        if function_code in (3, 4):
            self.reads += 1
            self.fill(
                "holding" if function_code == 3 else "input", start_address, current_registers
            )
        elif set_values is not None and function_code in (6, 16):
            self.writes += 1
            words = [int(v) for v in set_values]
            for sp in self.profile.setpoints:
                if address == sp.address and len(words) >= sp.count:
                    raw = decode(words, sp.type, sp.word_order or self.profile.word_order)
                    self.on_setpoint(sp.name, raw * sp.scale)
        return None


async def serve(sim: DeviceSim, port: int, host: str = "127.0.0.1") -> ModbusTcpServer:
    hr, ir = sim.blocks()
    device = SimDevice(
        0,
        simdata=([SimData(0, 1, 0, DataType.BITS)], [SimData(0, 1, 0, DataType.BITS)], hr, ir),
        action=sim.action,
    )
    server = ModbusTcpServer(device, address=(host, port))
    asyncio.get_running_loop().create_task(server.serve_forever())
    for _ in range(100):  # wait until it listens
        await asyncio.sleep(0.02)
        if server.transport is not None:
            break
    return server


class ParkModel:
    """The park's physics, advanced in real time (or by a clock given for tests)."""

    def __init__(self, park: Park, seed: int = 1, clock: Callable[[], float] = time.time) -> None:
        self.park = park
        self.clock = clock
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(park.timezone)
        self.cloud = 1.0
        self.last = clock()
        self.setpoints: dict[str, float] = {}
        self.soc: dict[str, float] = {
            a.id: getattr(a, "soc_initial", 0.5) for a in park.assets_of("storage")
        }
        self.storage_kw: dict[str, float] = {a.id: 0.0 for a in park.assets_of("storage")}
        self.counters: dict[tuple[str, str], tuple[float, float]] = {}  # (time, kWh)

    def _hour(self, t: float) -> float:
        d = datetime.fromtimestamp(t, self.tz)
        return d.hour + d.minute / 60 + d.second / 3600

    def step(self) -> float:
        now = self.clock()
        dt_h = max(0.0, now - self.last) / 3600
        self.last = now
        self.cloud = min(1.0, max(0.2, self.cloud + self.rng.gauss(0, 0.02)))
        for a in self.park.assets_of("storage"):
            target = self.setpoints.get(a.id, 0.0)
            p = min(max(target, -a.power_kw), a.power_kw)  # type: ignore[union-attr]
            soc = self.soc[a.id]
            if p > 0:
                soc -= p * dt_h / (a.discharge_efficiency * a.energy_kwh)  # type: ignore[union-attr]
            else:
                soc -= p * a.charge_efficiency * dt_h / a.energy_kwh  # type: ignore[union-attr]
            if not a.soc_min <= soc <= a.soc_max:  # type: ignore[union-attr]
                p = 0.0
                soc = min(max(soc, a.soc_min), a.soc_max)  # type: ignore[union-attr]
            self.soc[a.id], self.storage_kw[a.id] = soc, p
        return now

    def asset_power(self, asset_id: str, now: float) -> float:
        a = self.park.asset(asset_id)
        hour = self._hour(now)
        if a.kind == "pv":
            shape = max(0.0, math.sin((hour - 6) / 12 * math.pi))
            return a.capacity_kw * shape * self.cloud
        if a.kind == "wind":
            speed = self.wind_speed(now)
            curve = a.power_curve
            return a.turbines * float(np.interp(speed, curve.wind_speed_ms, curve.power_kw))
        if a.kind == "load":
            return a.nominal_kw * (0.9 + 0.1 * math.sin((hour - 8) / 24 * 2 * math.pi))
        if a.kind == "flexible_load":
            sp = self.setpoints.get(a.id)
            mid = (a.min_kw + a.max_kw) / 2
            return min(max(-sp, a.min_kw), a.max_kw) if sp is not None else mid
        if a.kind == "storage":
            return self.storage_kw[a.id]
        return 0.0

    def weather_forecast(
        self, start: float, hours: int = 48, step_s: int = 900
    ) -> list[dict[str, Any]]:
        """What a weather provider would forecast for this park from ``start`` (epoch s): the
        simulator's own irradiance (today's cloudiness held) and wind, as rows for a CSV feed."""
        rows = []
        first = start - start % step_s + step_s
        for i in range(hours * 3600 // step_s):
            t = first + i * step_s
            hour = self._hour(t)
            shape = max(0.0, math.sin((hour - 6) / 12 * math.pi))
            rows.append(
                {
                    "time": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ghi": round(1000 * shape * self.cloud, 1),
                    "temp_air": round(-5 + 8 * math.sin((hour - 9) / 24 * 2 * math.pi), 1),
                    "wind_speed": round(self.wind_speed(t), 2),
                }
            )
        return rows

    def wind_speed(self, now: float) -> float:
        return 8 + 3 * math.sin(now / 5400) + 1.5 * math.sin(now / 777)

    def grid_power(self, now: float) -> float:
        total = 0.0
        for a in self.park.assets:
            p = self.asset_power(a.id, now)
            if a.kind in ("pv", "wind", "storage"):
                total -= p
            elif a.kind in ("load", "flexible_load"):
                total += p
        return total

    def values(self, meter_id: str) -> dict[str, float]:
        now = self.step()
        meter = self.park.meter(meter_id)
        role = self.park.meter_role(meter)
        p = self.grid_power(now) if role == "grid" else self.asset_power(meter.asset, now)
        p *= meter.sign
        volts = 230.0
        out = {
            "active_power_kw": p,
            "reactive_power_kvar": 0.1 * p,
            "voltage_v": volts + self.rng.gauss(0, 0.5),
            "current_a": abs(p) * 1000 / (3 * volts),
            "frequency_hz": 50 + self.rng.gauss(0, 0.01),
            "power_factor": 0.98,
            "status_code": 1.0,
            "temperature_c": 5 + 10 * math.sin((self._hour(now) - 9) / 24 * 2 * math.pi),
            "wind_speed_ms": self.wind_speed(now),
            "wind_direction_deg": (270 + 20 * math.sin(now / 3000)) % 360,
            "irradiance_wm2": 1000
            * max(0.0, math.sin((self._hour(now) - 6) / 12 * math.pi))
            * self.cloud,
        }
        if role == "storage":
            out["soc_pct"] = self.soc[meter.asset] * 100
        for q, sign in (("energy_import_kwh", 1), ("energy_export_kwh", -1)):
            prev_t, level = self.counters.get((meter_id, q), (now, 1000.0))
            level += max(0.0, sign * p) * max(0.0, now - prev_t) / 3600
            self.counters[(meter_id, q)] = (now, level)
            out[q] = level
        return out


async def start_park(
    park: Park,
    port_base: int,
    faults: dict[str, Faults] | None = None,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
) -> tuple[ParkModel, dict[str, DeviceSim], list[ModbusTcpServer]]:
    model = ParkModel(park)
    sims: dict[str, DeviceSim] = {}
    servers = []
    for i, meter in enumerate(park.meters):
        profile = load_profile(meter.profile)

        def setpoint(name: str, value: float, asset: str = meter.asset) -> None:
            model.setpoints[asset] = value

        sim = DeviceSim(
            meter.id,
            profile,
            functools.partial(model.values, meter.id),
            setpoint,
            (faults or {}).get(meter.id, Faults()),
        )
        sims[meter.id] = sim
        servers.append(await serve(sim, (ports or {}).get(meter.id, port_base + i), host))
    return model, sims, servers


def run_simulator(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    park = load_park(Path(args.park))
    faults: dict[str, Faults] = {}
    for spec in getattr(args, "fault", None) or []:
        meter, _, kind = spec.partition("=")
        f = faults.setdefault(meter, Faults())
        if kind == "drop":
            f.drop = True
        elif kind.startswith("slow:"):
            f.delay_s = float(kind[5:]) / 1000
        elif kind.startswith("exception:"):
            f.exception = int(kind[10:])

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        _, sims, servers = await start_park(park, args.modbus_port_base, faults)
        for i, meter in enumerate(park.meters):
            log.info(
                "%-16s %-24s on 127.0.0.1:%d", meter.id, meter.profile, args.modbus_port_base + i
            )
        await stop.wait()
        for s in servers:
            await s.shutdown()  # type: ignore[no-untyped-call]
        del sims

    asyncio.run(main())
    return 0
