"""Rollups per meter and quantity at 15 min, 1 h and 1 day.

- Power-like quantities: the interval mean (of good and uncertain samples), min, max and count;
  for ``active_power_kw`` also the energy, mean × hours (15 min), summed upwards.
- Cumulative counters (``energy_*_kwh``): the energy in the interval, the sum of the increases
  between consecutive samples whose later sample lies in the interval. A decrease is a counter
  reset: the counter restarted from zero, so the increase is the new value itself.

Ingest only marks 15-minute buckets dirty (late data included); :func:`refresh_rollups` recomputes
them from the raw rows and then the hours and park-local days that contain them.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import Connection, text

from config.quantities import COUNTER_QUANTITIES
from park_server.timeutil import DAY_MS, HOUR_MS, QUARTER_MS, local_day_start_ms

BAD = 2


def counter_energy(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Increase attributed to each sample (the first gets 0): deltas, resets counted from zero."""
    if len(values) == 0:
        return np.zeros(0)
    delta = np.diff(values, prepend=values[0])
    return np.where(delta < 0, values, delta)


def _upsert(conn: Connection, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    keys = ("park_id", "meter_id", "quantity", "resolution", "ts_ms")
    conn.execute(
        text(
            "DELETE FROM rollup WHERE park_id = :park_id AND meter_id = :meter_id AND "
            "quantity = :quantity AND resolution = :resolution AND ts_ms = :ts_ms"
        ),
        [{k: r[k] for k in keys} for r in rows],
    )
    full = [r for r in rows if r.get("count")]
    if full:
        conn.execute(
            text(
                "INSERT INTO rollup (park_id, meter_id, quantity, resolution, ts_ms, value, min, "
                "max, count, energy_kwh) VALUES (:park_id, :meter_id, :quantity, :resolution, "
                ":ts_ms, :value, :min, :max, :count, :energy_kwh)"
            ),
            full,
        )


def _quarters(
    conn: Connection, park: str, meter: str, quantity: str, buckets: list[int]
) -> list[dict[str, object]]:
    lo, hi = min(buckets), max(buckets) + QUARTER_MS
    base = {"park_id": park, "meter_id": meter, "quantity": quantity, "resolution": "15min"}
    out: list[dict[str, object]] = []
    if quantity in COUNTER_QUANTITIES:
        prev = conn.execute(
            text(
                "SELECT ts_ms, value FROM measurement WHERE park_id = :p AND meter_id = :m AND "
                "quantity = :q AND ts_ms < :lo AND quality < :bad ORDER BY ts_ms DESC LIMIT 1"
            ),
            {"p": park, "m": meter, "q": quantity, "lo": lo, "bad": BAD},
        ).all()
        rows = conn.execute(
            text(
                "SELECT ts_ms, value FROM measurement WHERE park_id = :p AND meter_id = :m AND "
                "quantity = :q AND ts_ms >= :lo AND ts_ms < :hi AND quality < :bad ORDER BY ts_ms"
            ),
            {"p": park, "m": meter, "q": quantity, "lo": lo, "hi": hi, "bad": BAD},
        ).all()
        data = list(prev) + list(rows)
        ts = np.array([r[0] for r in data], dtype=np.int64)
        vals = np.array([r[1] for r in data], dtype=np.float64)
        inc = counter_energy(ts, vals)
        if prev:
            ts, vals, inc = ts[1:], vals[1:], inc[1:]
        sums: dict[int, list[float]] = defaultdict(list)
        for t, e in zip(ts.tolist(), inc.tolist(), strict=True):
            sums[t - t % QUARTER_MS].append(e)
        for b in buckets:
            incs = sums.get(b, [])
            counted = float(sum(incs))
            out.append(
                {
                    **base,
                    "ts_ms": b,
                    "value": counted,
                    "min": None,
                    "max": None,
                    "count": len(incs),
                    "energy_kwh": counted,
                }
            )
        return out
    rows = conn.execute(
        text(
            "SELECT (ts_ms / :qm) * :qm AS b, AVG(value), MIN(value), MAX(value), COUNT(*) "
            "FROM measurement WHERE park_id = :p AND meter_id = :m AND quantity = :q AND "
            "ts_ms >= :lo AND ts_ms < :hi AND quality < :bad GROUP BY b"
        ),
        {"qm": QUARTER_MS, "p": park, "m": meter, "q": quantity, "lo": lo, "hi": hi, "bad": BAD},
    ).all()
    found = {int(r[0]): r for r in rows}
    for b in buckets:
        r = found.get(b)
        if r is None:
            out.append({**base, "ts_ms": b, "count": 0})
            continue
        mean = float(r[1])
        energy: float | None = mean * 0.25 if quantity == "active_power_kw" else None
        out.append(
            {
                **base,
                "ts_ms": b,
                "value": mean,
                "min": float(r[2]),
                "max": float(r[3]),
                "count": int(r[4]),
                "energy_kwh": energy,
            }
        )
    return out


def _aggregate(
    conn: Connection,
    park: str,
    meter: str,
    quantity: str,
    resolution: str,
    starts: set[int],
    length: dict[int, int],
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    counter = quantity in COUNTER_QUANTITIES
    for start in sorted(starts):
        r = conn.execute(
            text(
                "SELECT SUM(value * count), SUM(count), MIN(min), MAX(max), SUM(energy_kwh), "
                "SUM(value) FROM rollup WHERE park_id = :p AND meter_id = :m AND quantity = :q "
                "AND resolution = '15min' AND ts_ms >= :lo AND ts_ms < :hi"
            ),
            {"p": park, "m": meter, "q": quantity, "lo": start, "hi": start + length[start]},
        ).one()
        count = int(r[1] or 0)
        row: dict[str, object] = {
            "park_id": park,
            "meter_id": meter,
            "quantity": quantity,
            "resolution": resolution,
            "ts_ms": start,
            "count": count,
        }
        if count:
            if counter:
                row.update(value=float(r[5]), min=None, max=None, energy_kwh=float(r[5]))
            else:
                row.update(
                    value=float(r[0]) / count,
                    min=r[2],
                    max=r[3],
                    energy_kwh=float(r[4]) if r[4] is not None else None,
                )
        out.append(row)
    return out


def refresh_rollups(
    conn: Connection,
    *,
    timezones: dict[str, str],
    limit: int = 20_000,
    only: tuple[str, str, str] | None = None,
) -> int:
    """Recompute dirty buckets (all, or those of one (park, meter, quantity)); return how many."""
    where, params = "", {}
    if only is not None:
        where = "WHERE park_id = :p AND meter_id = :m AND quantity = :q"
        params = {"p": only[0], "m": only[1], "q": only[2]}
    dirty = conn.execute(
        text(
            f"SELECT park_id, meter_id, quantity, bucket_ms FROM rollup_dirty {where} "
            f"ORDER BY park_id, meter_id, quantity, bucket_ms LIMIT {int(limit)}"
        ),
        params,
    ).all()
    if not dirty:
        return 0
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for p, m, q, b in dirty:
        groups[(p, m, q)].append(int(b))
    for (park, meter, quantity), buckets in groups.items():
        tz = timezones.get(park, "Asia/Shanghai")
        for chunk in _chunks(sorted(buckets)):
            _upsert(conn, _quarters(conn, park, meter, quantity, chunk))
        hours = {b - b % HOUR_MS for b in buckets}
        _upsert(
            conn,
            _aggregate(conn, park, meter, quantity, "1h", hours, dict.fromkeys(hours, HOUR_MS)),
        )
        days = {local_day_start_ms(b, tz) for b in buckets}
        lengths = {d: _day_length(d, tz) for d in days}
        _upsert(conn, _aggregate(conn, park, meter, quantity, "1d", days, lengths))
    conn.execute(
        text(
            "DELETE FROM rollup_dirty WHERE park_id = :p AND meter_id = :m AND quantity = :q "
            "AND bucket_ms = :b"
        ),
        [{"p": p, "m": m, "q": q, "b": b} for p, m, q, b in dirty],
    )
    return len(dirty)


def _chunks(buckets: list[int], span: int = 96) -> list[list[int]]:
    """Split sorted buckets so that no query spans more than ``span`` quarters."""
    out: list[list[int]] = []
    for b in buckets:
        if out and b - out[-1][0] < span * QUARTER_MS:
            out[-1].append(b)
        else:
            out.append([b])
    return out


def _day_length(start_ms: int, tz: str) -> int:
    """Length of a local day (23 or 25 h across DST changes; 24 h in Asia/Shanghai)."""
    nxt = local_day_start_ms(start_ms + DAY_MS + 2 * HOUR_MS, tz)
    return nxt - start_ms
