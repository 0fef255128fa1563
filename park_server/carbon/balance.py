"""Interval energy balance of the park and its enterprises, per 15 minutes.

Input is interval energy in the long form the rollups give: one row per interval and meter,
``ts`` (interval start, tz-aware), ``meter``, ``kwh`` (the energy of the interval, signed as
DESIGN.md §2: grid + import, storage + discharge, generation and load + ) and, where a
renewable meter reports available power, ``available_kwh``. A missing row or a NaN is a gap:
never read as zero. An interval counts in the balance only when every primary meter has data
in it ("complete"); the others are NaN in every flow and lower ``completeness``.

Per complete interval i (all kWh; docs/carbon.md has the same equations):

- S_i = pv_i + wind_i + direct_green_i; import/export and charge/discharge split by sign per meter.
- consumption_i = Σ load and flexible-load meters, or, where the park has none,
  S_i + import_i − export_i + discharge_i − charge_i.
- Green goes first to the loads, then into storage, the rest is exported or lost:
  U_i = min(S_i, consumption_i); green_charge_i = min(charge_i, S_i − U_i).
- Storage keeps green and on-site fractions of what it holds (a well-mixed store, in cell
  energy): a discharge is green at the fraction held at the start of the interval.
- G_i = min(consumption_i, U_i + green_discharge_i); exports are never green consumption.

Enterprises: consumption from their own load meters; G_i shared by the park rule (pro rata
to the interval's consumption, or fixed shares capped at each one's consumption, the rest to
the others pro rata to their unmet consumption); grid import shared pro rata to non-green
consumption; every other flow in proportion to the green share (the consumption share in an
interval without green). Load meters without an enterprise, or the whole park where
consumption is a balance, are :data:`UNASSIGNED`, so enterprises plus ``UNASSIGNED`` add up to
the park in every interval and flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from park_server.carbon.errors import CarbonInputError
from park_server.carbon.inputs import LOAD_ROLES, CarbonSettings, MeterSpec, StorageState
from park_server.carbon.period import Period

FloatArray = npt.NDArray[np.float64]

#: Consumption that belongs to no enterprise (its id can not clash: ids start with a letter).
UNASSIGNED = "_unassigned"

CurtailmentBasis = Literal["measured", "planned", "none"]

#: Flows of the balance, kWh per interval; the first ten are §10's ``energy_kwh`` keys' sources.
FLOWS = (
    "consumption",
    "pv",
    "wind",
    "direct_green",
    "grid_import",
    "grid_export",
    "storage_charge",
    "storage_discharge",
    "storage_loss",
    "curtailed",
    "green",
    "green_onsite",
    "green_charge",
    "green_discharge",
)
#: Flows shared between enterprises in proportion to their green share of the interval.
_GREEN_WEIGHTED = tuple(f for f in FLOWS if f not in ("consumption", "grid_import", "green"))

#: Cell energy below which the store counts as empty [kWh] (rounding of a full discharge).
_EMPTY_KWH = 1e-6


@dataclass(frozen=True)
class EnergyBalance:
    """The balance of one period. Frames are indexed by interval start (UTC), columns FLOWS."""

    park: pd.DataFrame
    enterprises: dict[str, pd.DataFrame]
    complete: pd.Series
    #: share of expected primary meter-intervals with data, park-wide [-]
    completeness: float
    #: the same over each enterprise's own meters plus the park's supply meters [-]
    enterprise_completeness: dict[str, float]
    curtailment_basis: CurtailmentBasis
    #: True where consumption comes from load meters, False where it is the balance
    consumption_metered: bool
    storage_end: StorageState


def _wide(
    intervals: pd.DataFrame, spec: dict[str, MeterSpec], known: set[str], index: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long rows as interval × meter frames of kWh and available kWh (NaN: no data)."""
    for column in ("ts", "meter", "kwh"):
        if column not in intervals.columns:
            raise CarbonInputError(f"intervals.{column}", "column missing")
    ts = pd.DatetimeIndex(intervals["ts"])
    if ts.tz is None:
        raise CarbonInputError("intervals.ts", "interval starts must carry a time zone (UTC)")
    codes, names = pd.factorize(intervals["meter"])  # a few names, many rows: map the names
    unknown = sorted(str(m) for m in names if m not in known)
    if unknown:
        raise CarbonInputError("intervals.meter", f"unknown meter {unknown[0]!r}")
    ids = list(spec)
    position = {m: k for k, m in enumerate(ids)}
    col = np.array([position.get(str(m), -1) for m in names], dtype=np.int64)[codes]
    row = index.get_indexer(ts.tz_convert("UTC"))
    keep = (row >= 0) & (col >= 0)  # inside the period, a primary meter
    row, col = row[keep], col[keep]
    flat = row * len(ids) + col
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        r, c = divmod(int(uniq[counts > 1][0]), len(ids))
        raise CarbonInputError(
            "intervals", f"meter {ids[c]!r} has two rows for interval {index[r].isoformat()}"
        )

    def fill(values: npt.ArrayLike) -> pd.DataFrame:
        out = np.full((len(index), len(ids)), np.nan)
        out[row, col] = np.asarray(values, dtype=float)[keep]
        return pd.DataFrame(out, index=index, columns=ids)

    kwh = fill(intervals["kwh"].to_numpy(dtype=float, na_value=np.nan))
    if "available_kwh" in intervals.columns:
        avail = fill(intervals["available_kwh"].to_numpy(dtype=float, na_value=np.nan))
    else:
        avail = pd.DataFrame(np.nan, index=index, columns=ids)
    return kwh, avail


def _role_sum(kwh: pd.DataFrame, ids: list[str], sign: int = 1) -> FloatArray:
    """Σ over ``ids`` of the positive part of sign·kwh, per interval [kWh]."""
    if not ids:
        return np.zeros(len(kwh))
    return np.asarray((sign * kwh[ids]).clip(lower=0).sum(axis=1, min_count=1).fillna(0.0))


@dataclass
class _Store:
    """Cell energy of the storage fleet and its green and on-site parts [kWh]."""

    energy: float
    green: float
    onsite: float
    initial: StorageState

    def fractions(self) -> tuple[float, float]:
        if self.energy <= _EMPTY_KWH:
            return self.initial.green_fraction, self.initial.onsite_fraction
        return self.green / self.energy, self.onsite / self.energy


def _storage_green(
    charge: FloatArray,
    discharge: FloatArray,
    green_charge: FloatArray,
    onsite_charge: FloatArray,
    settings: CarbonSettings,
) -> tuple[FloatArray, FloatArray, FloatArray, StorageState]:
    """Green and on-site parts of each discharge, and the losses, interval by interval."""
    eta_c, eta_d = settings.charge_efficiency, settings.discharge_efficiency
    init = settings.storage_initial
    store = _Store(
        init.stored_kwh,
        init.stored_kwh * init.green_fraction,
        init.stored_kwh * init.onsite_fraction,
        init,
    )
    n = len(charge)
    gd = np.zeros(n)
    od = np.zeros(n)
    for i in range(n):
        if np.isnan(charge[i]):
            continue  # a gap leaves the store's account as it was
        fg, fo = store.fractions()
        if discharge[i] > 0:
            # what the account holds leaves at its fractions; more than that (energy it never
            # saw come in) at the fractions the period started with
            known = min(discharge[i], max(store.energy, 0.0) * eta_d)
            unseen = discharge[i] - known
            gd[i] = known * fg + unseen * init.green_fraction
            od[i] = known * fo + unseen * init.onsite_fraction
            left = max(store.energy - discharge[i] / eta_d, 0.0)
            store.energy, store.green, store.onsite = left, left * fg, left * fo
        if charge[i] > 0:
            store.energy += charge[i] * eta_c
            store.green += green_charge[i] * eta_c
            store.onsite += onsite_charge[i] * eta_c
    loss = charge * (1 - eta_c) + discharge * (1 / eta_d - 1)
    fg, fo = store.fractions()
    end = StorageState(
        stored_kwh=store.energy, green_fraction=min(fg, 1.0), onsite_fraction=min(fo, fg, 1.0)
    )
    return gd, od, loss, end


def _divide(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _share_green(
    green: FloatArray, cons: FloatArray, settings: CarbonSettings, ids: list[str]
) -> FloatArray:
    """G_i split between entities (columns ``ids``; the last is UNASSIGNED) [kWh]."""
    total = cons.sum(axis=1)
    if settings.sharing == "pro_rata":
        return green[:, None] * _divide(cons, total[:, None] * np.ones_like(cons))
    shares = np.array([settings.enterprise(e).fixed_share or 0.0 for e in ids[:-1]])
    shares = np.append(shares, max(0.0, 1.0 - shares.sum()))
    alloc = np.minimum(green[:, None] * shares[None, :], cons)
    headroom = cons - alloc
    leftover = green - alloc.sum(axis=1)
    room = headroom.sum(axis=1)
    shared: FloatArray = alloc + leftover[:, None] * _divide(
        headroom, room[:, None] * np.ones_like(cons)
    )
    return shared


def energy_balance(
    intervals: pd.DataFrame,
    meters: Sequence[MeterSpec],
    settings: CarbonSettings,
    period: Period,
    *,
    as_of: pd.Timestamp | None = None,
    planned_curtailed_kwh: pd.Series | None = None,
) -> EnergyBalance:
    """Balance ``intervals`` of ``period`` (up to ``as_of``) for the park and its enterprises.

    Parameters
    ----------
    intervals : DataFrame
        Columns ``ts`` [UTC interval start], ``meter``, ``kwh`` [kWh, §2 signs], optional
        ``available_kwh`` [kWh] for renewable meters that report available power.
    meters : sequence of MeterSpec
        Every meter the frame may name; only primary meters are summed.
    settings : CarbonSettings
    period : Period
    as_of : Timestamp, optional
        Intervals from ``as_of`` on are not expected yet (a period still running).
    planned_curtailed_kwh : Series, optional
        The dispatcher's planned curtailment per interval start [kWh], used where no
        renewable meter reports available power.

    Returns
    -------
    EnergyBalance

    Raises
    ------
    CarbonInputError
        An unknown meter, a duplicated interval, a load meter of an unknown enterprise.
    """
    enterprise_ids = list(settings.enterprise_ids)
    for i, m in enumerate(meters):
        if m.role in LOAD_ROLES and m.enterprise is not None and m.enterprise not in enterprise_ids:
            raise CarbonInputError(
                f"meters[{i}].enterprise", f"no enterprise {m.enterprise!r} in the park"
            )
    index = period.intervals(as_of)
    spec = {m.id: m for m in meters if m.primary}
    kwh, avail = _wide(intervals, spec, {m.id for m in meters}, index)
    by_role: dict[str, list[str]] = {}
    for mid, m in spec.items():
        by_role.setdefault(m.role, []).append(mid)

    present = kwh.notna()
    complete = present.all(axis=1) if spec else pd.Series(False, index=index)
    completeness = float(present.to_numpy().mean()) if present.size else 0.0
    park_meters = [mid for mid, m in spec.items() if m.role not in LOAD_ROLES]
    ent_completeness: dict[str, float] = {}
    for e in enterprise_ids:
        own = park_meters + [
            mid for mid, m in spec.items() if m.role in LOAD_ROLES and m.enterprise == e
        ]
        sub = present[own].to_numpy()
        ent_completeness[e] = float(sub.mean()) if sub.size else 0.0

    pv = _role_sum(kwh, by_role.get("pv", []))
    wind = _role_sum(kwh, by_role.get("wind", []))
    direct = _role_sum(kwh, by_role.get("direct_green", []))
    imp = _role_sum(kwh, by_role.get("grid", []))
    exp = _role_sum(kwh, by_role.get("grid", []), -1)
    dis = _role_sum(kwh, by_role.get("storage", []))
    ch = _role_sum(kwh, by_role.get("storage", []), -1)
    supply = pv + wind + direct
    load_ids = [mid for role in LOAD_ROLES for mid in by_role.get(role, [])]
    metered = bool(load_ids)
    if metered:
        ent_cons = np.column_stack(
            [
                _role_sum(kwh, [mid for mid in load_ids if spec[mid].enterprise == e])
                for e in [*enterprise_ids, None]
            ]
        )
    else:
        balance = np.maximum(supply + imp - exp + dis - ch, 0.0)
        ent_cons = np.column_stack([np.zeros((len(index), len(enterprise_ids))), balance])
    cons = ent_cons.sum(axis=1)

    mask = complete.to_numpy()
    nan = np.where(mask, 1.0, np.nan)  # multiplies every flow: incomplete intervals are NaN
    used = np.minimum(supply, cons)
    green_charge = np.minimum(ch, supply - used)
    onsite_frac = _divide(pv + wind, supply)
    gd, od, loss, end = _storage_green(
        ch * nan, dis * nan, green_charge, green_charge * onsite_frac, settings
    )
    green_raw = used + gd
    green = np.minimum(cons, green_raw)
    green_onsite = green * _divide(used * onsite_frac + od, green_raw)

    curtailed, basis = _curtailment(kwh, avail, by_role, index, planned_curtailed_kwh)

    park = pd.DataFrame(
        {
            "consumption": cons,
            "pv": pv,
            "wind": wind,
            "direct_green": direct,
            "grid_import": imp,
            "grid_export": exp,
            "storage_charge": ch,
            "storage_discharge": dis,
            "storage_loss": loss,
            "curtailed": curtailed,
            "green": green,
            "green_onsite": green_onsite,
            "green_charge": green_charge,
            "green_discharge": gd,
        },
        index=index,
    ).mul(nan, axis=0)

    entities = [*enterprise_ids, UNASSIGNED]
    ent_green = _share_green(green, ent_cons, settings, entities)
    # where an interval has no green, its consumption shares; where it has no consumption
    # either, the period's, so that exports or charging without load still land somewhere
    period_cons = np.nansum(ent_cons * nan[:, None], axis=0)
    fallback = (
        period_cons / period_cons.sum() if period_cons.sum() > 0 else np.eye(len(entities))[-1]
    )
    ones = np.ones_like(ent_cons)
    w_cons = np.where(
        (cons > 0)[:, None], _divide(ent_cons, cons[:, None] * ones), fallback[None, :]
    )
    w_green = np.where((green > 0)[:, None], _divide(ent_green, green[:, None] * ones), w_cons)
    nongreen = ent_cons - ent_green
    ng_total = nongreen.sum(axis=1)
    w_import = np.where(
        (ng_total > 1e-12)[:, None],
        _divide(nongreen, ng_total[:, None] * np.ones_like(nongreen)),
        w_green,
    )
    enterprises: dict[str, pd.DataFrame] = {}
    for k, e in enumerate(entities):
        cols: dict[str, FloatArray] = {
            "consumption": ent_cons[:, k],
            "grid_import": imp * w_import[:, k],
            "green": ent_green[:, k],
        }
        for flow in _GREEN_WEIGHTED:
            cols[flow] = park[flow].to_numpy() * w_green[:, k]
        enterprises[e] = pd.DataFrame(cols, index=index)[list(FLOWS)].mul(nan, axis=0)

    return EnergyBalance(
        park=park,
        enterprises=enterprises,
        complete=complete,
        completeness=completeness,
        enterprise_completeness=ent_completeness,
        curtailment_basis=basis,
        consumption_metered=metered,
        storage_end=end,
    )


def _curtailment(
    kwh: pd.DataFrame,
    avail: pd.DataFrame,
    by_role: dict[str, list[str]],
    index: pd.DatetimeIndex,
    planned: pd.Series | None,
) -> tuple[FloatArray, CurtailmentBasis]:
    """Measured where every renewable meter reports available power, else the plan's."""
    ren = by_role.get("pv", []) + by_role.get("wind", [])
    if ren and all(avail[m].notna().any() for m in ren):
        cut = (avail[ren] - kwh[ren].clip(lower=0)).clip(lower=0).sum(axis=1, min_count=1)
        return np.asarray(cut.fillna(0.0)), "measured"
    if planned is not None:
        p = planned.copy()
        p.index = pd.DatetimeIndex(p.index).tz_convert("UTC")
        return np.asarray(p.reindex(index).fillna(0.0), dtype=float), "planned"
    return np.zeros(len(index)), "none"
