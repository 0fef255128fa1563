"""Rollups per meter and quantity at 15 min, 1 h and park-local days (the rules: docs/rollups.md).

Only samples whose quality is not ``bad`` are rolled up (they are stored all the same).

- Power-like quantities: the interval mean of the samples, min, max and count. For
  ``active_power_kw`` also the covered time and the energy, mean × covered hours: each sample
  stands for the time to the next sample, but at most twice the gap from the sample before it
  and at most 15 min (:func:`sample_spans_ms`), so a partial interval (the one in progress, or one
  with a gap) counts only the time its samples cover.
- Angles (``wind_direction_deg``): the vector (circular) mean, atan2(Σ sin, Σ cos), in [0, 360),
  with the mean resultant length (1: all alike, 0: no prevailing direction); hours and days are the
  vector mean of every sample, not of the quarter means.
- Cumulative counters (``energy_*_kwh``): the energy in the interval, the sum of the increases
  between consecutive samples whose later sample lies in the interval (:func:`counter_energy`). A
  drop to near zero is a reset; any other decrease is counted in ``suspect_decreases`` and adds no
  energy.

Ingest only marks 15-minute buckets dirty (late data included); :func:`refresh_rollups`, run by
the rollup job and never by a GET, recomputes them from the raw rows and then the hours and days
that contain them. Rows are written as upserts and a dirty mark is deleted only if it still holds
the version that was read, so ingest and rollups (or two rollups) may run at the same time.
Rewriting a bucket of a month that has closed renews the park's carbon token in the same
transaction (park_server.timeseries.carbon_cache: the closed months' cached totals).

It is one piece, past 400 lines, because the 15-minute, hourly and daily rules read and write the
same rows and must agree (an hour is the sum of its quarters).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from config.quantities import COUNTER_QUANTITIES
from park_server.timeseries.carbon_cache import renew_token
from park_server.timeutil import (
    DAY_MS,
    HOUR_MS,
    QUARTER_MS,
    local_day_start_ms,
    local_month_start_ms,
    now_ms,
)

BAD = 2
#: a counter reading below this fraction of the one before is a reset (the counter restarted)
RESET_FRACTION = 0.1
#: angular quantities, whose means are vector means [degrees]
ANGLE_QUANTITIES = frozenset({"wind_direction_deg"})
#: the quantity whose rollups carry covered time and energy
POWER = "active_power_kw"
#: the longest time one sample stands for [ms]
MAX_SPAN_MS = QUARTER_MS

Rollup = dict[str, Any]
#: how far ahead the rollup refresh looks for a month that is closing [ms] (carbon_cache)
CLOSING_MARGIN_MS = HOUR_MS


def counter_energy(
    values: np.ndarray, *, rollover_kwh: float | None = None, reset_fraction: float = RESET_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Increase attributed to each reading [kWh] (the first gets 0) and whether it is a suspect
    decrease.

    A rise counts as it is. A reading below ``reset_fraction`` of the one before is a reset: the
    counter restarted from zero, so the increase is the new reading (plus ``rollover_kwh`` − old
    when the counter is known to wrap at ``rollover_kwh``). Any other decrease (a float counter's
    jitter, a meter read wrongly) adds nothing and is flagged; the next increase counts from it.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    before = np.concatenate((values[:1], values[:-1]))
    delta = values - before
    down = delta < 0
    reset = down & (values < reset_fraction * before)
    since_reset = values if rollover_kwh is None else values + np.maximum(rollover_kwh - before, 0)
    inc = np.where(reset, since_reset, np.where(down, 0.0, delta))
    return inc, down & ~reset


def sample_spans_ms(
    ts: np.ndarray, *, before_ms: int | None = None, after_ms: int | None = None
) -> np.ndarray:
    """The time each sample stands for [ms], from sorted time stamps ``ts`` [ms].

    A sample stands for the time to the next sample, but at most twice the gap from the sample
    before it (so one missed poll is bridged, two are a gap) and at most :data:`MAX_SPAN_MS`. The
    newest sample, with no next one, stands for twice the gap before it; a first sample for the
    gap to the next; a lone sample for 15 min. ``before_ms``/``after_ms`` are the neighbouring
    samples outside ``ts``, if any. Spans never overlap: a span ends at or before the next sample.
    """
    ts = np.asarray(ts, dtype=np.int64)
    n = len(ts)
    big = np.int64(MAX_SPAN_MS)
    to_next = np.full(n, big, dtype=np.int64)
    from_prev = np.full(n, big, dtype=np.int64)
    if n > 1:
        to_next[:-1] = np.diff(ts)
        from_prev[1:] = 2 * np.diff(ts)
    if n and after_ms is not None:
        to_next[-1] = after_ms - ts[-1]
    if n and before_ms is not None:
        from_prev[0] = 2 * (ts[0] - before_ms)
    return np.minimum(np.minimum(to_next, from_prev), big)


def _covered_ms(ts: np.ndarray, spans: np.ndarray, buckets: list[int]) -> dict[int, int]:
    """Covered time of each bucket [ms]: the parts of the samples' spans inside it (a span is at
    most one quarter, so it reaches at most into the next bucket)."""
    own = ts - ts % QUARTER_MS
    ends = ts + spans
    inside = np.minimum(ends, own + QUARTER_MS) - ts
    spill = np.maximum(ends - (own + QUARTER_MS), 0)
    out: dict[int, int] = defaultdict(int)
    for b, a, s in zip(own.tolist(), inside.tolist(), spill.tolist(), strict=True):
        out[b] += a
        if s:
            out[b + QUARTER_MS] += s
    return {b: out.get(b, 0) for b in buckets}


def _raw(
    conn: Connection, park: str, meter: str, quantity: str, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute(
        text(
            "SELECT ts_ms, value FROM measurement WHERE park_id = :p AND meter_id = :m AND "
            "quantity = :q AND ts_ms >= :lo AND ts_ms < :hi AND quality < :bad ORDER BY ts_ms"
        ),
        {"p": park, "m": meter, "q": quantity, "lo": lo, "hi": hi, "bad": BAD},
    ).all()
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    return ts, np.array([r[1] for r in rows], dtype=np.float64)


def _neighbour(
    conn: Connection, park: str, meter: str, quantity: str, ts: int, *, before: bool
) -> tuple[int, float] | None:
    """The newest good sample before ``ts``, or the oldest at or after it."""
    cmp, order = ("<", "DESC") if before else (">=", "ASC")
    r = conn.execute(
        text(
            "SELECT ts_ms, value FROM measurement WHERE park_id = :p AND meter_id = :m AND "
            f"quantity = :q AND ts_ms {cmp} :t AND quality < :bad ORDER BY ts_ms {order} LIMIT 1"
        ),
        {"p": park, "m": meter, "q": quantity, "t": ts, "bad": BAD},
    ).first()
    return (int(r[0]), float(r[1])) if r else None


def _by_bucket(ts: np.ndarray) -> dict[int, slice]:
    """Slices of sorted ``ts`` by 15-minute bucket."""
    out: dict[int, slice] = {}
    if len(ts) == 0:
        return out
    b = ts - ts % QUARTER_MS
    cuts = np.flatnonzero(np.diff(b)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(ts)]))
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        out[int(b[s])] = slice(s, e)
    return out


def _quarters(
    conn: Connection,
    park: str,
    meter: str,
    quantity: str,
    buckets: list[int],
    *,
    rollover_kwh: float | None = None,
) -> list[Rollup]:
    """15-minute rollups of sorted ``buckets``, all within one chunk (:func:`_chunks`)."""
    lo, hi = min(buckets), max(buckets) + QUARTER_MS
    base = {"park_id": park, "meter_id": meter, "quantity": quantity, "resolution": "15min"}
    out: list[Rollup] = []
    if quantity in COUNTER_QUANTITIES:
        prev = _neighbour(conn, park, meter, quantity, lo, before=True)
        ts, vals = _raw(conn, park, meter, quantity, lo, hi)
        if prev is not None:
            both = np.concatenate(([prev[1]], vals))
            inc, suspect = counter_energy(both, rollover_kwh=rollover_kwh)
            inc, suspect = inc[1:], suspect[1:]
        else:
            inc, suspect = counter_energy(vals, rollover_kwh=rollover_kwh)
        slices = _by_bucket(ts)
        for b in buckets:
            sl = slices.get(b)
            if sl is None:
                out.append({**base, "ts_ms": b, "count": 0})
                continue
            energy = float(inc[sl].sum())
            out.append(
                {
                    **base,
                    "ts_ms": b,
                    "value": energy,
                    "count": sl.stop - sl.start,
                    "energy_kwh": energy,
                    "suspect_decreases": int(suspect[sl].sum()),
                }
            )
        return out
    if quantity in ANGLE_QUANTITIES:
        ts, vals = _raw(conn, park, meter, quantity, lo, hi)
        rad = np.radians(vals)
        cos, sin = np.cos(rad), np.sin(rad)
        slices = _by_bucket(ts)
        for b in buckets:
            sl = slices.get(b)
            if sl is None:
                out.append({**base, "ts_ms": b, "count": 0})
                continue
            n = sl.stop - sl.start
            out.append(
                {**base, "ts_ms": b, **_angle(float(cos[sl].sum()), float(sin[sl].sum()), n)}
            )
        return out
    if quantity == POWER:
        # spans of samples in the bucket before ``lo`` reach into ``lo``; the samples either side
        # of the fetched ones give the first and last their gaps
        start = lo - QUARTER_MS
        ts, vals = _raw(conn, park, meter, quantity, start, hi)
        before = _neighbour(conn, park, meter, quantity, start, before=True)
        after = _neighbour(conn, park, meter, quantity, hi, before=False)
        spans = sample_spans_ms(
            ts,
            before_ms=before[0] if before else None,
            after_ms=after[0] if after else None,
        )
        covered = _covered_ms(ts, spans, buckets)
        slices = _by_bucket(ts)
        for b in buckets:
            sl = slices.get(b)
            if sl is None:
                out.append({**base, "ts_ms": b, "count": 0})
                continue
            v = vals[sl]
            mean = float(v.mean())
            out.append(
                {
                    **base,
                    "ts_ms": b,
                    "value": mean,
                    "min": float(v.min()),
                    "max": float(v.max()),
                    "count": len(v),
                    "covered_ms": covered[b],
                    "energy_kwh": mean * covered[b] / HOUR_MS,
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
        out.append(
            {
                **base,
                "ts_ms": b,
                "value": float(r[1]),
                "min": float(r[2]),
                "max": float(r[3]),
                "count": int(r[4]),
            }
        )
    return out


def _angle(cos_sum: float, sin_sum: float, n: int) -> dict[str, Any]:
    """Vector mean [degrees, 0 ≤ θ < 360] and mean resultant length of ``n`` unit vectors."""
    mean = float(np.degrees(np.arctan2(sin_sum, cos_sum))) % 360.0
    if mean >= 360.0:  # −1e-15 % 360 rounds to 360.0
        mean = 0.0
    return {"value": mean, "count": n, "resultant": float(np.hypot(cos_sum, sin_sum)) / n}


def _aggregate(
    conn: Connection,
    park: str,
    meter: str,
    quantity: str,
    resolution: str,
    starts: set[int],
    length: dict[int, int],
) -> list[Rollup]:
    """Hours or days from the 15-minute rollups they contain (read in one query for all of
    ``starts``, then shared out: one query per hour made weeks of late data slow to roll up)."""
    out: list[Rollup] = []
    ordered = sorted(starts)
    if not ordered:
        return out
    found = conn.execute(
        text(
            "SELECT ts_ms, value, min, max, count, energy_kwh, covered_ms, suspect_decreases, "
            "resultant FROM rollup WHERE park_id = :p AND meter_id = :m AND quantity = :q "
            "AND resolution = '15min' AND ts_ms >= :lo AND ts_ms < :hi AND count > 0 "
            "ORDER BY ts_ms"
        ),
        {
            "p": park,
            "m": meter,
            "q": quantity,
            "lo": ordered[0],
            "hi": ordered[-1] + length[ordered[-1]],
        },
    ).all()
    within: dict[int, list[Any]] = {start: [] for start in ordered}
    for r in found:
        i = bisect.bisect_right(ordered, int(r[0])) - 1
        if i >= 0 and int(r[0]) < ordered[i] + length[ordered[i]]:
            within[ordered[i]].append(r[1:])
    for start in ordered:
        rows = within[start]
        row: Rollup = {
            "park_id": park,
            "meter_id": meter,
            "quantity": quantity,
            "resolution": resolution,
            "ts_ms": start,
            "count": sum(int(r[3]) for r in rows),
        }
        out.append(row)
        if not rows:
            continue
        if quantity in COUNTER_QUANTITIES:
            energy = sum(float(r[0]) for r in rows)
            row.update(
                value=energy,
                energy_kwh=energy,
                suspect_decreases=sum(int(r[6]) for r in rows),
            )
        elif quantity in ANGLE_QUANTITIES:
            # the quarters' resultant vectors, weighted by their counts, sum to Σ (cos, sin)
            w = [int(r[3]) * (1.0 if r[7] is None else float(r[7])) for r in rows]
            cos_sum = sum(wi * np.cos(np.radians(r[0])) for wi, r in zip(w, rows, strict=True))
            sin_sum = sum(wi * np.sin(np.radians(r[0])) for wi, r in zip(w, rows, strict=True))
            row.update(_angle(float(cos_sum), float(sin_sum), row["count"]))
        else:
            row.update(
                value=sum(float(r[0]) * int(r[3]) for r in rows) / row["count"],
                min=min(float(r[1]) for r in rows),
                max=max(float(r[2]) for r in rows),
            )
            if quantity == POWER:
                # (quarters rolled up before covered time was kept count 0 until recomputed)
                row.update(
                    energy_kwh=sum(float(r[4] or 0.0) for r in rows),
                    covered_ms=sum(int(r[5] or 0) for r in rows),
                )
    return out


_FIELDS = (
    "value",
    "min",
    "max",
    "count",
    "energy_kwh",
    "covered_ms",
    "suspect_decreases",
    "resultant",
)
_KEY = ("park_id", "meter_id", "quantity", "resolution", "ts_ms")
_UPSERT = text(
    f"INSERT INTO rollup ({', '.join(_KEY + _FIELDS)}) VALUES "
    f"({', '.join(':' + c for c in _KEY + _FIELDS)}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _FIELDS)
)
_DELETE = text(
    "DELETE FROM rollup WHERE park_id = :park_id AND meter_id = :meter_id AND "
    "quantity = :quantity AND resolution = :resolution AND ts_ms = :ts_ms"
)


def _write(conn: Connection, rows: list[Rollup]) -> None:
    """Upsert the intervals with data and delete those without (no sample is left in them)."""
    rows = sorted(rows, key=lambda r: r["ts_ms"])  # one lock order for every writer
    full = [{**dict.fromkeys(_FIELDS), "suspect_decreases": 0, **r} for r in rows if r.get("count")]
    empty = [{k: r[k] for k in _KEY} for r in rows if not r.get("count")]
    if empty:
        conn.execute(_DELETE, empty)
    if full:
        conn.execute(_UPSERT, full)


def refresh_rollups(
    conn: Connection,
    *,
    timezones: dict[str, str],
    limit: int = 20_000,
    rollovers: dict[tuple[str, str], float] | None = None,
) -> int:
    """Recompute up to ``limit`` dirty buckets and the hours and days containing them; return how
    many marks were read. A mark is deleted only if it still holds the version read here: one set
    meanwhile (by a batch this run may not have seen) stays for the next run. ``rollovers`` gives
    the value [kWh] at which a (park, meter)'s counters wrap, where the park file says so."""
    dirty = conn.execute(
        text(
            "SELECT park_id, meter_id, quantity, bucket_ms, version FROM rollup_dirty "
            f"ORDER BY park_id, meter_id, quantity, bucket_ms LIMIT {int(limit)}"
        )
    ).all()
    if not dirty:
        return 0
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for p, m, q, b, _ in dirty:
        groups[(str(p), str(m), str(q))].append(int(b))
    # a bucket of a month already closed: that park's cached month totals no longer hold. The
    # month is taken CLOSING_MARGIN_MS ahead, so that a refresh running as a month ends (or on a
    # host whose clock is behind a reader's) renews for the month a reader may already deem closed
    ahead = now_ms() + CLOSING_MARGIN_MS
    month_start = {
        p: local_month_start_ms(ahead, timezones.get(p, "Asia/Shanghai")) for p, _, _ in groups
    }
    stale = {p for (p, _, _), buckets in groups.items() if min(buckets) < month_start[p]}
    if stale:
        renew_token(conn, sorted(stale))
    for (park, meter, quantity), buckets in sorted(groups.items()):
        tz = timezones.get(park, "Asia/Shanghai")
        for chunk in _chunks(sorted(buckets)):
            rollover = (rollovers or {}).get((park, meter))
            _write(conn, _quarters(conn, park, meter, quantity, chunk, rollover_kwh=rollover))
        hours = {b - b % HOUR_MS for b in buckets}
        _write(
            conn,
            _aggregate(conn, park, meter, quantity, "1h", hours, dict.fromkeys(hours, HOUR_MS)),
        )
        days = {local_day_start_ms(b, tz) for b in buckets}
        lengths = {d: _day_length(d, tz) for d in days}
        _write(conn, _aggregate(conn, park, meter, quantity, "1d", days, lengths))
    conn.execute(
        text(
            "DELETE FROM rollup_dirty WHERE park_id = :p AND meter_id = :m AND quantity = :q "
            "AND bucket_ms = :b AND version = :v"
        ),
        [{"p": p, "m": m, "q": q, "b": b, "v": v} for p, m, q, b, v in dirty],
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
