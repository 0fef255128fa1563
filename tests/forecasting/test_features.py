"""Features known at the issue time, the day-type calendar and the forecaster's own choices."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from config.errors import ConfigError
from config.factors import FACTORS_DIR, load_factors
from forecasting.backtest import BacktestConfig, features, run_backtest
from forecasting.features import k_known, same_type_lag, weather_features, workdays
from forecasting.models import QuantileForecaster, design_matrix

TZ = "Asia/Shanghai"


def test_china_calendar_knows_holidays_and_make_up_working_days() -> None:
    cn = load_factors().holidays["cn"]
    assert not cn.is_workday(date(2026, 2, 16))  # Spring Festival, a Monday
    assert cn.is_workday(date(2026, 2, 14))  # a make-up Saturday before it
    assert cn.is_workday(date(2026, 2, 28))  # and after it
    assert not cn.is_workday(date(2026, 3, 1))  # an ordinary Sunday
    assert cn.is_workday(date(2026, 3, 2))  # an ordinary Monday
    assert not cn.is_workday(date(2025, 10, 8))  # the eighth day of 2025's National Day week
    assert cn.is_workday(date(2025, 10, 11))
    assert cn.covers(2026) and not cn.covers(2030)


def test_a_bad_holiday_entry_names_file_line_and_field(tmp_path: Path) -> None:
    shutil.copytree(FACTORS_DIR, tmp_path / "factors")
    path = tmp_path / "factors" / "holidays.yaml"
    path.write_text(path.read_text().replace('"2026-06-19..2026-06-21"', '"2026-06-31"'))
    with pytest.raises(ConfigError) as err:
        load_factors(tmp_path / "factors")
    message = str(err.value)
    assert "holidays.yaml" in message and "calendars.cn.years[2026].holidays" in message
    assert "'2026-06-31' is not a date" in message
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "2026-06-31" in t)
    assert f"holidays.yaml:{line}: " in message or f"holidays.yaml:{line - 1}: " in message


def test_day_type_lag_takes_a_monday_from_friday_and_a_holiday_from_sunday() -> None:
    index = pd.date_range("2026-02-02", "2026-03-11", freq="h", tz=TZ).tz_convert("UTC")
    # each day's load is its day of month, so a lag's value names the day it came from
    values = pd.Series(index.tz_convert(TZ).day.astype(float), index=index)
    flags = workdays(index, TZ, load_factors().holidays["cn"])
    k = k_known(index, 10, TZ)
    lag = same_type_lag(values, flags, k, 24)
    at = pd.Series(lag, index=index.tz_convert(TZ))
    assert at["2026-03-09 12:00"] == 6  # Monday <- Friday (issued Sunday 10:00)
    assert at["2026-03-02 12:00"] == 28  # Monday <- the make-up Saturday 28 Feb
    assert at["2026-02-16 08:00"] == 15  # a Spring Festival Monday <- the Sunday before it
    assert at["2026-02-16 12:00"] == 8  # (after 10:00 that Sunday is not known yet)
    assert at["2026-02-24 12:00"] == 14  # the first working day after it <- make-up Saturday


def test_weather_features_reach_an_hour_and_a_day_either_side() -> None:
    index = pd.date_range("2026-06-01", periods=72, freq="h", tz="UTC")
    w = weather_features(pd.DataFrame({"t": np.arange(72.0)}, index=index), 24, "UTC")
    row = w.iloc[30]
    assert (row["w_t"], row["w_t_prev"], row["w_t_next"]) == (30, 29, 31)
    assert (row["w_t_yday"], row["w_t_tmrw"]) == (6, 54)
    assert (row["w_t_day_mean"], row["w_t_day_max"], row["w_t_yday_min"]) == (35.5, 47, 0)


def synthetic_load(days: int = 80) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly load of a park: day shape, lower on days off (China's calendar), up with heat."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-01-01", periods=days * 24, freq="h", tz=TZ).tz_convert("UTC")
    local = index.tz_convert(TZ)
    work = workdays(index, TZ, load_factors().holidays["cn"])
    temp = 10 + 8 * np.sin(2 * np.pi * (local.hour - 9) / 24) + rng.normal(0, 2, len(index))
    shape = 1 + 0.3 * np.sin(2 * np.pi * (local.hour - 6) / 24)
    load = 1000 * shape * (0.6 + 0.4 * work) + 15 * np.clip(temp - 12, 0, None)
    load = load + rng.normal(0, 15, len(index))
    return pd.Series(load, index=index), pd.DataFrame({"temp": temp}, index=index)


def test_load_forecast_uses_the_holiday_calendar_and_never_the_future() -> None:
    values, weather = synthetic_load()
    cfg = BacktestConfig(target="load", holidays="cn")
    metrics, base = run_backtest(values, cfg, weather)
    assert metrics["skill_vs_persistence"] > 0.5  # persistence misses every holiday edge
    # with the calendar the model beats the Monday-to-Friday week by a wide margin
    plain, _ = run_backtest(values, BacktestConfig(target="load"), weather)
    assert metrics["model"]["nrmse"] < 0.8 * plain["model"]["nrmse"]
    day = pd.Timestamp("2026-02-24", tz=TZ)  # the first working day after Spring Festival
    issue = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=10)).tz_convert("UTC")
    tampered = values.copy()
    tampered[tampered.index >= issue] = 1e6
    _, after = run_backtest(tampered, cfg, weather)
    rows = base.index.tz_convert(TZ).normalize() == day
    cols = ["p10", "p50", "p90", "persistence", "climatology"]
    pd.testing.assert_frame_equal(base.loc[rows, cols], after.loc[rows, cols])


def test_early_stopping_gives_noise_fewer_trees_than_signal() -> None:
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=60 * 24, freq="h", tz="UTC")
    x = pd.DataFrame(
        {"hour": index.hour.astype(float), "a": rng.uniform(0, 1, len(index))}, index=index
    )
    signal = np.sin(6 * x["a"].to_numpy()) + 0.1 * rng.normal(size=len(index))
    noise = rng.normal(size=len(index))
    fit_signal = QuantileForecaster("load").fit(x, signal)
    fit_noise = QuantileForecaster("load").fit(x, noise)
    assert fit_noise.iterations < 40 < fit_signal.iterations
    # bands come from held-out days: the noise's P10-P90 spans about 2.56 sigma
    preds = fit_noise.predict(x[x["hour"] == 12])
    assert 1.8 < float(np.median(preds[:, 2] - preds[:, 0])) < 3.4


def test_wind_forecast_follows_a_power_curve() -> None:
    rng = np.random.default_rng(5)
    index = pd.date_range("2026-03-01", periods=70 * 24, freq="h", tz="UTC")
    ws = pd.Series(np.clip(rng.weibull(2.0, len(index)) * 8, 0, 30), index=index)
    ws = ws.rolling(6, min_periods=1).mean()  # weather changes over hours
    curve_ws = np.array([0, 3, 6, 9, 12, 25, 25.5])
    curve_kw = np.array([0, 0, 800, 2900, 5000, 5000, 0])
    power = pd.Series(np.interp(ws, curve_ws, curve_kw) + rng.normal(0, 100, len(index)), index)
    weather = pd.DataFrame({"ws_100m": ws})
    cfg = BacktestConfig(target="wind", capacity_kw=5000)
    metrics, _ = run_backtest(power, cfg, weather)
    assert metrics["skill_vs_persistence"] > 0.6
    # the curve it learns is monotone and close to the true one
    values, _, x = features(power, cfg, weather)
    model = QuantileForecaster("wind").fit(
        x.dropna(subset=["persist"]), values[x["persist"].notna()].to_numpy()
    )
    assert model.curve is not None
    learnt = model.curve.predict(np.array([3.0, 6.0, 9.0, 12.0])) * model.scale
    assert np.all(np.diff(learnt) >= 0)
    assert np.allclose(learnt, [0, 800, 2900, 5000], atol=300)
    # a configured curve becomes a feature of its own
    x2 = design_matrix(
        power, "wind", 10, TZ, 24, weather, power_curve=lambda v: np.interp(v, curve_ws, curve_kw)
    )
    assert x2["curve"].iloc[100] == pytest.approx(np.interp(ws.iloc[100], curve_ws, curve_kw))


def test_a_weather_source_without_its_topic_is_named_in_the_park_file(tmp_path: Path) -> None:
    from config import load_park
    from config.loader import PARKS_DIR

    text = (PARKS_DIR / "huolingol.yaml").read_text()
    bad = tmp_path / "huolingol.yaml"
    bad.write_text(text.replace("assets:\n", "weather_forecast: {source: mqtt}\nassets:\n", 1))
    with pytest.raises(ConfigError) as err:
        load_park(bad)
    assert "weather_forecast.topic: an mqtt source needs topic" in str(err.value)
    bad.write_text(text.replace("assets:\n", "holiday_calendar: mars\nassets:\n", 1))
    with pytest.raises(ConfigError) as err:
        load_park(bad)
    assert "holiday_calendar: no calendar 'mars'" in str(err.value)


def test_backtest_command_takes_a_holiday_calendar_or_a_workday_column(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    values, weather = synthetic_load(days=60)
    flags = workdays(pd.DatetimeIndex(values.index), TZ, load_factors().holidays["cn"])
    frame = pd.DataFrame(
        {
            "time": values.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "load_kw": values.to_numpy(),
            "temp": weather["temp"].to_numpy(),
            "workday": flags,
        }
    )
    data = tmp_path / "load.csv"
    frame.to_csv(data, index=False)
    base = [sys.executable, "-m", "zcpark", "forecast", "backtest", "--data", str(data)]
    base += ["--target", "load", "--time-col", "time", "--value-col", "load_kw"]
    base += ["--weather-cols", "temp"]
    results = {}
    for name, extra in (("cn", ["--holidays", "cn"]), ("col", ["--workday-col", "workday"])):
        out = tmp_path / f"{name}.json"
        proc = subprocess.run(
            [*base, *extra, "--out", str(out)], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        results[name] = json.loads(out.read_text())["model"]["nrmse"]
    # the same day types either way: the same forecasts
    assert results["cn"] == pytest.approx(results["col"], rel=1e-9)
    bad = subprocess.run([*base, "--holidays", "mars"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--holidays: no calendar 'mars'" in bad.stderr


def test_a_live_forecast_uses_what_is_known_at_its_issue_moment() -> None:
    index = pd.date_range("2026-06-01", periods=6 * 24, freq="h", tz="UTC")
    values = pd.Series(np.arange(len(index), dtype=float), index=index)  # value = row number
    issued = pd.Timestamp("2026-06-04T05:30:00Z")  # 13:30 in Shanghai
    values[index >= issued] = np.nan  # the future is unknown
    x = design_matrix(values, "load", 13, TZ, 24, issued_at=issued)
    row = {t: i for i, t in enumerate(index)}
    soon = row[pd.Timestamp("2026-06-04T08:00:00Z")]  # 2.5 h ahead: yesterday's value is known
    assert x["persist"].iloc[soon] == soon - 24
    assert x["last_known"].iloc[soon] == row[pd.Timestamp("2026-06-04T05:00:00Z")]
    late = row[pd.Timestamp("2026-06-05T07:00:00Z")]  # 25.5 h ahead: two days back
    assert x["persist"].iloc[late] == late - 48
    # rows before the issue moment keep the day-ahead convention of the training rows
    train = row[pd.Timestamp("2026-06-03T08:00:00Z")]  # 16:00 local, issued 13:00 the day before
    assert x["persist"].iloc[train] == train - 48


def test_intraday_correction_fades_as_the_held_out_errors_do() -> None:
    rng = np.random.default_rng(11)
    index = pd.date_range("2026-01-01", periods=40 * 96, freq="15min", tz="UTC")
    x = pd.DataFrame(
        {
            "hour": (index.hour + index.minute / 60).astype(float),
            "a": rng.uniform(0, 1, len(index)),
        },
        index=index,
    )
    noise = np.zeros(len(index))
    for i in range(1, len(index)):  # errors that persist: AR(1) with 0.9 per step
        noise[i] = 0.9 * noise[i - 1] + rng.normal(0, 0.1)
    y = 10 + np.sin(6 * x["a"].to_numpy()) + noise
    model = QuantileForecaster("load").fit(x, y)
    assert 0.8 < model.rho < 0.95
    flat = np.tile([[9.0, 10.0, 11.0]], (8, 1))
    moved = model.intraday(flat, 2.0)
    assert moved[0, 1] == pytest.approx(10 + 2 * model.rho)
    assert moved[7, 1] == pytest.approx(10 + 2 * model.rho**8)
    assert np.allclose(moved[:, 2] - moved[:, 1], 1.0)  # the band moves with the median
    white = QuantileForecaster("load").fit(x, 10 + rng.normal(0, 0.1, len(index)))
    assert white.rho < 0.1  # errors that do not persist: no correction to speak of
