"""``zcpark forecast backtest`` (DESIGN.md §7, §9).

``--leads`` (``args.leads``, absent = off) also runs the lead-time backtest
(:mod:`forecasting.leadtime`: issued every 6 h for the next 48 h, as the server issues) and adds
its scores by lead bucket to metrics.json as ``by_lead``; §9's keys stay as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.errors import ConfigError
from forecasting.backtest import BacktestConfig, run_backtest
from forecasting.io import read_series
from forecasting.leadtime import run_lead_backtest


def run_backtest_cmd(args: argparse.Namespace) -> int:
    if not 0 <= args.issue_hour <= 23:
        raise ConfigError(args.data, "--issue-hour", f"{args.issue_hour} is not an hour 0..23")
    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(args.data, "--tz", f"{args.tz!r} is not an IANA time zone") from None
    if args.capacity_kw is not None and args.capacity_kw <= 0:
        raise ConfigError(args.data, "--capacity-kw", "must be positive")
    weather_cols = [c for c in args.weather_cols.split(",") if c]
    if args.workday_col and args.workday_col not in weather_cols:
        weather_cols.append(args.workday_col)
    if args.holidays:
        from config.factors import load_factors

        known = load_factors().holidays
        if args.holidays not in known:
            raise ConfigError(
                args.data,
                "--holidays",
                f"no calendar {args.holidays!r} in config/factors/holidays.yaml "
                f"(known: {', '.join(known)})",
            )
    values, weather = read_series(args.data, args.time_col, args.value_col, weather_cols)
    cfg = BacktestConfig(
        target=args.target,
        issue_hour=args.issue_hour,
        tz=args.tz,
        capacity_kw=args.capacity_kw,
        lat=args.lat,
        lon=args.lon,
        workday_col=args.workday_col,
        holidays=args.holidays,
    )
    try:
        metrics, _ = run_backtest(values, cfg, weather)
        if getattr(args, "leads", False):
            metrics["by_lead"], _ = run_lead_backtest(values, cfg, weather)
    except ValueError as exc:
        raise ConfigError(args.data, "--data", str(exc)) from None
    text = json.dumps(metrics, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
        m = metrics
        print(
            f"{args.target}: {m['days']} days, skill vs persistence {m['skill_vs_persistence']:.3f}, "
            f"nRMSE {m['model']['nrmse']:.3f} (persistence {m['references']['persistence_day_ahead']['nrmse']:.3f}), "
            f"P10-P90 coverage {m['model']['coverage_p10_p90']:.2f}; metrics in {args.out}",
            file=sys.stderr,
        )
    else:
        print(text)
    return 0
