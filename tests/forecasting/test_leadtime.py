"""The lead-time backtest (forecasting.leadtime): buckets, no look-ahead, scores by bucket, and the
``--leads`` option of the backtest command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import BacktestConfig
from forecasting.cli import run_backtest_cmd
from forecasting.leadtime import LEAD_BUCKETS, LeadConfig, lead_bucket, run_lead_backtest


def synthetic_load(days: int = 60, seed: int = 2) -> pd.Series:
    """Hourly load [kW]: a daily shape, weekends lower, and slow AR(1) noise (so the newest
    measurement tells something about the next hours)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-03-01", periods=days * 24, freq="h", tz="UTC")
    local = index.tz_convert("Asia/Shanghai")
    shape = 1000 + 300 * np.sin((local.hour - 8) / 24 * 2 * np.pi)
    shape = shape * np.where(local.day_of_week >= 5, 0.8, 1.0)
    noise = np.zeros(len(index))
    for i in range(1, len(index)):
        noise[i] = 0.95 * noise[i - 1] + rng.normal(0, 15)
    return pd.Series(shape + noise, index=index)


def test_lead_buckets_are_half_open_hours() -> None:
    leads = np.array([0.0, 0.75, 1.0, 5.9, 6.0, 23.0, 24.0, 47.0, 48.0])
    assert list(lead_bucket(leads)) == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert [b[0] for b in LEAD_BUCKETS] == ["0-1h", "1-6h", "6-24h", "24-48h"]


def test_issues_see_nothing_after_their_moment_and_short_leads_score_better() -> None:
    values = synthetic_load()
    cfg = BacktestConfig(target="load")
    leads = LeadConfig(every_hours=12)
    by_lead, rows = run_lead_backtest(values, cfg, leads=leads)
    assert set(by_lead) == {"0-1h", "1-6h", "6-24h", "24-48h"}
    assert (rows["lead_h"] >= 0).all() and (rows["lead_h"] < 48).all()
    # one issue's rows, with every value from its moment on changed: the same forecasts
    issued = pd.DatetimeIndex(rows["issued"]).unique()[10]
    tampered = values.copy()
    tampered[tampered.index >= issued] += 500.0
    _, after = run_lead_backtest(tampered, cfg, leads=leads)
    cols = ["time", "p10", "p50", "p90", "persistence"]
    pd.testing.assert_frame_equal(
        rows.loc[rows["issued"] == issued, cols].reset_index(drop=True),
        after.loc[after["issued"] == issued, cols].reset_index(drop=True),
    )
    # the newest measurement helps the first hour: it beats the day-ahead horizon
    assert by_lead["0-1h"]["nrmse"] < by_lead["24-48h"]["nrmse"]
    for scores in by_lead.values():
        assert set(scores) >= {"nmae", "nrmse", "pinball", "interval_score", "coverage_p10_p90"}
        assert 0.6 <= scores["coverage_p10_p90"] <= 1.0


def test_backtest_command_adds_by_lead_with_leads(tmp_path: Path) -> None:
    values = synthetic_load(days=40)
    data = tmp_path / "load.csv"
    pd.DataFrame(
        {"time": values.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "kw": values.to_numpy()}
    ).to_csv(data, index=False)
    out = tmp_path / "metrics.json"
    args = argparse.Namespace(
        data=str(data),
        target="load",
        time_col="time",
        value_col="kw",
        capacity_kw=None,
        lat=None,
        lon=None,
        weather_cols="",
        workday_col=None,
        holidays=None,
        issue_hour=10,
        tz="Asia/Shanghai",
        out=str(out),
        leads=True,
    )
    assert run_backtest_cmd(args) == 0
    m = json.loads(out.read_text())
    assert {"model", "references", "skill_vs_persistence", "by_lead"} <= set(m)
    assert list(m["by_lead"]) == ["0-1h", "1-6h", "6-24h", "24-48h"]
    assert m["by_lead"]["1-6h"]["rows"] > 0
    assert 0.5 < m["by_lead"]["6-24h"]["coverage_p10_p90"] <= 1.0
    assert m["by_lead"]["6-24h"]["skill_vs_persistence"] == pytest.approx(
        1 - m["by_lead"]["6-24h"]["nrmse"] / m["by_lead"]["6-24h"]["persistence_nrmse"]
    )
