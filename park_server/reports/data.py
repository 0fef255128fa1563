"""What the report shows beside the carbon figures, computed from the same interval rows:
data completeness per meter (with its gaps) and the 15-min energy by meter role.

Both read :attr:`park_server.carbon.CarbonInputs.intervals` (the rollups' long form: ``ts``,
``meter``, ``kwh``[, ``available_kwh``]), so they describe exactly the data the figures used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from park_server.carbon import CarbonInputs, MeterSpec, Period
from park_server.reports.model import IntervalTable

_MS_PER_INTERVAL = 15 * 60 * 1000


@dataclass(frozen=True)
class Gap:
    """Intervals ``[start_ms, end_ms)`` (UTC) in which a meter sent nothing."""

    start_ms: int
    end_ms: int

    @property
    def intervals(self) -> int:
        return (self.end_ms - self.start_ms) // _MS_PER_INTERVAL


@dataclass(frozen=True)
class MeterCompleteness:
    meter: str
    role: str
    enterprise: str | None
    primary: bool
    expected: int
    with_data: int
    gaps: tuple[Gap, ...]

    @property
    def share(self) -> float | None:
        return self.with_data / self.expected if self.expected else None


def epoch_ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Epoch milliseconds of a tz-aware index, whatever its resolution (s, ms, us, ns)."""
    return np.asarray(index.tz_convert("UTC").as_unit("ms").asi8, dtype=np.int64)


def expected_index(period: Period, as_of: pd.Timestamp | None) -> pd.DatetimeIndex:
    """The interval starts the month expects data for (none after ``as_of``)."""
    return period.intervals(as_of)


def cells(
    df: pd.DataFrame, ids: Sequence[str], index: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Where each interval row lies: the position of its meter in ``ids`` and of its ``ts`` in
    ``index`` (-1 where not among them). Read from the categorical's codes and, on a regular
    15-min index, from the timestamps by arithmetic: a month of 500 meters is 1.4 million rows,
    and looking each name and time up took two seconds."""
    meter = df["meter"]
    if isinstance(meter.dtype, pd.CategoricalDtype):
        lookup = np.append(pd.Index(ids).get_indexer(meter.cat.categories.astype(str)), -1)
        row = lookup[meter.cat.codes.to_numpy()]  # code -1 (no name) takes the appended -1
    else:
        row = pd.Index(ids).get_indexer(pd.Index(meter.astype(str)))
    starts = epoch_ms(index)
    if len(df) == 0 or len(starts) == 0:
        return row, np.full(len(df), -1, dtype=np.int64)
    if len(starts) > 1 and not np.all(np.diff(starts) == _MS_PER_INTERVAL):
        return row, index.get_indexer(pd.DatetimeIndex(df["ts"]).tz_convert("UTC"))
    since = epoch_ms(pd.DatetimeIndex(df["ts"])) - starts[0]
    k = since // _MS_PER_INTERVAL
    on_grid = (since >= 0) & (since % _MS_PER_INTERVAL == 0) & (k < len(starts))
    return row, np.where(on_grid, k, -1)


def meter_completeness(inp: CarbonInputs) -> list[MeterCompleteness]:
    """Per meter (primary and check meters alike): expected 15-min intervals of the period up
    to ``as_of``, the ones with a value, and each run of missing intervals as a gap."""
    index = expected_index(inp.period, inp.as_of)
    starts = epoch_ms(index)
    df = inp.intervals
    df = df[df["kwh"].notna()]
    ids = [m.id for m in inp.meters]
    row, col = cells(df, ids, index)
    ok = (row >= 0) & (col >= 0)
    seen = np.zeros((len(ids), len(index)), dtype=bool)
    seen[row[ok], col[ok]] = True
    out: list[MeterCompleteness] = []
    for k, spec in enumerate(inp.meters):
        out.append(
            MeterCompleteness(
                meter=spec.id,
                role=spec.role,
                enterprise=spec.enterprise,
                primary=spec.primary,
                expected=len(starts),
                with_data=int(seen[k].sum()),
                gaps=_gaps(starts, seen[k]),
            )
        )
    return out


def _gaps(starts: np.ndarray, seen: np.ndarray) -> tuple[Gap, ...]:
    if seen.all():
        return ()
    missing = (~seen).astype(np.int8)
    edges = np.diff(np.concatenate(([0], missing, [0])))
    begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return tuple(
        Gap(int(starts[b]), int(starts[e - 1]) + _MS_PER_INTERVAL)
        for b, e in zip(begins, ends, strict=True)
    )


def role_columns(meters: Sequence[MeterSpec], enterprises: Sequence[str]) -> tuple[str, ...]:
    """Columns of the intervals sheet: supply by role (split by sign), available power, and
    consumption per enterprise (and of no enterprise)."""
    cols = [
        "grid_import_kwh",
        "grid_export_kwh",
        "pv_kwh",
        "wind_kwh",
        "direct_green_kwh",
        "storage_charge_kwh",
        "storage_discharge_kwh",
        "pv_wind_available_kwh",
    ]
    loads = [m for m in meters if m.primary and m.role in ("load", "flexible_load")]
    for e in enterprises:
        cols.append(f"consumption_{e}_kwh")
    if any(m.enterprise is None for m in loads):
        cols.append("consumption_unassigned_kwh")
    cols.append("consumption_kwh")
    return tuple(cols)


def interval_table(inp: CarbonInputs) -> IntervalTable:
    """The month's energy per 15-min interval by meter role, primary meters only, each meter's
    energy split by sign as the balance does (docs/carbon.md: import = Σ max(grid, 0), …).

    A cell sums the meters of its role that reported in the interval (None when none did);
    ``complete`` marks the intervals in which every primary meter reported, the only ones the
    figures count. ``consumption_kwh`` is the load meters' sum, or the balance where the park
    has no load meter."""
    index = expected_index(inp.period, inp.as_of)
    n = len(index)
    prim = [m for m in inp.meters if m.primary]
    df = inp.intervals
    df = df[df["kwh"].notna()]
    which, pos = cells(df, [m.id for m in prim], index)
    keep = (which >= 0) & (pos >= 0)
    which, pos, df = which[keep], pos[keep], df[keep]
    kwh = df["kwh"].to_numpy(dtype=float)
    avail = (
        df["available_kwh"].to_numpy(dtype=float)
        if "available_kwh" in df.columns
        else np.full(len(df), np.nan)
    )

    def of_meters(test: Callable[[MeterSpec], bool]) -> np.ndarray:
        """Which rows belong to a meter passing ``test`` (decided per meter, not per row)."""
        mask: np.ndarray = np.array([test(m) for m in prim], dtype=bool)[which]
        return mask

    def role_is(*names: str) -> np.ndarray:
        return of_meters(lambda m: m.role in names)

    def owned_by(enterprise: str | None) -> np.ndarray:
        return of_meters(lambda m: (m.enterprise or None) == enterprise)

    enterprises = inp.settings.enterprise_ids
    columns = role_columns(prim, enterprises)
    sums = {c: np.zeros(n) for c in columns}
    counts = {c: np.zeros(n, dtype=np.int64) for c in columns}

    def add(col: str, mask: np.ndarray, values: np.ndarray) -> None:
        sums[col] += np.bincount(pos[mask], weights=values[mask], minlength=n)
        counts[col] += np.bincount(pos[mask], minlength=n)

    is_grid, is_sto = role_is("grid"), role_is("storage")
    add("grid_import_kwh", is_grid, np.maximum(kwh, 0.0))
    add("grid_export_kwh", is_grid, np.maximum(-kwh, 0.0))
    add("storage_discharge_kwh", is_sto, np.maximum(kwh, 0.0))
    add("storage_charge_kwh", is_sto, np.maximum(-kwh, 0.0))
    for role in ("pv", "wind", "direct_green"):
        add(f"{role}_kwh", role_is(role), np.maximum(kwh, 0.0))
    ren = role_is("pv", "wind")
    add("pv_wind_available_kwh", ren & ~np.isnan(avail), np.nan_to_num(avail))
    is_load = role_is("load", "flexible_load")
    for e in enterprises:
        add(
            f"consumption_{e}_kwh",
            is_load & owned_by(e),
            np.maximum(kwh, 0.0),
        )
    if "consumption_unassigned_kwh" in sums:
        add(
            "consumption_unassigned_kwh",
            is_load & owned_by(None),
            np.maximum(kwh, 0.0),
        )
    if is_load.any() or any(m.role in ("load", "flexible_load") for m in prim):
        add("consumption_kwh", is_load, np.maximum(kwh, 0.0))
    else:  # the balance: S + import − export + discharge − charge
        for col, sign in (
            ("pv_kwh", 1),
            ("wind_kwh", 1),
            ("direct_green_kwh", 1),
            ("grid_import_kwh", 1),
            ("grid_export_kwh", -1),
            ("storage_discharge_kwh", 1),
            ("storage_charge_kwh", -1),
        ):
            sums["consumption_kwh"] += sign * sums[col]
            counts["consumption_kwh"] += counts[col]
    # complete: every primary meter has a value in the interval
    seen = np.zeros((n, len(prim)), dtype=bool)  # a meter counts once per interval
    seen[pos, which] = True
    reporting = seen.sum(axis=1)
    complete = (reporting >= len(prim)).astype(int)
    table = np.column_stack([sums[c] for c in columns]).astype(object)
    table[np.column_stack([counts[c] == 0 for c in columns])] = None
    values = tuple(tuple(r) for r in table.tolist())
    return IntervalTable(
        columns=columns,
        ts_ms=tuple(int(x) for x in epoch_ms(index)),
        complete=tuple(int(x) for x in complete),
        values=values,
    )
