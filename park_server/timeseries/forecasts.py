"""Stored forecast issues: the newest per park and target, and their accuracy by day against
the measured 15-minute values.
"""

from __future__ import annotations

import bisect
import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session, col, select

from config import Park
from park_server.db.tables import ForecastRow
from park_server.timeseries.queries import measured
from park_server.timeutil import DAY_MS, format_ts, local_now, now_ms


def latest(session: Session, park_id: str, target: str) -> dict[str, Any] | None:
    row = session.exec(
        select(ForecastRow)
        .where(ForecastRow.park_id == park_id, ForecastRow.target == target)
        .order_by(ForecastRow.issued_ms.desc())  # type: ignore[attr-defined]
    ).first()
    if row is None:
        return None
    return {
        "target": target,
        "issued": format_ts(row.issued_ms),
        "model": row.model,
        "meta": json.loads(row.meta_json),
        "points": json.loads(row.values_json),
    }


def _first_issues(
    session: Session, park_id: str, target: str, windows: list[tuple[int, int]]
) -> list[tuple[int, list[dict[str, Any]]] | None]:
    """For each window [from, to) [ms]: the first issue in it (issued ms and points), or None.
    The issue times of all windows in one read; the points only of the issues chosen."""
    if not windows:
        return []
    conn = session.connection()
    times = [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            text(
                "SELECT issued_ms, id FROM forecast WHERE park_id = :p AND target = :t AND "
                "issued_ms >= :s AND issued_ms < :e ORDER BY issued_ms, id"
            ),
            {"p": park_id, "t": target, "s": windows[0][0], "e": windows[-1][1]},
        ).all()
    ]
    issued = [t for t, _ in times]
    chosen: list[tuple[int, int] | None] = []
    for lo, hi in windows:
        k = bisect.bisect_left(issued, lo)
        chosen.append(times[k] if k < len(times) and issued[k] < hi else None)
    ids = sorted({c[1] for c in chosen if c is not None})
    points: dict[int, list[dict[str, Any]]] = {}
    if ids:
        rows = session.exec(
            select(ForecastRow.id, ForecastRow.values_json).where(col(ForecastRow.id).in_(ids))
        ).all()
        points = {i: json.loads(v) for i, v in rows if i is not None}
    return [None if c is None else (c[0], points[c[1]]) for c in chosen]


def accuracy(
    session: Session, park: Park, target: str, days: int, today: datetime | None = None
) -> list[dict[str, Any]]:
    """Per local day: the forecast issued first at or after 10:00 the day before, against the
    measured 15-minute values of the day (nMAE by capacity, or by mean load; P10–P90 coverage),
    and persistence — the measured profile of 24 h before as the forecast — on the day's
    intervals measured both days: its nMAE (normalised the same way) and the forecast's skill,
    1 − nMAE ÷ persistence nMAE (the monthly report's figures are these days, weighted)."""
    today = today or local_now(park.timezone)
    cap = capacity(park, target)
    first = (today - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    last = today.replace(hour=0, minute=0, second=0, microsecond=0)
    # the measurements of every day at once (and of the day before, for persistence): one read
    every = measured(
        session,
        park.id,
        target,
        int(first.timestamp() * 1000) - DAY_MS,
        int(last.timestamp() * 1000),
    )
    obs_ms = np.asarray(pd.DatetimeIndex(every.index).as_unit("ms").asi8, dtype=np.int64)
    obs = every.to_numpy(dtype=float)
    # §6's time stamps of the measured intervals, as the stored points carry them
    stamps = np.char.add(np.datetime_as_string(obs_ms.astype("datetime64[ms]"), unit="ms"), "Z")
    day_list = [
        (today - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        for back in range(days, 0, -1)
    ]
    windows = [
        (
            int((day - timedelta(days=1) + timedelta(hours=10)).timestamp() * 1000),
            int(day.timestamp() * 1000),
        )
        for day in day_list
    ]
    issues = _first_issues(session, park.id, target, windows)
    out = []
    for day, issue in zip(day_list, issues, strict=True):
        start, end = int(day.timestamp() * 1000), int((day + timedelta(days=1)).timestamp() * 1000)
        a, b = np.searchsorted(obs_ms, [start, end])
        entry: dict[str, Any] = {
            "date": day.date().isoformat(),
            "issued": None,
            "nmae": None,
            "coverage_p10_p90": None,
            "intervals": 0,
            **_persistence(obs_ms, obs, a, b, cap if target in ("pv", "wind") else None),
            "skill": None,
        }
        if issue is not None and b > a:
            issued_ms, points = issue
            pts = {p["ts"]: p for p in points}
            pairs = [
                (v, pts[s])
                for s, v in zip(stamps[a:b].tolist(), obs[a:b].tolist(), strict=True)
                if s in pts
            ]
            if pairs:
                o = np.array([v for v, _ in pairs])
                p50 = np.array([p["p50"] for _, p in pairs])
                lo = np.array([p["p10"] for _, p in pairs])
                hi = np.array([p["p90"] for _, p in pairs])
                norm = cap if target in ("pv", "wind") and cap else float(np.mean(np.abs(o))) or 1.0
                entry.update(
                    issued=format_ts(issued_ms),
                    intervals=len(pairs),
                    nmae=float(np.mean(np.abs(p50 - o)) / norm),
                    coverage_p10_p90=float(np.mean((o >= lo) & (o <= hi))),
                )
                if entry["persistence_nmae"]:
                    entry["skill"] = 1.0 - entry["nmae"] / entry["persistence_nmae"]
        out.append(entry)
    return out


def accuracy_summary(days: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`accuracy`'s scored days (those with an nMAE) taken together: nMAE and coverage
    weighted by each day's intervals, persistence nMAE by the intervals it holds, and the skill
    1 − nMAE ÷ persistence nMAE (None where persistence has no interval or no error)."""
    rows = [d for d in days if d["nmae"] is not None]
    n = np.array([r["intervals"] for r in rows], dtype=float)
    if not rows or not n.sum():
        return {
            "days": 0, "intervals": 0, "nmae": None, "persistence_nmae": None, "skill": None,
            "coverage_p10_p90": None,
        }  # fmt: skip
    nmae = float(np.sum(n * [r["nmae"] for r in rows]) / n.sum())
    cov = [r["coverage_p10_p90"] for r in rows]
    held = np.array([r["persistence_intervals"] for r in rows], dtype=float)
    pers = (
        float(np.sum(held * [r["persistence_nmae"] or 0.0 for r in rows]) / held.sum())
        if held.sum()
        else None
    )
    return {
        "days": len(rows),
        "intervals": int(n.sum()),
        "nmae": nmae,
        "persistence_nmae": pers,
        "skill": None if not pers else 1.0 - nmae / pers,
        "coverage_p10_p90": float(np.sum(n * cov) / n.sum()) if None not in cov else None,
    }


def _persistence(
    obs_ms: np.ndarray, obs: np.ndarray, a: int, b: int, cap: float | None
) -> dict[str, Any]:
    """nMAE of the values 24 h before as the forecast of ``obs[a:b]`` (one day), over the
    intervals measured both times, normalised by ``cap`` or by the mean of the day's values
    there; with how many intervals it holds."""
    day_ms = obs_ms[a:b]
    _, now_i, before_i = np.intersect1d(day_ms, obs_ms + DAY_MS, return_indices=True)
    if not len(now_i):
        return {"persistence_nmae": None, "persistence_intervals": 0}
    o, p = obs[a:b][now_i], obs[before_i]
    norm = cap if cap else float(np.mean(np.abs(o))) or 1.0
    return {
        "persistence_nmae": float(np.mean(np.abs(p - o)) / norm),
        "persistence_intervals": len(now_i),
    }


def capacity(park: Park, target: str) -> float | None:
    if target in ("pv", "wind"):
        caps = [a.capacity_kw for a in park.renewables if a.kind == target]
        return float(sum(caps)) if caps else None
    loads = [a.nominal_kw for a in park.loads] + [
        (f.min_kw + f.max_kw) / 2 for f in park.flexible_loads
    ]
    return float(sum(loads)) if loads else None


#: one live issue scored by lead time per this much time [ms]
SCORED_EVERY_MS = 3 * 3_600_000


def accuracy_by_lead(
    session: Session, park: Park, target: str, days: int, now_at: int | None = None
) -> list[dict[str, Any]]:
    """The live issues of the last ``days`` days scored by lead time (forecasting.leadtime's
    buckets 0–1 h, 1–6 h, 6–24 h, 24–48 h) against the measured 15-minute values: nMAE (by
    capacity, or by mean load) and P10–P90 coverage per bucket, with how many points each holds.
    The first issue of every 3 hours is scored (the job issues every 15 minutes; neighbours say
    nearly the same, and a week of them is 672 issues of 192 points)."""
    from forecasting.leadtime import LEAD_BUCKETS, lead_bucket

    end = now_at if now_at is not None else now_ms()
    start = end - days * 86_400_000
    # the first issue of every SCORED_EVERY_MS: issue times read for the whole range, points
    # only of the issues scored
    step = SCORED_EVERY_MS
    hours = [(max(h, start), min(h + step, end)) for h in range(start - start % step, end, step)]
    issues = [found for found in _first_issues(session, park.id, target, hours) if found]
    obs = measured(session, park.id, target, start, end)
    obs_ms = np.asarray(pd.DatetimeIndex(obs.index).as_unit("ms").asi8, dtype=np.int64)
    # the measured intervals by §6's time stamp, as the stored points carry them: no parsing
    stamps = np.char.add(np.datetime_as_string(obs_ms.astype("datetime64[ms]"), unit="ms"), "Z")
    by_ts = dict(
        zip(
            stamps.tolist(),
            zip(obs_ms.tolist(), obs.to_numpy(dtype=float).tolist(), strict=True),
            strict=True,
        )
    )
    leads: list[float] = []
    err: list[float] = []
    inside: list[bool] = []
    for issued, points in issues:
        for p in points:
            found = by_ts.get(p["ts"])
            if found is None:
                continue
            t, o = found
            leads.append((t - issued) / 3_600_000)  # to the interval's start
            err.append(abs(p["p50"] - o))
            inside.append(p["p10"] <= o <= p["p90"])
    cap = capacity(park, target)
    values = obs.to_numpy(dtype=float)
    norm = (
        cap
        if target in ("pv", "wind") and cap
        else float(np.mean(np.abs(values)))
        if len(values)
        else 1.0
    )
    bucket = lead_bucket(np.array(leads))
    e, c = np.array(err), np.array(inside)
    out = []
    for i, (name, lo, hi) in enumerate(LEAD_BUCKETS):
        sel = bucket == i
        n = int(sel.sum())
        out.append(
            {
                "lead": name,
                "from_h": lo,
                "to_h": hi,
                "points": n,
                "nmae": float(np.mean(e[sel]) / (norm or 1.0)) if n else None,
                "coverage_p10_p90": float(np.mean(c[sel])) if n else None,
            }
        )
    return out
