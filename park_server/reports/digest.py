"""The fingerprint of a report's data, and what changed between two revisions.

:func:`inputs_sha256` hashes the canonical JSON (keys sorted, no spaces, floats as Python's
shortest repr, UTF-8) of everything the report is computed from: the park settings and meters,
the month, every monthly entry, instrument (with its delivery profile), offset, budget, the
totals before the month, the plans, the forecast accuracy, the factor lines and the interval
energy. The interval rows (a month of 500 meters is 1.4 million) enter as the SHA-256 of their
canonical bytes — sorted by meter and interval start, epoch ms as int64 and kWh as float64
little-endian, NaN for a missing value — named in the JSON, so that hashing stays a fraction of
a second. The same data always gives the same hash, whatever order the rows came in and
whenever the report is made; the generation time is not part of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from park_server.reports.build import ReportInputs
from park_server.reports.data import epoch_ms
from park_server.reports.model import Change, Report, Value

#: bump when the report's arithmetic or layout of figures changes: a new version is new data
REPORT_FORMAT = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(
        _plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _plain(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return None if obj != obj else obj
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _plain(float(obj))
    if isinstance(obj, pd.Timestamp):
        return int(obj.value // 1_000_000)
    if isinstance(obj, pd.Series):
        ms = epoch_ms(pd.DatetimeIndex(obj.index))
        order = np.argsort(ms)
        return [[int(ms[i]), _plain(float(obj.iloc[i]))] for i in order]
    if isinstance(obj, BaseModel):
        return _plain(obj.model_dump(mode="python"))
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f: _plain(getattr(obj, f)) for f in obj.__dataclass_fields__}
    if isinstance(obj, Mapping):
        return {("null" if k is None else str(k)): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(x) for x in obj]
    raise TypeError(f"no canonical form for {type(obj).__name__}")


def intervals_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of the interval rows in canonical bytes (order of the rows does not matter)."""
    ts = epoch_ms(pd.DatetimeIndex(frame["ts"]))
    kwh = frame["kwh"].to_numpy(dtype=np.float64)
    avail = (
        frame["available_kwh"].to_numpy(dtype=np.float64)
        if "available_kwh" in frame.columns
        else np.full(len(frame), np.nan)
    )
    codes, names = _meter_codes(frame["meter"])
    order = np.lexsort((ts, codes))
    h = hashlib.sha256()
    h.update(canonical_json(list(names)).encode())
    for arr in (codes.astype("<i8"), ts.astype("<i8"), kwh, avail):
        a = np.ascontiguousarray(arr[order])
        if a.dtype.kind == "f":
            a = np.where(np.isnan(a), np.nan, a).astype("<f8")  # one NaN bit pattern
        h.update(a.tobytes())
    return h.hexdigest()


def _meter_codes(meter: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's position among the sorted names of the meters present, and those names (the
    query layer's categorical column read by its codes, not turned into a string per row)."""
    if isinstance(meter.dtype, pd.CategoricalDtype) and not meter.isna().any():
        raw = meter.cat.codes.to_numpy()
        cats = [str(c) for c in meter.cat.categories]
        present = np.flatnonzero(np.bincount(raw, minlength=len(cats)))
        names = sorted(cats[i] for i in present)
        rank = {name: i for i, name in enumerate(names)}
        remap = np.full(len(cats), -1, dtype=np.int64)
        remap[present] = [rank[cats[i]] for i in present]
        return remap[raw], names
    first, found = pd.factorize(meter.astype(str), sort=True)
    return np.asarray(first), [str(x) for x in found]


def factors_version(factor_lines: list[dict[str, object]]) -> str:
    """The factor table version: SHA-256 (16 hex) of the factor lines (name, value, unit,
    source, confidence) the figures use; any change to one of them is a new version."""
    return hashlib.sha256(canonical_json(factor_lines).encode()).hexdigest()[:16]


def inputs_document(ri: ReportInputs, factor_lines: list[dict[str, object]]) -> dict[str, Any]:
    inp = ri.carbon
    return {
        "report_format": REPORT_FORMAT,
        "park": inp.settings.park,
        "park_name": ri.park_name,
        "park_name_zh": ri.park_name_zh,
        "enterprise_names": dict(sorted(ri.enterprise_names.items())),
        "settings": inp.settings,
        "meters": list(inp.meters),
        "period": {
            "label": inp.period.label,
            "start": inp.period.start,
            "end": inp.period.end,
            "timezone": inp.period.timezone,
        },
        "as_of": inp.as_of,
        "monthly": list(inp.monthly),
        "guide": list(inp.guide),
        "certificates": [asdict(c) for c in inp.certificates],
        "trades": [
            {
                **{k: v for k, v in asdict(t).items() if k != "profile_kwh"},
                "profile_kwh": t.profile_kwh,
            }
            for t in inp.trades
        ],
        "offsets": list(inp.offsets),
        "budgets": list(inp.budgets),
        "year_before": inp.year_before,
        "month_before": inp.month_before,
        "last_year": inp.last_year,
        "plans": None if inp.plans is None else list(inp.plans),
        "planned_curtailed_kwh": inp.planned_curtailed_kwh,
        "accuracy": list(ri.accuracy),
        "factors": factor_lines,
        "intervals": {"rows": len(inp.intervals), "sha256": intervals_sha256(inp.intervals)},
    }


def inputs_sha256(ri: ReportInputs, factor_lines: list[dict[str, object]]) -> str:
    """SHA-256 (hex) of the canonical JSON of the report's inputs."""
    doc = inputs_document(ri, factor_lines)
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def changes(before: Report, after: Report) -> tuple[Change, ...]:
    """Every figure whose value differs between two revisions (``{scope}:{key}``), in the
    order of the newer report, then figures that are gone."""
    old, new = before.figures(), after.figures()
    out = [Change(k, old.get(k), v) for k, v in new.items() if not _same(old.get(k, _MISSING), v)]
    out += [Change(k, v, None) for k, v in old.items() if k not in new]
    return tuple(out)


_MISSING: Any = object()


def _same(a: Value, b: Value) -> bool:
    if a is _MISSING:
        return False
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
    return a == b
