"""The simulated park's weather and plant physics (docs/simulator.md), as functions of time.

Everything here is a deterministic function of the epoch time (seconds, UTC) and a seed, so two
reads at the same moment agree, a restarted simulator continues the same weather, and a test can
compute what a register must show:

- **sun**: pvlib's solar position (NREL SPA) and Ineichen–Perez clear sky (Linke turbidity from
  pvlib's climatology) for the park's location and altitude;
- **clouds**: a cloud-cover fraction C(t) in [0, 1], a daily level plus 30-min and 5-min
  fluctuations (seeded value noise, continuous in time), applied with Kasten & Czeplak (1980):
  GHI = GHI_clear · (1 − 0.75 · C^3.4); Erbs' decomposition gives DNI and DHI;
- **PV**: plane-of-array irradiance on the asset's tilt/azimuth (Hay–Davies sky diffuse, albedo
  0.25), SAPM cell temperature (open rack, glass/glass), PVWatts DC with γ = −0.37 %/K and 10 %
  DC losses, PVWatts inverter (96 % nominal), capped at the AC capacity;
- **wind**: seeded eastward and northward components (a westerly mean plus 12-h, 3-h and 45-min
  fluctuations) whose magnitude is Rice-distributed (Weibull shape about 2, mean about 7 m/s at
  100 m), 10 % turbulence over 2 min, a power law to hub height (α = 0.14), through each farm's
  configured power curve less 10 % wake and availability losses;
- **air temperature**: a seasonal and daily cycle (assumed for Inner Mongolia) with noise.

Sun and weather are tabulated once per UTC day at one-minute resolution and interpolated; a plant's
power between two minutes is therefore linear, and its energy is exactly the trapezoid of the
table.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

TABLE_STEP_S = 60
DAY_S = 86400

#: Kasten & Czeplak (1980): GHI / GHI_clear = 1 − A · C^B for cloud cover C in [0, 1]
KASTEN_A, KASTEN_B = 0.75, 3.4
#: PV: PVWatts temperature coefficient of DC power [1/K], DC losses (soiling, wiring, mismatch,
#: LID, nameplate; assumed), inverter nominal efficiency, DC/AC ratio when capacity_dc_kw is unset
PV_GAMMA_PER_K = -0.0037
PV_DC_LOSS = 0.10
PV_INVERTER_ETA = 0.96
PV_DC_AC_RATIO = 1.2
ALBEDO = 0.25
#: wind at the reference height: the prevailing westerly component and the standard deviation
#: of each component [m/s], so that the mean speed is about 7 m/s at 100 m (assumed for Inner
#: Mongolia's wind belt); reference height [m], power-law shear exponent
WIND_WESTERLY_MS = 2.5
WIND_SIGMA_MS = 5.2
WIND_REF_HEIGHT_M = 100.0
WIND_SHEAR_ALPHA = 0.14
#: a farm's wake and availability losses against its turbines' power curve (assumed: 7 % + 3 %)
WIND_FARM_LOSS = 0.10
#: air temperature: annual mean [degC], seasonal half-swing [K] (coldest about 17 January), daily
#: half-swing [K] on a clear day (warmest at 15:00 solar time); assumed for Inner Mongolia
TEMP_ANNUAL_C = 4.0
TEMP_SEASONAL_K = 18.0
TEMP_DAILY_K = 6.0

#: standard deviation of smooth_noise: sqrt(Var(2U - 1) * E[w^2 + (1 - w)^2]) for the smoothstep
#: w of a uniform phase = sqrt(1/3 * 2 * 13/35)
NOISE_STD = math.sqrt(2 / 3 * 13 / 35)


def stream_id(name: str) -> int:
    """A stable number for a named random stream (e.g. ``"huolingol/clouds"``)."""
    return zlib.crc32(name.encode())


def _uniform(seed: int, stream: int, k: np.ndarray) -> np.ndarray:
    """SplitMix64 of (seed, stream, knot index k): uniform values in [0, 1), one per knot."""
    with np.errstate(over="ignore"):
        x = k.astype(np.int64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64(
            (seed * 0x632BE59BD9B4E019 + stream * 0x85EBCA77C2B2AE63) & 0xFFFFFFFFFFFFFFFF
        )
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def smooth_noise(seed: int, stream: int, t: np.ndarray, tau_s: float) -> np.ndarray:
    """Value noise in [−1, 1]: seeded random values at knots ``tau_s`` apart, joined by a
    smoothstep, so the value is continuous and correlated over about ``tau_s`` seconds."""
    x = np.asarray(t, dtype=float) / tau_s
    k = np.floor(x)
    f = x - k
    w = f * f * (3.0 - 2.0 * f)
    a = _uniform(seed, stream, k)
    b = _uniform(seed, stream, k + 1)
    out: np.ndarray = 2.0 * (a + (b - a) * w) - 1.0
    return out


@dataclass(frozen=True)
class Site:
    park_id: str
    lat: float
    lon: float
    altitude_m: float
    seed: int = 1
    clouds: bool = True  # False: every day clear (for tests and clear-sky bounds)


@dataclass(frozen=True)
class PvSpec:
    id: str
    capacity_kw: float
    capacity_dc_kw: float
    tilt_deg: float
    azimuth_deg: float


@dataclass(frozen=True)
class WindSpec:
    id: str
    turbines: int
    hub_height_m: float
    curve_speed_ms: tuple[float, ...]
    curve_power_kw: tuple[float, ...]


class Weather:
    """Sun, clouds, wind and temperature of one site, and the power of its PV and wind plants."""

    def __init__(self, site: Site, pv: list[PvSpec], wind: list[WindSpec]) -> None:
        self.site = site
        self.pv = {p.id: p for p in pv}
        self.wind = {w.id: w for w in wind}
        self.location = pvlib.location.Location(site.lat, site.lon, "UTC", site.altitude_m)
        self._days: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()

    # -- noise streams --------------------------------------------------------------------
    def noise(self, name: str, t: np.ndarray, tau_s: float) -> np.ndarray:
        return smooth_noise(self.site.seed, stream_id(f"{self.site.park_id}/{name}"), t, tau_s)

    def cloud_cover(self, t: np.ndarray, fluctuations: bool = True) -> np.ndarray:
        """Cloud-cover fraction in [0, 1]: a level per day, u^0.7 for u uniform (so that the year's
        GHI is about 78 % of the clear sky's, about 1,500 kWh/m2 at Huolin Gol) plus 30-min
        and 5-min fluctuations."""
        t = np.asarray(t, dtype=float)
        if not self.site.clouds:
            return np.zeros_like(t)
        day = (self.noise("clouds/day", t, DAY_S) + 1) / 2
        level = day**0.7
        if not fluctuations:
            return np.clip(level, 0.0, 1.0)
        scale = 0.15 + 0.6 * level * (1 - level) * 4 / 2.4  # broken skies vary most
        c = level + scale * (
            0.7 * self.noise("clouds/30min", t, 1800) + 0.3 * self.noise("clouds/5min", t, 300)
        )
        return np.clip(c, 0.0, 1.0)

    def temp_air_c(self, t: np.ndarray, cloud: np.ndarray | None = None) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        doy = (t / DAY_S) % 365.2425
        seasonal = TEMP_ANNUAL_C - TEMP_SEASONAL_K * np.cos(2 * math.pi * (doy - 17) / 365.2425)
        solar_h = (t / 3600 + self.site.lon / 15) % 24
        c = self.cloud_cover(t) if cloud is None else cloud
        daily = TEMP_DAILY_K * (1 - 0.5 * c) * np.cos(2 * math.pi * (solar_h - 15) / 24)
        return seasonal + daily + 3.0 * self.noise("temp", t, 2 * DAY_S)

    def _gauss(self, name: str, t: np.ndarray, taus_s: tuple[float, ...]) -> np.ndarray:
        """About standard normal, correlated over the given time scales: the normalised sum of
        one value noise per scale (each of standard deviation NOISE_STD)."""
        total = sum(self.noise(f"{name}/{tau:g}", t, tau) for tau in taus_s)
        return np.asarray(total, dtype=float) / (NOISE_STD * math.sqrt(len(taus_s)))

    def _wind_vector(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(eastward, northward) components of the park's wind at the reference height [m/s]:
        a westerly mean plus synoptic (12 h), 3-h and 45-min fluctuations in each component, so
        that the speed is Rice-distributed (Weibull shape about 2, like measured wind)."""
        scales = (12 * 3600.0, 3 * 3600.0, 2700.0)
        east = WIND_WESTERLY_MS + WIND_SIGMA_MS * self._gauss("wind/east", t, scales)
        north = WIND_SIGMA_MS * self._gauss("wind/north", t, scales)
        return east, north

    def wind_ref_ms(self, t: np.ndarray, local: str = "", gusts: bool = True) -> np.ndarray:
        """Wind speed at WIND_REF_HEIGHT_M [m/s]; ``local`` names a farm's own turbulence
        (10 % intensity over 2 min)."""
        t = np.asarray(t, dtype=float)
        east, north = self._wind_vector(t)
        v = np.hypot(east, north)
        if gusts:
            v = v * (1 + 0.1 * self.noise(f"wind/turb/{local}", t, 120) / NOISE_STD)
        out: np.ndarray = np.maximum(v, 0.0)
        return out

    def wind_at(
        self, t: np.ndarray, height_m: float, local: str = "", gusts: bool = True
    ) -> np.ndarray:
        v: np.ndarray = (
            self.wind_ref_ms(t, local, gusts) * (height_m / WIND_REF_HEIGHT_M) ** WIND_SHEAR_ALPHA
        )
        return v

    def wind_direction_deg(self, t: np.ndarray) -> np.ndarray:
        """Where the wind comes from [deg, clockwise from north]."""
        east, north = self._wind_vector(np.asarray(t, dtype=float))
        out: np.ndarray = (np.degrees(np.arctan2(-east, -north)) + 360) % 360
        return out

    # -- the day table ------------------------------------------------------------------
    def _table(self, day: int) -> dict[str, np.ndarray]:
        if day in self._days:
            self._days.move_to_end(day)
            return self._days[day]
        with warnings.catch_warnings():  # pvlib 0.16 still calls pandas' deprecated dayofyear
            warnings.filterwarnings("ignore", message=".*dayofyear is deprecated")
            table = self._make_table(day)
        self._days[day] = table
        while len(self._days) > 4:
            self._days.popitem(last=False)
        return table

    def _make_table(self, day: int) -> dict[str, np.ndarray]:
        t = day * DAY_S + np.arange(DAY_S // TABLE_STEP_S + 1) * TABLE_STEP_S
        ix = pd.DatetimeIndex(pd.to_datetime(t, unit="s", utc=True))
        sp = self.location.get_solarposition(ix)
        cs = self.location.get_clearsky(ix, model="ineichen", solar_position=sp)
        cloud = self.cloud_cover(t.astype(float))
        ghi = cs["ghi"].to_numpy() * (1 - KASTEN_A * cloud**KASTEN_B)
        zenith = sp["zenith"].to_numpy()
        erbs = pvlib.irradiance.erbs(ghi, zenith, ix)
        dni = np.nan_to_num(erbs["dni"].to_numpy())
        dhi = np.nan_to_num(erbs["dhi"].to_numpy())
        dni_extra = pvlib.irradiance.get_extra_radiation(ix).to_numpy()
        temp = self.temp_air_c(t.astype(float), cloud)
        wind10 = self.wind_at(t.astype(float), 10.0, "met")
        out: dict[str, np.ndarray] = {
            "t": t.astype(float),
            "ghi": np.maximum(ghi, 0.0),
            "ghi_clear": cs["ghi"].to_numpy(),
            "cloud": cloud,
            "temp_air": temp,
            "wind10": wind10,
            "elevation": sp["apparent_elevation"].to_numpy(),
        }
        for p in self.pv.values():
            poa = pvlib.irradiance.get_total_irradiance(
                p.tilt_deg,
                p.azimuth_deg,
                sp["apparent_zenith"].to_numpy(),
                sp["azimuth"].to_numpy(),
                dni,
                ghi,
                dhi,
                dni_extra=dni_extra,
                albedo=ALBEDO,
                model="haydavies",
            )
            g = np.maximum(np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)), 0.0)
            out[f"poa/{p.id}"] = g
            out[f"pv/{p.id}"] = pv_ac_kw(p, g, temp, wind10)
        for w in self.wind.values():
            v = self.wind_at(t.astype(float), w.hub_height_m, w.id)
            out[f"hub/{w.id}"] = v
            curve = np.interp(v, w.curve_speed_ms, w.curve_power_kw)
            out[f"wind/{w.id}"] = w.turbines * curve * (1 - WIND_FARM_LOSS)
        return out

    def series(self, name: str, t: np.ndarray | float) -> np.ndarray:
        """``name`` of the day table (e.g. ``pv/pv-1``, ``ghi``) at times ``t``, interpolated."""
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.empty_like(tt)
        days = np.floor(tt / DAY_S).astype(np.int64)
        for d in np.unique(days):
            sel = days == d
            tab = self._table(int(d))
            out[sel] = np.interp(tt[sel], tab["t"], tab[name])
        return out

    def at(self, name: str, t: float) -> float:
        return float(self.series(name, t)[0])


def pv_ac_kw(
    p: PvSpec, poa_wm2: np.ndarray, temp_air_c: np.ndarray, wind_ms: np.ndarray
) -> np.ndarray:
    """AC power of a PV plant [kW] from plane-of-array irradiance [W/m2], air temperature [degC]
    and wind speed [m/s]: SAPM cell temperature, PVWatts DC and PVWatts inverter, capped at AC."""
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell = pvlib.temperature.sapm_cell(poa_wm2, temp_air_c, wind_ms, **params)
    pdc = pvlib.pvsystem.pvwatts_dc(poa_wm2, cell, p.capacity_dc_kw, PV_GAMMA_PER_K)
    pdc = np.maximum(np.asarray(pdc, dtype=float) * (1 - PV_DC_LOSS), 0.0)
    pac = pvlib.inverter.pvwatts(pdc, p.capacity_kw / PV_INVERTER_ETA, PV_INVERTER_ETA)
    out: np.ndarray = np.minimum(np.asarray(pac, dtype=float), p.capacity_kw)
    return out


def cell_temperature_c(poa_wm2: float, temp_air_c: float, wind_ms: float) -> float:
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    return float(pvlib.temperature.sapm_cell(poa_wm2, temp_air_c, wind_ms, **params))
