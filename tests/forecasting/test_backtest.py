"""Backtests on small synthetic series: no look-ahead, references as §9 defines them, skill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import BacktestConfig, run_backtest
from forecasting.features import k_known
from forecasting.metrics import coverage, nmae, nrmse, pinball


def synthetic_pv(days: int = 70, seed: int = 1) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly PV of a 1,000 kW plant at 45.5N 119.6E with cloudy days, and the day's cloudiness."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-04-01", periods=days * 24, freq="h", tz="UTC")
    local_hour = (index.hour + 8) % 24
    shape = np.clip(np.sin((local_hour - 6) / 12 * np.pi), 0, None)
    cloud_day = np.repeat(rng.uniform(0.2, 1.0, days), 24)
    power = 1000 * shape * cloud_day
    return pd.Series(power, index=index), pd.DataFrame({"clearness": cloud_day}, index=index)


def test_metrics_on_known_arrays() -> None:
    obs = np.array([0.0, 10.0, 20.0])
    pred = np.array([1.0, 8.0, 20.0])
    assert nmae(obs, pred, 10.0) == pytest.approx(0.1)
    assert nrmse(obs, pred, 10.0) == pytest.approx(np.sqrt(5 / 3) / 10)
    assert pinball(obs, {0.5: pred}, 1.0) == pytest.approx(0.5)
    assert coverage(obs, pred - 1, pred + 1) == pytest.approx(2 / 3)


def test_known_lag_rule_follows_the_issue_hour() -> None:
    index = pd.DatetimeIndex(
        [
            "2026-06-02T01:00:00+08:00",
            "2026-06-02T09:00:00+08:00",
            "2026-06-02T10:00:00+08:00",
            "2026-06-02T23:00:00+08:00",
        ]
    ).tz_convert("UTC")
    # issued 2026-06-01 10:00 local: t - 24 h is known before 10:00, else t - 48 h
    assert list(k_known(index, 10, "Asia/Shanghai")) == [1, 1, 2, 2]


def test_no_future_value_leaks_into_a_forecast() -> None:
    values, weather = synthetic_pv()
    cfg = BacktestConfig(target="pv", capacity_kw=1000, min_history_days=40)
    _, base = run_backtest(values, cfg, weather)
    day = pd.Timestamp("2026-05-20", tz="Asia/Shanghai")
    issue = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=10)).tz_convert("UTC")
    tampered = values.copy()
    tampered[tampered.index >= issue] = 999.0  # everything after the issue moment changes
    _, after = run_backtest(tampered, cfg, weather)
    rows = base.index.tz_convert("Asia/Shanghai").normalize() == day
    pd.testing.assert_frame_equal(
        base.loc[rows, ["p10", "p50", "p90", "persistence", "climatology"]],
        after.loc[rows, ["p10", "p50", "p90", "persistence", "climatology"]],
    )
    # while the day after does see the new data
    nxt = base.index.tz_convert("Asia/Shanghai").normalize() == day + pd.Timedelta(days=2)
    assert not np.allclose(base.loc[nxt, "persistence"], after.loc[nxt, "persistence"])


def test_pv_backtest_beats_persistence_with_weather() -> None:
    values, weather = synthetic_pv()
    metrics, _ = run_backtest(values, BacktestConfig(target="pv", capacity_kw=1000), weather)
    assert metrics["normaliser"] == 1000
    assert 42 <= metrics["days"] <= 43  # 70 UTC days touch 71 local days; 28 are history
    assert metrics["skill_vs_persistence"] > 0.5  # the clearness column explains the clouds
    assert 0.5 <= metrics["model"]["coverage_p10_p90"] <= 1.0
    # persistence is the value 24 h before (before 10:00) or 48 h before
    assert metrics["references"]["persistence_day_ahead"]["nrmse"] > metrics["model"]["nrmse"]


def test_cli_writes_metrics_json_and_names_bad_columns(tmp_path: Path) -> None:
    values, weather = synthetic_pv(days=50)
    frame = pd.DataFrame(
        {
            "time": values.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ac_kw": values.values,
            "clearness": weather["clearness"].values,
        }
    )
    data = tmp_path / "pv.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "metrics.json"
    cmd = [
        sys.executable,
        "-m",
        "zcpark",
        "forecast",
        "backtest",
        "--data",
        str(data),
        "--target",
        "pv",
        "--time-col",
        "time",
        "--value-col",
        "ac_kw",
        "--capacity-kw",
        "1000",
        "--weather-cols",
        "clearness",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(out.read_text())
    assert set(m) == {
        "target",
        "rows",
        "days",
        "issue_hour",
        "normaliser",
        "model",
        "references",
        "skill_vs_persistence",
    }
    assert set(m["model"]) == {"nmae", "nrmse", "pinball", "interval_score", "coverage_p10_p90"}
    assert set(m["references"]) == {"persistence_day_ahead", "climatology"}
    bad = subprocess.run(
        [*cmd[:-2], "--value-col", "nope"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--value-col: no column 'nope'" in bad.stderr


def test_bands_calibrate_on_earlier_errors_known_at_issue_time_then_on_held_out_days() -> None:
    from forecasting.backtest import BAND_DAYS, band_errors
    from forecasting.models import QuantileForecaster

    index = pd.date_range("2026-01-01", periods=90 * 24, freq="h", tz="UTC")
    hours = np.asarray(index.hour, dtype=np.int64)
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, len(index)) + 10
    p50 = np.full(len(index), 10.0)
    model = QuantileForecaster("load")
    model.holdout_resid, model.holdout_hours = np.array([7.0, -7.0]), np.array([1, 2])
    issued = index[80 * 24] - pd.Timedelta(hours=14)
    scored = index < issued
    resid, bins = band_errors(p50, y, index, hours, scored, issued, 24, model)
    recent = scored & (index >= issued - pd.Timedelta(days=BAND_DAYS))
    np.testing.assert_allclose(resid, (y - 10)[recent])  # own errors, the last 56 days only
    np.testing.assert_array_equal(bins, hours[recent])
    # a new site: 10 days of its own errors, so the held-out days' errors join them
    scored = (index < issued) & (index >= issued - pd.Timedelta(days=10))
    resid, bins = band_errors(p50, y, index, hours, scored, issued, 24, model)
    assert len(resid) == scored.sum() + 2 and list(resid[-2:]) == [7.0, -7.0]


def test_short_history_bands_cover_and_a_night_reading_below_zero_is_inside() -> None:
    """The new-site case: 28 days before the first forecast; the meter reads -3 W at night."""
    values, weather = synthetic_pv(days=100, seed=4)
    rng = np.random.default_rng(4)
    noisy = values * rng.uniform(0.8, 1.2, len(values))  # what the day's clearness misses
    noisy[values == 0] = -3.0  # inverter standby
    cfg = BacktestConfig(target="pv", capacity_kw=1000)
    metrics, out = run_backtest(noisy, cfg, weather)
    assert cfg.min_history_days == 28 and metrics["days"] >= 70
    assert 0.75 <= metrics["model"]["coverage_p10_p90"] <= 0.85
    night = out["obs"] == -3.0
    scored_night = night & out["p10"].notna()
    assert scored_night.sum() > 800  # 12 h a night
    # nights count like any hour: their bands cover the standby reading as often (the old bands,
    # pinned at [0, 0], never did)
    assert ((out["p10"] <= -3.0) & (out["p90"] >= -3.0))[scored_night].mean() >= 0.8
    assert out["p10"].min() >= -3.0 - 1e-5  # and no lower than the meter ever reads
