"""Device simulators: pymodbus servers that act as a park's meters, with believable,
time-varying values, for the edge agent to read (``zcpark simulate PARK.yaml``).

Each metered device of the park gets a Modbus TCP server on ``--modbus-port-base + i`` (in the
order of the park file's meters) that answers any unit id. Values follow a park model
(docs/simulator.md): the sun from pvlib's solar position and clear sky for the park's place and
day, clouds on top, PV through plane-of-array irradiance and a temperature derate, wind through
each farm's power curve, loads with a daily swing, batteries and potlines that follow their
written setpoints within their limits, the grid meter closing the balance; every energy counter
the integral of its meter's power, voltages and currents of the meter's connection. Faults can be
injected per meter: drop out (no answer), answer slowly, or return a Modbus exception code.
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
from config.park import FlexibleLoadAsset, LoadAsset, Meter, PvAsset, StorageAsset, WindAsset
from config.profile import Point
from config.quantities import COUNTER_QUANTITIES
from edge_agent.decode import decode, encode
from edge_agent.physics import (
    KASTEN_A,
    KASTEN_B,
    PV_DC_AC_RATIO,
    PvSpec,
    Site,
    Weather,
    WindSpec,
)

log = logging.getLogger("zcpark.simulate")
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_RANGE: dict[str, tuple[float, float]] = {
    "int16": (-32768, 32767),
    "uint16": (0, 65535),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


def raw_for(point: Point, value: float) -> tuple[float, int | None]:
    """Raw register value for ``value``, and the scale-factor exponent when the point has one.
    An integer energy counter wraps at its register's range, as a meter's counter rolls over;
    other integers saturate."""
    base = (value - point.offset) / point.scale
    if point.scale_factor is None:
        if point.type in _RANGE:
            lo, hi = _RANGE[point.type]
            if point.quantity in COUNTER_QUANTITIES and lo == 0:
                return float(round(base) % (hi + 1)), None
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


#: integration step of the park's state (storage, ramps, counters) [s]
SUBSTEP_S = 10.0
#: a potline rectifier's AC-to-DC efficiency (transformer and rectifier losses; assumed)
RECTIFIER_ETA = 0.985
#: a potline's cell voltage at zero current over its nominal cell voltage (back EMF about
#: 1.65 V of about 4.1 V per cell): U/U_nom = a + (1 - a) I/I_nom
POTLINE_BACK_EMF_FRACTION = 0.4
#: nominal power factor of each kind of flow (grid-code operation of plants, compensated loads)
POWER_FACTOR = {
    "pv": 0.99,
    "wind": 0.98,
    "direct_green": 0.98,
    "storage": 0.995,
    "load": 0.93,
    "potline": 0.95,
    "electrolyser": 0.97,
    "other": 0.94,
}
#: power factor at the grid connection, held by the park's reactive compensation (the tariff's
#: power-factor adjustment asks a large industrial user for 0.90 or better)
GRID_POWER_FACTOR = 0.97
#: standard voltage levels [kV] by the rating of the flow [kW], for meters without voltage_kv
VOLTAGE_LEVELS_KV = (
    (400.0, 0.4),
    (8_000.0, 10.0),
    (40_000.0, 35.0),
    (250_000.0, 110.0),
    (800_000.0, 220.0),
)
#: counters that count the energy a producer delivers (pv, wind, storage, direct_green):
#: energy_export_kwh; the energy a consumer takes (grid = the park, load, flexible_load):
#: energy_import_kwh; the reverse flow goes to the other counter (docs/simulator.md)
PRODUCERS = frozenset({"pv", "wind", "storage", "direct_green"})
CONSUMERS = frozenset({"grid", "load", "flexible_load"})


def default_voltage_kv(rating_kw: float) -> float:
    """The standard level a flow of ``rating_kw`` is usually connected at [kV, line-to-line]."""
    for limit, kv in VOLTAGE_LEVELS_KV:
        if rating_kw <= limit:
            return kv
    return 500.0


@dataclass
class MeterState:
    meter: Meter
    role: str
    kind: str  # the asset's kind, or the flexible load's type (potline, electrolyser)
    rating_kw: float
    voltage_kv: float
    dc: bool
    ac_side: bool  # a potline meter on the AC side of the rectifier
    gain: float  # 1 for a primary meter; a check meter's small calibration error
    import_kwh: float
    export_kwh: float


class ParkModel:
    """The park's physics (docs/simulator.md), advanced to ``clock()`` on every read.

    Plants (PV, wind) and loads are functions of time (edge_agent.physics); storage and flexible
    loads follow the setpoints written to them within their limits; the grid meter closes the
    balance. Every state is integrated in steps of at most SUBSTEP_S, and every energy counter is
    the integral of its meter's active power.
    """

    def __init__(
        self,
        park: Park,
        seed: int = 1,
        clock: Callable[[], float] = time.time,
        clouds: bool = True,
    ) -> None:
        self.park = park
        self.seed = seed
        self.clock = clock
        self.tz = ZoneInfo(park.timezone)
        pv = [
            PvSpec(
                a.id,
                a.capacity_kw,
                a.capacity_dc_kw or a.capacity_kw * PV_DC_AC_RATIO,
                a.tilt_deg,
                a.azimuth_deg,
            )
            for a in park.assets
            if isinstance(a, PvAsset)
        ]
        wind = [
            WindSpec(
                a.id,
                a.turbines,
                a.hub_height_m,
                tuple(a.power_curve.wind_speed_ms),
                tuple(a.power_curve.power_kw),
            )
            for a in park.assets
            if isinstance(a, WindAsset)
        ]
        loc = park.location
        self.weather = Weather(
            Site(park.id, loc.lat, loc.lon, loc.altitude_m, seed, clouds), pv, wind
        )
        self.t = clock()
        self.setpoints: dict[str, float] = {}
        self.soc: dict[str, float] = {a.id: a.soc_initial for a in park.storage}
        self.storage_kw: dict[str, float] = {a.id: 0.0 for a in park.storage}
        self.flex_kw: dict[str, float] = {a.id: self._nominal_flex(a) for a in park.flexible_loads}
        rng = random.Random(f"{park.id}/{seed}/counters")
        self.meters: dict[str, MeterState] = {}
        for m in park.meters:
            role = park.meter_role(m)
            if role == "weather":
                continue
            rating, kind = self._rating(m.asset, role)
            dc = m.circuit == "dc"
            kv = m.voltage_kv
            if kv is None:
                kv = park.grid.voltage_kv if role == "grid" else None
            if kv is None:
                kv = 1.2 if dc else default_voltage_kv(rating)
            gain = 1.0 if m.duty == "primary" else 1.0 + rng.uniform(-0.003, 0.003)
            ac_side = kind == "potline" and not dc
            hours = rng.uniform(100, 1000)  # the meter's reading when the simulator starts
            forward, reverse = rating * hours, rating * rng.uniform(0.0, 2.0)
            if role in PRODUCERS:
                imp, exp = reverse, forward
            else:
                imp, exp = forward, reverse
            self.meters[m.id] = MeterState(m, role, kind, rating, kv, dc, ac_side, gain, imp, exp)

    # -- configuration helpers ---------------------------------------------------------
    @staticmethod
    def _nominal_flex(a: FlexibleLoadAsset) -> float:
        if a.daily_energy_kwh is not None:
            return a.daily_energy_kwh / 24
        return (a.min_kw + a.max_kw) / 2

    def _rating(self, asset_id: str, role: str) -> tuple[float, str]:
        if role == "grid":
            return self.park.grid.import_limit_kw, "grid"
        a = self.park.asset(asset_id)
        if isinstance(a, FlexibleLoadAsset):
            return self._nominal_flex(a), a.type
        if isinstance(a, StorageAsset):
            return a.power_kw, "storage"
        if isinstance(a, LoadAsset):
            return a.nominal_kw, "load"
        cap = getattr(a, "capacity_kw", None)
        return float(cap or 1.0), a.kind

    def _hour(self, t: float) -> float:
        d = datetime.fromtimestamp(t, self.tz)
        return d.hour + d.minute / 60 + d.second / 3600

    # -- flows -------------------------------------------------------------------------
    def _free(self, ts: np.ndarray) -> dict[str, np.ndarray]:
        """Power of the assets that follow the weather and the clock, §2 signs [kW]: plants
        (available power, before any curtailment) and inflexible loads."""
        w = self.weather
        out: dict[str, np.ndarray] = {}
        for a in self.park.assets:
            if a.kind == "pv":
                out[a.id] = w.series(f"pv/{a.id}", ts)
            elif a.kind == "wind":
                out[a.id] = w.series(f"wind/{a.id}", ts)
            elif a.kind == "direct_green":  # a remote wind-dominated plant on a dedicated line
                v = w.wind_ref_ms(ts, a.id, gusts=False)
                out[a.id] = float(getattr(a, "capacity_kw", 0.0)) * np.clip((v / 12.0) ** 3, 0, 1)
            elif isinstance(a, LoadAsset):
                hours = np.array([self._hour(float(t)) for t in np.atleast_1d(ts)])
                daily = 0.93 + 0.07 * np.sin((hours - 8) / 24 * 2 * math.pi)
                noise = w.noise(f"load/{a.id}", ts, 900)
                out[a.id] = a.nominal_kw * daily * (1 + 0.01 * noise)
        return out

    def _balance(
        self, free: dict[str, np.ndarray], ctrl: dict[str, np.ndarray | float]
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each asset's delivered or consumed power and the grid's (§2 signs, kW), with the
        renewables curtailed when the grid connection would otherwise export beyond its limit."""
        flows: dict[str, np.ndarray] = {}
        curtailable: np.ndarray | float = 0.0
        net: np.ndarray | float = 0.0
        for a in self.park.assets:
            if a.id in free:
                p = free[a.id]
            elif a.id in ctrl:
                p = np.asarray(ctrl[a.id], dtype=float)
            else:
                continue
            flows[a.id] = p
            if a.kind in PRODUCERS:
                net = net - p
                if a.kind != "storage" and getattr(a, "curtailable", False):
                    curtailable = curtailable + p
            elif isinstance(a, FlexibleLoadAsset) and a.type == "potline":
                net = net + p / RECTIFIER_ETA  # the grid feeds the rectifier's AC side
            else:
                net = net + p
        floor = -self.park.grid.export_limit_kw
        deficit = np.maximum(floor - np.asarray(net, dtype=float), 0.0)
        curtailable = np.asarray(curtailable, dtype=float) * np.ones_like(deficit)
        if np.any(deficit > 0) and np.any(curtailable > 0):
            cut = np.minimum(deficit, curtailable)
            factor = 1 - np.divide(cut, curtailable, out=np.zeros_like(cut), where=curtailable > 0)
            for a in self.park.renewables:
                if a.curtailable:
                    flows[a.id] = flows[a.id] * factor
            net = np.asarray(net, dtype=float) + cut
        return flows, np.asarray(net, dtype=float)

    def _meter_power(
        self, ms: MeterState, flows: dict[str, np.ndarray], grid: np.ndarray
    ) -> np.ndarray:
        """The meter's active power in §2's sign for its role (before the meter's own sign)."""
        p = grid if ms.role == "grid" else flows.get(ms.meter.asset, np.zeros_like(grid))
        if ms.ac_side:
            p = p / RECTIFIER_ETA
        return p * ms.gain

    # -- time --------------------------------------------------------------------------
    def set_setpoint(self, asset_id: str, value: float) -> None:
        """A setpoint written to the asset's device (+ discharge/generate, − charge/consume)."""
        self.advance(self.clock())
        self.setpoints[asset_id] = value

    def advance(self, now: float) -> None:
        """Integrate the park's state from ``self.t`` to ``now`` in steps of at most SUBSTEP_S."""
        if now <= self.t:
            return
        n = max(1, math.ceil((now - self.t) / SUBSTEP_S))
        ts = np.linspace(self.t, now, n + 1)
        dt_h = np.diff(ts) / 3600
        free = self._free(ts)
        free_mean = {k: (v[:-1] + v[1:]) / 2 for k, v in free.items()}
        ctrl: dict[str, np.ndarray | float] = {}
        for a in self.park.storage:
            ctrl[a.id] = self._integrate_storage(a, dt_h)
        for f in self.park.flexible_loads:
            ctrl[f.id] = self._integrate_flex(f, dt_h)
        flows, grid = self._balance(free_mean, ctrl)
        for ms in self.meters.values():
            p = self._meter_power(ms, flows, grid)
            forward = float(np.sum(np.maximum(p, 0.0) * dt_h))
            reverse = float(np.sum(np.maximum(-p, 0.0) * dt_h))
            if ms.role in PRODUCERS:
                ms.export_kwh += forward
                ms.import_kwh += reverse
            else:
                ms.import_kwh += forward
                ms.export_kwh += reverse
        self.t = now

    def _integrate_storage(self, a: StorageAsset, dt_h: np.ndarray) -> np.ndarray:
        """Power held over each step [kW, + discharge]: the setpoint within ±power_kw, reduced
        so that the state of charge stays within [soc_min, soc_max]."""
        out = np.empty_like(dt_h)
        target = min(max(self.setpoints.get(a.id, 0.0), -a.power_kw), a.power_kw)
        soc = self.soc[a.id]
        for k, h in enumerate(dt_h):
            if target > 0:
                deliverable = max(soc - a.soc_min, 0.0) * a.energy_kwh * a.discharge_efficiency
                p = min(target, deliverable / h) if h > 0 else target
                soc -= p * h / (a.discharge_efficiency * a.energy_kwh)
            elif target < 0:
                room = max(a.soc_max - soc, 0.0) * a.energy_kwh / a.charge_efficiency
                p = max(target, -room / h) if h > 0 else target
                soc -= p * h * a.charge_efficiency / a.energy_kwh
            else:
                p = 0.0
            out[k] = p
        self.soc[a.id] = min(max(soc, a.soc_min), a.soc_max)
        self.storage_kw[a.id] = float(out[-1])
        return out

    def _integrate_flex(self, f: FlexibleLoadAsset, dt_h: np.ndarray) -> np.ndarray:
        """Power over each step [kW, + consume]: towards −setpoint within [min_kw, max_kw],
        moving at most ramp_kw_per_interval per 15 minutes."""
        out = np.empty_like(dt_h)
        sp = self.setpoints.get(f.id)
        target = self._nominal_flex(f) if sp is None else -sp
        target = min(max(target, f.min_kw), f.max_kw)
        p = self.flex_kw[f.id]
        for k, h in enumerate(dt_h):
            step = f.ramp_kw_per_interval * h * 4  # per 15 min = per 0.25 h
            p += min(max(target - p, -step), step)
            out[k] = p
        self.flex_kw[f.id] = p
        return out

    def step(self) -> float:
        now = self.clock()
        self.advance(now)
        return now

    # -- what the devices show ----------------------------------------------------------
    def asset_power(self, asset_id: str, now: float | None = None) -> float:
        """The asset's power at ``now`` (after curtailment), §2 signs [kW]."""
        flows, _ = self._instant(self.t if now is None else now)
        return float(flows[asset_id][0]) if asset_id in flows else 0.0

    def grid_power(self, now: float | None = None) -> float:
        _, grid = self._instant(self.t if now is None else now)
        return float(grid[0])

    def _instant(self, now: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
        ts = np.array([now])
        ctrl: dict[str, np.ndarray | float] = {a: np.array([p]) for a, p in self.storage_kw.items()}
        ctrl.update({a: np.array([p]) for a, p in self.flex_kw.items()})
        free = self._free(ts)
        flows, grid = self._balance(free, ctrl)
        return {**flows, **{f"available/{k}": v for k, v in free.items()}}, grid

    def _reactive(self, ms: MeterState, p: float, now: float) -> float:
        """Reactive power [kvar] in the meter's sign: consumed by loads, delivered by plants."""
        if ms.dc:
            return 0.0
        if ms.role != "grid":
            pf = POWER_FACTOR.get(ms.kind, 0.95)
            pf += 0.004 * float(self.weather.noise(f"pf/{ms.meter.id}", np.array([now]), 600)[0])
            return p * math.tan(math.acos(min(pf, 0.9999)))
        # the park's reactive compensation (SVC/SVG) holds the connection near GRID_POWER_FACTOR
        pf = GRID_POWER_FACTOR + 0.01 * float(
            self.weather.noise("pf/grid", np.array([now]), 900)[0]
        )
        return abs(p) * math.tan(math.acos(pf))

    def values(self, meter_id: str) -> dict[str, float]:
        now = self.step()
        meter = self.park.meter(meter_id)
        w = self.weather
        temp = w.at("temp_air", now)
        out: dict[str, float] = {
            "temperature_c": temp,
            "irradiance_wm2": w.at("ghi", now),
            "wind_speed_ms": w.at("wind10", now),
            "wind_direction_deg": float(w.wind_direction_deg(np.array([now]))[0]),
            "status_code": 1.0,
        }
        pv_ids = [p for p in w.pv]
        out["irradiance_poa_wm2"] = (
            w.at(f"poa/{pv_ids[0]}", now) if pv_ids else out["irradiance_wm2"]
        )
        ms = self.meters.get(meter_id)
        if ms is None:  # a weather station
            return out
        flows, grid = self._instant(now)
        p = float(self._meter_power(ms, flows, grid)[0])
        q = self._reactive(ms, p, now)
        noise = w.noise(f"volt/{meter_id}", np.array([now]), 1800)[0]
        fast = w.noise(f"volt-fast/{meter_id}", np.array([now]), 30)[0]
        if ms.dc:
            x = self._potline_current_fraction(p, ms.rating_kw)
            u = (
                ms.voltage_kv
                * 1000
                * (POTLINE_BACK_EMF_FRACTION + (1 - POTLINE_BACK_EMF_FRACTION) * x)
            )
            i = p * 1000 / u if u > 0 else 0.0
            pf = 1.0
        else:
            u = ms.voltage_kv * 1000 * (1 + 0.01 * noise + 0.002 * fast)
            s = math.hypot(p, q)
            pf = abs(p) / s if s > 0 else 1.0
            i = s * 1000 / (math.sqrt(3) * u)
        f = (
            50
            + 0.03 * w.noise("freq", np.array([now]), 300)[0]
            + 0.01 * w.noise("freq-fast", np.array([now]), 10)[0]
        )
        imp, exp = ms.import_kwh, ms.export_kwh
        if meter.sign < 0:  # installed the other way round: its registers show the reverse
            p, q, imp, exp = -p, -q, exp, imp
        out.update(
            {
                "active_power_kw": p,
                "reactive_power_kvar": q,
                "voltage_v": u,
                "current_a": abs(i),
                "power_factor": pf,
                "frequency_hz": float(f),
                "energy_import_kwh": imp,
                "energy_export_kwh": exp,
            }
        )
        if ms.role in ("pv", "wind", "direct_green"):
            avail = flows.get(f"available/{meter.asset}")
            out["available_power_kw"] = (
                float(avail[0]) * ms.gain * meter.sign if avail is not None else p
            )
        if ms.role == "pv":
            cap = ms.rating_kw
            out["temperature_c"] = temp + 5 + 20 * max(p * meter.sign, 0) / cap  # inverter cabinet
            out["status_code"] = 4.0 if p * meter.sign > 0 else 2.0  # SunSpec St: MPPT / sleeping
        if ms.role == "wind":
            a = self.park.asset(meter.asset)
            out["wind_speed_ms"] = w.at(f"hub/{a.id}", now)
        if ms.role == "storage":
            out["soc_pct"] = self.soc[meter.asset] * 100
            out["temperature_c"] = 25 + 5 * abs(p) / ms.rating_kw  # containers are air-conditioned
        return out

    @staticmethod
    def _potline_current_fraction(p_kw: float, nominal_kw: float) -> float:
        """I/I_nom of a potline drawing ``p_kw`` when U/U_nom = a + (1 − a) I/I_nom."""
        a = POTLINE_BACK_EMF_FRACTION
        pn = max(p_kw, 0.0) / nominal_kw
        return (-a + math.sqrt(a * a + 4 * (1 - a) * pn)) / (2 * (1 - a))

    def weather_forecast(
        self, start: float, hours: int = 48, step_s: int = 900
    ) -> list[dict[str, Any]]:
        """What a weather provider would forecast for this park from ``start`` (epoch s): the
        simulator's clear sky under each day's cloud level (without the half-hour fluctuations
        that will come), its temperature, and its wind at hub height without the gusts."""
        first = start - start % step_s + step_s
        ts = first + np.arange(hours * 3600 // step_s) * step_s
        w = self.weather
        clear = w.series("ghi_clear", ts)
        cloud = w.cloud_cover(ts, fluctuations=False)
        ghi = clear * (1 - KASTEN_A * cloud**KASTEN_B)
        temp = w.series("temp_air", ts)
        hub = next((a.hub_height_m for a in self.park.assets if isinstance(a, WindAsset)), 100.0)
        wind = w.wind_at(ts, hub, gusts=False)
        return [
            {
                "time": datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ghi": round(float(g), 1),
                "temp_air": round(float(c), 1),
                "wind_speed": round(float(v), 2),
            }
            for t, g, c, v in zip(ts, ghi, temp, wind, strict=True)
        ]

    def wind_speed(self, now: float) -> float:
        """Wind speed at the reference height (100 m) [m/s]."""
        return float(self.weather.wind_ref_ms(np.array([now]))[0])


async def start_park(
    park: Park,
    port_base: int,
    faults: dict[str, Faults] | None = None,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    *,
    seed: int = 1,
    clock: Callable[[], float] = time.time,
    clouds: bool = True,
) -> tuple[ParkModel, dict[str, DeviceSim], list[ModbusTcpServer]]:
    """Serve every meter of ``park`` on ``port_base + i`` (or ``ports[meter]``), all reading one
    ParkModel that runs on ``clock`` (epoch seconds; a fake clock in tests)."""
    model = ParkModel(park, seed=seed, clock=clock, clouds=clouds)
    sims: dict[str, DeviceSim] = {}
    servers = []
    for i, meter in enumerate(park.meters):
        profile = load_profile(meter.profile)

        def setpoint(name: str, value: float, asset: str = meter.asset) -> None:
            model.set_setpoint(asset, value)

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
        _, sims, servers = await start_park(
            park, args.modbus_port_base, faults, seed=getattr(args, "seed", None) or 1
        )
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
