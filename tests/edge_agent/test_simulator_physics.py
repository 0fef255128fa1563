"""The simulator's physics, checked as a park energy manager would check it, on the simulator's own
registers: each value is read over Modbus TCP with pymodbus from a running simulator and decoded
with the meter's device profile by the edge agent's own reader, on a pinned, fake clock.

The references are computed here, independently of the simulator: pvlib's sunrise and sunset and
its clear sky for the park's place and date, the trapezoid of the power read, I = S / (√3 U).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
from zctest_edge import SimThread, free_port, write_gateway

from config import Park, load_gateway, load_park, load_profile
from config.loader import PARKS_DIR
from config.park import PvAsset, StorageAsset
from edge_agent.buffer import Sample
from edge_agent.modbus import Line, ModbusDevice
from edge_agent.simulate import RECTIFIER_ETA, start_park

HUOLINGOL = load_park(PARKS_DIR / "huolingol.yaml")
#: a Wednesday in June; 04:00 UTC is noon in Huolin Gol (solar noon 12:00:47 local)
JUNE_NOON = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)


class Clock:
    """The simulator's fake clock: it stands still until the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Rig:
    park: Park
    clock: Clock
    sims: SimThread
    devices: dict[str, ModbusDevice]
    got: list[Sample] = field(default_factory=list)

    def read(self, meter: str) -> dict[str, float]:
        """One poll of the meter, as the gateway makes it: quantity -> decoded value."""
        self.got.clear()
        assert self.sims.run(self.devices[meter].poll_once()), f"{meter} did not answer"
        return {s.quantity: s.value for s in self.got}

    def write(self, meter: str, value_kw: float) -> None:
        device = self.devices[meter]
        self.sims.run(device.write_setpoint(device.profile.setpoints[0], value_kw))


@contextmanager
def running(tmp_path: Path, park: Park, start: datetime, clouds: bool = True) -> Iterator[Rig]:
    clock = Clock(start)
    sims = SimThread()
    ports = {m.id: free_port() for m in park.meters}
    try:
        _, _, servers = sims.run(start_park(park, 0, ports=ports, clock=clock, clouds=clouds))
        sims.servers.extend(servers)
        gw = load_gateway(
            write_gateway(
                tmp_path / f"gw-{park.id}-{int(clouds)}.yaml",
                mqtt_url="mqtt://127.0.0.1:1883",
                park=park.id,
                gateway="gw-physics",
                devices=[
                    {
                        "meter": m.id,
                        "bus": "lan",
                        "port": ports[m.id],
                        "unit_id": 1,
                        "profile": m.profile,
                    }
                    for m in park.meters
                ],
            )
        )
        rig = Rig(park, clock, sims, {})
        for d in gw.devices:
            line = Line(d.meter, gw.buses[0], "127.0.0.1", ports[d.meter])  # type: ignore[arg-type]
            assert d.profile is not None
            rig.devices[d.meter] = ModbusDevice(
                d, load_profile(d.profile), line, rig.got.extend, lambda k, m: None
            )
        yield rig
    finally:
        for dev in rig.devices.values():
            dev.line.close()
        sims.close()


def _location(park: Park) -> pvlib.location.Location:
    loc = park.location
    return pvlib.location.Location(loc.lat, loc.lon, "UTC", loc.altitude_m)


def clear_sky_pv_bound_kw(park: Park, pv: PvAsset, when: datetime) -> tuple[float, float]:
    """(PV bound, clear-sky GHI) at ``when``: the DC nameplate times the clear-sky plane-of-array
    irradiance over 1,000 W/m² with no loss at all, capped at the AC capacity."""
    loc = _location(park)
    ix = pd.DatetimeIndex([pd.Timestamp(when)])
    sp = loc.get_solarposition(ix)
    cs = loc.get_clearsky(ix, model="ineichen", solar_position=sp)
    poa = pvlib.irradiance.get_total_irradiance(
        pv.tilt_deg,
        pv.azimuth_deg,
        sp["apparent_zenith"],
        sp["azimuth"],
        cs["dni"],
        cs["ghi"],
        cs["dhi"],
        albedo=0.25,
    )["poa_global"].iloc[0]
    dc = pv.capacity_dc_kw or pv.capacity_kw * 1.2
    return min(pv.capacity_kw, dc * float(poa) / 1000), float(cs["ghi"].iloc[0])


def test_pv_is_zero_at_night_and_within_the_clear_sky_bound_at_noon_in_june(
    tmp_path: Path,
) -> None:
    pv = HUOLINGOL.asset("pv-1")
    assert isinstance(pv, PvAsset)
    bound, ghi_clear = clear_sky_pv_bound_kw(HUOLINGOL, pv, JUNE_NOON)
    assert 150_000 < bound <= 200_000 and 850 < ghi_clear < 1100  # the reference itself is sane
    with running(tmp_path, HUOLINGOL, JUNE_NOON - timedelta(hours=11, minutes=30)) as rig:
        night = rig.read("pv-1")  # 00:30 local
        assert night["active_power_kw"] == 0.0
        assert rig.read("weather-1")["irradiance_wm2"] == 0.0
        assert rig.read("pyrano-1")["irradiance_wm2"] == 0.0
        rig.clock.advance(11.5 * 3600)
        noon = rig.read("pv-1")
        ghi = rig.read("weather-1")["irradiance_wm2"]
    assert 0 < noon["active_power_kw"] <= bound
    assert 0 < ghi <= ghi_clear + 1
    with running(tmp_path, HUOLINGOL, JUNE_NOON, clouds=False) as rig:
        clear = rig.read("pv-1")["active_power_kw"]
        clear_ghi = rig.read("weather-1")["irradiance_wm2"]
    # under a clear sky: the bound less the temperature derate, DC losses and the inverter
    assert 0.72 * bound < clear <= bound
    assert clear_ghi == pytest.approx(ghi_clear, abs=1.5)
    assert noon["active_power_kw"] <= clear + 1


def _first_last(times: list[datetime], values: list[float]) -> tuple[datetime, datetime]:
    on = [t for t, v in zip(times, values, strict=True) if v > 0]
    assert on, "never above zero"
    return on[0], on[-1]


@pytest.mark.parametrize(
    ("park_id", "day", "daylight_h"),
    [
        ("huolingol", "2026-06-10", (15.3, 15.9)),  # 45.5 N at midsummer
        ("huolingol", "2026-12-21", (8.5, 9.0)),
        ("etuoke", "2026-03-20", (12.0, 12.3)),  # the equinox
    ],
)
def test_sunrise_and_sunset_match_pvlib(
    tmp_path: Path, park_id: str, day: str, daylight_h: tuple[float, float]
) -> None:
    park = load_park(PARKS_DIR / f"{park_id}.yaml")
    local = pd.Timestamp(day, tz=park.timezone)
    rst = _location(park).get_sun_rise_set_transit(pd.DatetimeIndex([local]), method="spa")
    sunrise = rst["sunrise"].iloc[0].floor("s").to_pydatetime().astimezone(UTC)
    sunset = rst["sunset"].iloc[0].floor("s").to_pydatetime().astimezone(UTC)
    station = "weather-1" if park_id == "huolingol" else "pyrano-1"
    start = local.to_pydatetime().astimezone(UTC)
    times: list[datetime] = []
    ghi: list[float] = []
    pv: list[float] = []
    with running(tmp_path, park, start) as rig:
        for _ in range(24 * 12):  # every 5 minutes of the local day
            times.append(datetime.fromtimestamp(rig.clock(), UTC))
            ghi.append(rig.read(station)["irradiance_wm2"])
            pv.append(rig.read("pv-1")["active_power_kw"])
            rig.clock.advance(300)
    light_on, light_off = _first_last(times, ghi)
    pv_on, pv_off = _first_last(times, pv)
    tol = timedelta(minutes=15)
    assert abs(light_on - sunrise) <= tol, (light_on, sunrise)
    assert abs(light_off - sunset) <= tol, (light_off, sunset)
    # the plant starts once the inverters see enough DC power, and stops before dark
    assert sunrise - tol <= pv_on <= sunrise + 2 * tol, (pv_on, sunrise)
    assert sunset - 2 * tol <= pv_off <= sunset + tol, (pv_off, sunset)
    # not 06:00-18:00 all year: the day's length is the place's and the season's
    lo, hi = daylight_h
    assert lo < (sunset - sunrise).total_seconds() / 3600 < hi
    assert lo - 0.5 < (light_off - light_on).total_seconds() / 3600 < hi + 0.5


def _trapezoid_kwh(t: list[float], p: list[float]) -> float:
    return float(np.trapezoid(p, t) / 3600)


def test_every_counter_advances_by_the_integral_of_its_power(tmp_path: Path) -> None:
    """Over a fake hour, read every 60 s: each counter's increase is the trapezoid of the power
    read (± 1 %), on the counter that counts the flow's direction; the other one stands still."""
    start = JUNE_NOON  # noon to 13:00 local: PV, wind (seed 1) and imports all flowing
    meters = [
        "grid-main",
        "wind-zhn",
        "wind-2",
        "pv-1",
        "potline-zhn",
        "potline-zhn-ac",
        "aux-load",
    ]
    series: dict[str, list[dict[str, float]]] = {m: [] for m in meters}
    times: list[float] = []
    with running(tmp_path, HUOLINGOL, start) as rig:
        for _ in range(61):
            times.append(rig.clock())
            for m in meters:
                series[m].append(rig.read(m))
            rig.clock.advance(60)
    # which counter counts what (docs/simulator.md): producers export, consumers import
    counts = {
        "grid-main": "energy_import_kwh",
        "wind-zhn": "energy_export_kwh",
        "wind-2": "energy_export_kwh",
        "pv-1": "energy_export_kwh",
        "potline-zhn": "energy_import_kwh",
        "potline-zhn-ac": "energy_import_kwh",
        "aux-load": "energy_import_kwh",
    }
    for m in meters:
        power = [r["active_power_kw"] for r in series[m]]
        assert min(power) > 1000, (m, min(power))  # the flow is forward all hour
        expected = _trapezoid_kwh(times, power)
        counter = counts[m]
        delta = series[m][-1][counter] - series[m][0][counter]
        assert delta == pytest.approx(expected, rel=0.01), (m, delta, expected)
        other = "energy_export_kwh" if counter == "energy_import_kwh" else "energy_import_kwh"
        if other in series[m][0]:
            assert series[m][-1][other] == pytest.approx(series[m][0][other], abs=0.5), m
    wind = series["wind-zhn"]
    assert wind[-1]["energy_export_kwh"] - wind[0]["energy_export_kwh"] > 10_000  # it moves


def test_voltages_and_currents_fit_the_connection(tmp_path: Path) -> None:
    with running(tmp_path, HUOLINGOL, JUNE_NOON) as rig:
        reads = {m.id: rig.read(m.id) for m in HUOLINGOL.meters}
    grid = reads["grid-main"]
    assert grid["voltage_v"] == pytest.approx(500_000, rel=0.05)
    p, q, u = grid["active_power_kw"], grid["reactive_power_kvar"], grid["voltage_v"]
    s_kva = math.hypot(p, q)
    assert grid["current_a"] == pytest.approx(s_kva * 1000 / (math.sqrt(3) * u), rel=0.01)
    assert grid["current_a"] == pytest.approx(
        abs(p) * 1000 / (math.sqrt(3) * u * grid["power_factor"]), rel=0.01
    )
    assert 0.9 <= grid["power_factor"] <= 1.0
    assert 200 < grid["current_a"] < 2000  # hundreds of MW at 500 kV: about a kiloampere
    for m, kv in (("pv-1", 35), ("bess-1", 35), ("potline-zhn-ac", 220), ("aux-load", 110)):
        r = reads[m]
        assert r["voltage_v"] == pytest.approx(kv * 1000, rel=0.05), m
        if "power_factor" in r and abs(r["active_power_kw"]) > 1000:
            pf = r["power_factor"] / (100 if r["power_factor"] > 1.5 else 1)  # SunSpec: percent
            assert 0.85 < pf <= 1.0, m
            i = abs(r["active_power_kw"]) * 1000 / (math.sqrt(3) * r["voltage_v"] * pf)
            assert r["current_a"] == pytest.approx(i, rel=0.02), m
    for r in reads.values():
        if "frequency_hz" in r:
            assert 49.9 < r["frequency_hz"] < 50.1
    # the potline's DC bus: about 1.1 kV and half a megaampere, I = P / U
    dc = reads["potline-zhn"]
    assert dc["voltage_v"] == pytest.approx(1100, rel=0.1)
    assert dc["current_a"] == pytest.approx(
        dc["active_power_kw"] * 1000 / dc["voltage_v"], rel=0.01
    )
    assert 400_000 < dc["current_a"] < 560_000
    # the AC check meter sees the rectifier's losses on top of the DC primary, within tolerance
    ac = reads["potline-zhn-ac"]["active_power_kw"]
    assert ac == pytest.approx(dc["active_power_kw"] / RECTIFIER_ETA, rel=0.004)
    check = HUOLINGOL.meter("potline-zhn-ac")
    assert abs(ac / dc["active_power_kw"] - 1) * 100 < check.check_tolerance_pct


def test_state_of_charge_follows_the_battery_power_within_its_limits(tmp_path: Path) -> None:
    bess = HUOLINGOL.asset("bess-1")
    assert isinstance(bess, StorageAsset)
    step = 60.0
    with running(tmp_path, HUOLINGOL, JUNE_NOON) as rig:
        first = rig.read("bess-1")
        assert first["soc_pct"] == pytest.approx(bess.soc_initial * 100, abs=0.01)
        assert first["active_power_kw"] == 0.0
        rig.write("bess-1", -50_000.0)  # charge at 50 MW, written as the dispatcher's agent does
        for _ in range(60):
            rig.clock.advance(step)
            r = rig.read("bess-1")
            assert r["active_power_kw"] == pytest.approx(-50_000, abs=0.5)
        charged = 50_000 * 1.0 * bess.charge_efficiency / bess.energy_kwh * 100
        assert r["soc_pct"] == pytest.approx(bess.soc_initial * 100 + charged, abs=0.05)
        assert r["energy_import_kwh"] - first["energy_import_kwh"] == pytest.approx(
            50_000, rel=0.001
        )
        assert r["energy_export_kwh"] == pytest.approx(first["energy_export_kwh"], abs=0.01)
        # beyond its power: held at power_kw; until full: then it stops at soc_max
        rig.write("bess-1", -300_000.0)
        rig.clock.advance(step)
        assert rig.read("bess-1")["active_power_kw"] == pytest.approx(-bess.power_kw, abs=0.5)
        for _ in range(90):
            rig.clock.advance(step)
            r = rig.read("bess-1")
        assert r["soc_pct"] == pytest.approx(bess.soc_max * 100, abs=0.01)
        assert r["active_power_kw"] == 0.0
        # discharge at 80 MW for half an hour: the SoC falls by P t / (eta E)
        rig.write("bess-1", 80_000.0)
        before = r
        for _ in range(30):
            rig.clock.advance(step)
            r = rig.read("bess-1")
            assert r["active_power_kw"] == pytest.approx(80_000, abs=0.5)
        fell = 80_000 * 0.5 / (bess.discharge_efficiency * bess.energy_kwh) * 100
        assert before["soc_pct"] - r["soc_pct"] == pytest.approx(fell, abs=0.05)
        assert r["energy_export_kwh"] - before["energy_export_kwh"] == pytest.approx(
            40_000, rel=0.001
        )
        # the grid meter carries the battery's power: its import falls by the discharge
        grid_discharging = rig.read("grid-main")["active_power_kw"]
        rig.write("bess-1", 0.0)
        rig.clock.advance(0.001)
        grid_idle = rig.read("grid-main")["active_power_kw"]
    assert grid_idle - grid_discharging == pytest.approx(80_000, rel=0.01)


def test_a_meter_installed_the_other_way_round_shows_the_reverse(tmp_path: Path) -> None:
    """sign: -1 - its power is negated and its counters swapped (the server turns them back)."""
    meters = [
        m.model_copy(update={"sign": -1}) if m.id == "grid-main" else m for m in HUOLINGOL.meters
    ]
    reversed_park = HUOLINGOL.model_copy(update={"meters": meters})
    times, power, rows = [], [], []
    with running(tmp_path, reversed_park, JUNE_NOON) as rig:
        for _ in range(11):
            times.append(rig.clock())
            rows.append(rig.read("grid-main"))
            power.append(rows[-1]["active_power_kw"])
            rig.clock.advance(60)
    assert max(power) < -100_000  # the park imports, seen from the other side
    exported = rows[-1]["energy_export_kwh"] - rows[0]["energy_export_kwh"]
    assert exported == pytest.approx(-_trapezoid_kwh(times, power), rel=0.01)
    assert rows[-1]["energy_import_kwh"] == pytest.approx(rows[0]["energy_import_kwh"], abs=0.5)
