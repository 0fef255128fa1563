"""The query layer of the carbon accounting: rollups and stored records → :class:`CarbonInputs`.

:func:`carbon_inputs` reads what the pure core (park_server.carbon) needs for one local day,
month or year of a park: the 15-minute energy of every meter the accounting knows, the stored
instruments, budgets, monthly inputs, guide indicators, offsets and plans, and the totals before
the period (``year_before``, ``month_before``) and of last year's remaining months
(``last_year``). :func:`carbon_answer` is DESIGN.md §10's answer built on it.

Interval energy per meter and interval [kWh, DESIGN.md §2 signs]:

- ``active_power_kw`` rollups where the meter has one in the interval: the rollup's
  ``energy_kwh`` (mean power × the time its samples cover; a rollup written before covered time
  was kept has none, and counts mean × 0.25 h);
- otherwise the counters: ``energy_import_kwh`` − ``energy_export_kwh`` of the interval (the
  rollup's interval energy, resets already handled), where either has a rollup;
- ``available_kwh`` from ``available_power_kw``: mean × the covered time of the same meter's
  active-power rollup (0.25 h without one).

Ingest already turned every stored value to §2's signs (``Meter.sign`` −1 negates power and swaps
the two counters, park_server.ingest.batches.validate_batch), so nothing here multiplies by it.

Totals before the period are the accounting of each earlier month of the year on its own (what
the monthly reports show), or the totals a manager recorded for a month (months before zcpark's
meters ran); the storage account is handed from one month to the next. Last year's months are
used for the projection where recorded, or computed and at least :data:`MONTH_COMPLETE` complete.

It is one piece, past 400 lines, because every reader of the accounting's inputs (rollups,
instruments, budgets, earlier months) feeds the one CarbonInputs, and the months before a period
are read by the same code.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from config import Park, load_factors
from park_server.carbon import (
    Budget,
    CarbonFigures,
    CarbonInputError,
    CarbonInputs,
    CarbonSettings,
    EnterpriseSettings,
    MeterSpec,
    MonthTotals,
    Period,
    PlanOutcome,
    StorageState,
    Totals,
    Trade,
    carbon_factors,
    carbon_figures,
    period_of,
    response_dict,
)
from park_server.carbon.inputs import LOAD_ROLES, SUPPLY_ROLES
from park_server.carbon.response import ScopeFigures
from park_server.db import carbon_crud
from park_server.db.tables import CarbonInstrumentRow, CarbonMonthlyRow
from park_server.timeseries.carbon_cache import MonthCache
from park_server.timeutil import HOUR_MS, QUARTER_MS, local_month_start_ms, now_ms

#: a computed month of last year counts as a seasonal rate from this completeness on [-]
MONTH_COMPLETE = 0.99
#: the rollup quantities the accounting reads
QUANTITIES = ("active_power_kw", "available_power_kw", "energy_import_kwh", "energy_export_kwh")
ROLES = frozenset((*SUPPLY_ROLES, *LOAD_ROLES))


class PeriodNotBegun(ValueError):
    """The period asked for starts after now: there is nothing to account yet."""


def carbon_settings(park: Park) -> CarbonSettings:
    """The park file mapped onto the accounting's settings.

    The electricity method is the file's ``emission_factor.method`` only where the file sets it;
    §10's default (market-based) otherwise. Storage efficiencies are the energy-weighted means
    of the park's storage assets.
    """
    ef = park.emission_factor
    storage = park.storage
    extra: dict[str, Any] = {}
    if storage:
        total = sum(s.energy_kwh for s in storage)
        extra["charge_efficiency"] = (
            sum(s.charge_efficiency * s.energy_kwh for s in storage) / total
        )
        extra["discharge_efficiency"] = (
            sum(s.discharge_efficiency * s.energy_kwh for s in storage) / total
        )
    return CarbonSettings(
        park=park.id,
        timezone=park.timezone,
        grid_region=ef.region,
        grid_year=ef.year,
        market_region=ef.market_region,
        electricity_method=ef.method if "method" in ef.model_fields_set else "market",
        green_share_target=park.green_share_target,
        enterprises=tuple(
            EnterpriseSettings(id=e.id, green_share_target=e.green_share_target)
            for e in park.enterprises
        ),
        **extra,
    )


def gec_mwh_per_certificate(park: Park) -> float:
    """MWh per green electricity certificate (config/factors) [MWh]."""
    return carbon_factors(load_factors(), carbon_settings(park)).gec_mwh_per_certificate.value


def meter_specs(park: Park) -> tuple[MeterSpec, ...]:
    """Every meter of an energy role (weather stations are left out), with its owner and duty."""
    owner = {m: e.id for e in park.enterprises for m in e.meters}
    out: list[MeterSpec] = []
    for m in park.meters:
        role = park.meter_role(m)
        if role not in ROLES:
            continue
        out.append(
            MeterSpec(
                id=m.id,
                role=role,
                enterprise=owner.get(m.id) if role in LOAD_ROLES else None,
                primary=park.counts(m),
            )
        )
    return tuple(out)


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def data_span(session: Session, park_id: str, meters: Sequence[str]) -> tuple[int, int] | None:
    """First and last 15-minute interval start [ms] with a rollup of any of ``meters``, None
    without any: two index probes per meter and quantity, so that the months before and after
    the data cost no query of their own."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    where = (
        f"FROM rollup WHERE park_id = {mark} AND meter_id = {mark} AND quantity = {mark} "
        "AND resolution = '15min'"
    )
    # MIN and MAX apart: SQLite answers a lone MIN or MAX from the index, both together by a scan
    first_sql, last_sql = f"SELECT MIN(ts_ms) {where}", f"SELECT MAX(ts_ms) {where}"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    lo: int | None = None
    hi: int | None = None
    try:
        for meter_id in meters:
            for quantity in QUANTITIES:
                cursor.execute(first_sql, (park_id, meter_id, quantity))
                first = (cursor.fetchone() or (None,))[0]
                if first is None:
                    continue
                cursor.execute(last_sql, (park_id, meter_id, quantity))
                last = (cursor.fetchone() or (first,))[0] or first
                lo = int(first) if lo is None else min(lo, int(first))
                hi = int(last) if hi is None else max(hi, int(last))
    finally:
        cursor.close()
    return None if lo is None or hi is None else (lo, hi)


def _series_sql(paramstyle: str) -> dict[str, str]:
    """One meter's rollups of a quantity in [start, end) as numbers only: (ts_ms, energy) for
    power and counters, (ts_ms, mean) for available power, and for power beside available power
    (ts_ms, energy, covered_ms). Asked meter by meter on the rollup's primary key (park, meter,
    quantity, resolution, ts), so a month costs an index range per meter and quantity, never a
    scan of the park's other months; the fewest values cross the driver."""
    m = "?" if paramstyle == "qmark" else "%s"
    where = (
        f"park_id = {m} AND meter_id = {m} AND quantity = {m} AND resolution = '15min' "
        f"AND ts_ms >= {m} AND ts_ms < {m} AND count > 0"
    )
    return {
        "energy": f"SELECT ts_ms, COALESCE(energy_kwh, value * 0.25) FROM rollup WHERE {where}",
        "energy_covered": (
            f"SELECT ts_ms, COALESCE(energy_kwh, value * 0.25), covered_ms FROM rollup WHERE {where}"
        ),
        "value": f"SELECT ts_ms, value FROM rollup WHERE {where}",
    }


def interval_energy(
    session: Session, park_id: str, meters: Sequence[str], start_ms: int, end_ms: int
) -> pd.DataFrame:
    """The 15-minute energy of ``meters`` in [start, end): long rows ``ts`` (UTC interval start),
    ``meter``, ``kwh`` and ``available_kwh`` (NaN where the meter reports no available power)."""
    conn = session.connection()
    # the driver's own cursor on the session's connection (same transaction): a month of 500
    # meters is millions of numbers, and plain tuples cost a third of the ORM's rows
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    sql = _series_sql(conn.dialect.paramstyle)
    n = int((end_ms - start_ms + QUARTER_MS - 1) // QUARTER_MS)
    cells = len(meters) * n
    # one slot per meter and interval: power energy, counter energy, available energy
    power = np.full(cells, np.nan)
    counter = np.full(cells, np.nan)
    available = np.full(cells, np.nan)

    def read(meter_id: str, quantity: str, what: str) -> tuple[np.ndarray, np.ndarray] | None:
        cursor.execute(sql[what], (park_id, meter_id, quantity, start_ms, end_ms))
        rows = cursor.fetchall()
        if not rows:
            return None
        values = np.array(rows, dtype=np.float64)  # None (no power rollup) → NaN
        slot = (values[:, 0].astype(np.int64) - start_ms) // QUARTER_MS
        return slot, values

    try:
        for position, meter_id in enumerate(meters):
            base = position * n
            avail = read(meter_id, "available_power_kw", "value")
            got = read(meter_id, "active_power_kw", "energy" if avail is None else "energy_covered")
            hours = np.full(n, 0.25)  # the covered time of power, where there is available power
            if got is not None:
                power[base + got[0]] = got[1][:, 1]
                if avail is not None:
                    covered = got[1][:, 2]
                    hours[got[0]] = np.where(np.isnan(covered), 0.25, covered / HOUR_MS)
            if avail is not None:
                available[base + avail[0]] = avail[1][:, 1] * hours[avail[0]]
            for quantity, sign in (("energy_import_kwh", 1.0), ("energy_export_kwh", -1.0)):
                got = read(meter_id, quantity, "value")
                if got is not None:  # the two counters: import − export
                    k = base + got[0]
                    counter[k] = (
                        np.where(np.isnan(counter[k]), 0.0, counter[k]) + sign * got[1][:, 1]
                    )
    finally:
        cursor.close()
    kwh = np.where(np.isnan(power), counter, power)
    keep = np.flatnonzero(~np.isnan(kwh))
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(start_ms + (keep % n) * QUARTER_MS, unit="ms", utc=True),
            # categorical: a few hundred names, not a string per row
            "meter": pd.Categorical.from_codes(
                (keep // n).astype(np.int64), categories=pd.Index(list(meters))
            ),
            "kwh": kwh[keep],
            "available_kwh": available[keep],
        }
    )


def _plans(
    session: Session, park_id: str, start_ms: int, end_ms: int
) -> tuple[list[PlanOutcome] | None, pd.Series | None]:
    """Day-ahead plans starting in the period: their outcomes (each plan once) and their planned
    curtailment per interval [kWh] (the newest plan's where they overlap); None without plans."""
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT start_ms, end_ms, plan_json FROM dispatch_plan WHERE park_id = :p AND "
                "kind = 'day_ahead' AND start_ms >= :s AND start_ms < :e ORDER BY created_ms"
            ),
            {"p": park_id, "s": start_ms, "e": end_ms},
        )
        .all()
    )
    if not rows:
        return None, None
    outcomes: list[PlanOutcome] = []
    curtailed: dict[int, float] = {}
    for start, end, plan_json in rows:
        plan = json.loads(plan_json)
        if "kpis" in plan and "baseline_kpis" in plan:
            outcomes.append(
                PlanOutcome.model_validate(
                    {"kpis": plan["kpis"], "baseline_kpis": plan["baseline_kpis"]}
                )
            )
        series = plan.get("series", {}).get("renewables", {})
        lists = [np.asarray(r.get("curtailed_kw", []), dtype=float) for r in series.values()]
        if not lists or not len(lists[0]):
            continue
        total_kw = np.sum([x for x in lists if len(x) == len(lists[0])], axis=0)
        step = (int(end) - int(start)) // len(total_kw)
        for t, kw in enumerate(total_kw.tolist()):
            curtailed[int(start) + t * step] = kw * step / HOUR_MS
    planned = None
    if curtailed:
        idx = pd.to_datetime(list(curtailed), unit="ms", utc=True)
        planned = pd.Series(list(curtailed.values()), index=idx, dtype=float)
    return outcomes, planned


@dataclass
class _Park:
    park: Park
    settings: CarbonSettings
    meters: tuple[MeterSpec, ...]
    meter_ids: tuple[str, ...]
    #: first and last interval with rollups (None: none at all), read when first needed
    _span: tuple[tuple[int, int] | None] | None = None

    def span(self, session: Session) -> tuple[int, int] | None:
        if self._span is None:
            self._span = (data_span(session, self.park.id, self.meter_ids),)
        return self._span[0]

    def intervals(self, session: Session, start_ms: int, end_ms: int) -> pd.DataFrame:
        span = self.span(session)
        if span is None or end_ms <= span[0] or start_ms > span[1]:
            return interval_energy(session, self.park.id, (), start_ms, end_ms)
        return interval_energy(session, self.park.id, self.meter_ids, start_ms, end_ms)


@dataclass(frozen=True)
class _Stored:
    """The stored rows of the year that every stretch reads, and the closed months' cache."""

    monthly: Sequence[CarbonMonthlyRow]
    instruments: Sequence[CarbonInstrumentRow]
    #: the trades' delivery profiles, read once with the instruments (the cache's key holds them)
    profiles: dict[int, list[tuple[int, float]]]
    cache: MonthCache


def _trades(
    session: Session, rows: Sequence[Any], profiles: dict[int, list[tuple[int, float]]]
) -> tuple[list[Any], list[Trade]]:
    certs, raw = carbon_crud.to_instruments(session, rows, profiles)
    trades: list[Trade] = []
    for row, profile in raw:
        series = None
        if profile:
            series = pd.Series(
                [v for _, v in profile],
                index=pd.to_datetime([t for t, _ in profile], unit="ms", utc=True),
                dtype=float,
            )
        trades.append(carbon_crud.trade_of(row, series))
    return certs, trades


def _stretch(
    session: Session,
    p: _Park,
    period: Period,
    stored: _Stored,
    storage_initial: StorageState,
    as_of: pd.Timestamp | None,
) -> CarbonInputs:
    """Inputs of one stretch of time, without the totals around it."""
    start, end = _ms(period.start), _ms(period.end)
    months = period.months()
    monthly = stored.monthly
    certs, trades = _trades(
        session, [r for r in stored.instruments if r.month in months], stored.profiles
    )
    return CarbonInputs(
        settings=p.settings.model_copy(update={"storage_initial": storage_initial}),
        meters=p.meters,
        intervals=p.intervals(session, start, end),
        period=period,
        monthly=[carbon_crud.monthly_input(r) for r in monthly if r.month in months],
        certificates=certs,
        trades=trades,
        as_of=as_of,
    )


def _totals(sc: ScopeFigures) -> Totals:
    return Totals(
        carbon_t=sc.co2_t,
        energy_tce=sc.energy.total,
        production_t=sc.inputs.production_t,
        output_10k_yuan=sc.inputs.output_10k_yuan,
    )


def _recorded(
    monthly: Sequence[CarbonMonthlyRow], month: str, enterprise: str | None
) -> tuple[float | None, float | None, float, float]:
    """A month's recorded carbon [tCO2] and energy [tce] of the scope (None: not recorded), and
    its entered production [t] and output [10^4 yuan] (every entry of the month for the park)."""
    scope = carbon_crud.PARK_SCOPE if enterprise is None else enterprise
    rows = [r for r in monthly if r.month == month]
    own = next((r for r in rows if r.enterprise_id == scope), None)
    mine = rows if enterprise is None else [r for r in rows if r.enterprise_id == scope]
    return (
        None if own is None else own.recorded_carbon_t,
        None if own is None else own.recorded_energy_tce,
        sum(r.production_t for r in mine),
        sum(r.output_10k_yuan for r in mine),
    )


def _has_data(inp: CarbonInputs) -> bool:
    return bool(len(inp.intervals) or inp.monthly or inp.certificates or inp.trades)


def _month_totals(
    session: Session,
    p: _Park,
    period: Period,
    inputs: _Stored,
    storage_initial: StorageState,
    scopes: Sequence[str | None],
) -> tuple[dict[str | None, tuple[Totals, bool]], StorageState]:
    """Totals of each scope over ``period`` (one month, or the start of one) and whether they
    are complete, with the storage state handed on. Recorded totals replace computed ones.
    A closed month's are kept in the cache (park_server.timeseries.carbon_cache)."""
    monthly = inputs.monthly
    month = period.months()[0]
    recorded = {s: _recorded(monthly, month, s) for s in scopes}
    need = any(c is None or e is None for c, e, _, _ in recorded.values())
    key = inputs.cache.key(month, _ms(period.start), _ms(period.end), storage_initial)
    held = inputs.cache.get(key, scopes, need)
    if held is not None:
        return held
    computed: dict[str | None, Totals] = {}
    complete: dict[str | None, bool] = dict.fromkeys(scopes, False)
    handed = StorageState()
    if need:
        inp = _stretch(session, p, period, inputs, storage_initial, None)
        if _has_data(inp):
            # one balance gives the park and one enterprise; each further enterprise its own
            enterprises = [s for s in scopes if s is not None]
            fig = carbon_figures(inp, load_factors(), enterprises[0] if enterprises else None)
            handed = fig.balance.storage_end
            figures: dict[str | None, ScopeFigures | None] = {None: fig.park}
            if enterprises:
                figures[enterprises[0]] = fig.enterprise
            for e in enterprises[1:]:
                figures[e] = carbon_figures(inp, load_factors(), e).enterprise
            for s in scopes:
                sc = figures[s]
                assert sc is not None
                computed[s] = _totals(sc)
                complete[s] = sc.completeness >= MONTH_COMPLETE
    out: dict[str | None, tuple[Totals, bool]] = {}
    for s in scopes:
        carbon, energy, production, output = recorded[s]
        base = computed.get(s, Totals(production_t=production, output_10k_yuan=output))
        out[s] = (
            Totals(
                carbon_t=base.carbon_t if carbon is None else carbon,
                energy_tce=base.energy_tce if energy is None else energy,
                production_t=base.production_t,
                output_10k_yuan=base.output_10k_yuan,
            ),
            (carbon is not None and energy is not None) or complete[s],
        )
    inputs.cache.put(key, out, handed, need)
    return out, handed


def _add(a: Totals, b: Totals) -> Totals:
    return Totals(
        carbon_t=a.carbon_t + b.carbon_t,
        energy_tce=a.energy_tce + b.energy_tce,
        production_t=a.production_t + b.production_t,
        output_10k_yuan=a.output_10k_yuan + b.output_10k_yuan,
    )


def _month_period(year: int, month: int, tz: str) -> Period:
    return period_of("month", date(year, month, 1), tz)


def _budgets(session: Session, park: Park, year: int) -> list[Budget]:
    """The year's stored budgets; without any, the park file's annual carbon and energy budgets."""
    stored = carbon_crud.budgets(session, park_id=park.id, years=[year])
    if stored:
        return stored
    out: list[Budget] = []
    owners: list[tuple[str | None, float | None, float | None]] = [
        (None, park.carbon_budget_t_per_year, park.energy_budget_tce_per_year)
    ]
    owners += [
        (e.id, e.carbon_budget_t_per_year, e.energy_budget_tce_per_year) for e in park.enterprises
    ]
    for enterprise, carbon, energy in owners:
        if carbon is not None or energy is not None:
            out.append(Budget(year=year, enterprise=enterprise, carbon_t=carbon, energy_tce=energy))
    return out


def carbon_inputs(
    session: Session, park: Park, period: str, day: date, enterprise: str | None = None
) -> CarbonInputs:
    """Everything the accounting of ``park`` reads for the local ``period`` (day, month or
    year) holding ``day``, and for ``enterprise`` when given.

    Raises
    ------
    CarbonInputError
        ``period`` is not day, month or year, or ``enterprise`` is not one of the park's.
    PeriodNotBegun
        The period starts after now.
    """
    if period not in ("day", "month", "year"):
        raise CarbonInputError("period", f"{period!r} is not day, month or year")
    if enterprise is not None and enterprise not in {e.id for e in park.enterprises}:
        raise CarbonInputError("enterprise", f"no enterprise {enterprise!r} in park {park.id!r}")
    return _inputs(session, park, period, day, [None] if enterprise is None else [None, enterprise])


def dual_control_inputs(session: Session, park: Park, day: date) -> CarbonInputs:
    """The inputs of the month holding ``day`` with the totals before it (``year_before``,
    ``last_year``) of the park and of every enterprise, for the dual-control alarms: one read
    of the earlier months serves every scope."""
    return _inputs(session, park, "month", day, [None, *(e.id for e in park.enterprises)])


def _inputs(
    session: Session, park: Park, period: str, day: date, scopes: list[str | None]
) -> CarbonInputs:
    tz = park.timezone
    per = period_of(period, day, tz)  # type: ignore[arg-type]
    now = now_ms()
    start, end = _ms(per.start), _ms(per.end)
    if now < start:
        raise PeriodNotBegun(f"the {period} {per.label} has not begun")
    as_of = pd.Timestamp(now, unit="ms", tz="UTC") if now < end else None
    settings = carbon_settings(park)
    meters = meter_specs(park)
    p = _Park(park, settings, meters, tuple(m.id for m in meters))
    year = per.year
    first_month = int(per.start.tz_convert(tz).month) if per.kind != "year" else 1
    at = per.end if as_of is None else as_of
    at_local = at.tz_convert(tz)
    last_months = [] if at_local.year != year else list(range(at_local.month, 13))
    months_needed = {f"{year:04d}-{m:02d}" for m in range(1, 13)} | {
        f"{year - 1:04d}-{m:02d}" for m in last_months
    }
    # the cache's token is read before any rollup (carbon_cache)
    monthly = carbon_crud.monthly_rows(session, park_id=park.id, months=months_needed)
    instruments = carbon_crud.instrument_rows(session, park_id=park.id, months=months_needed)
    profiles = carbon_crud.trade_profiles(
        session,
        instrument_ids=[r.id for r in instruments if r.kind == "trade" and r.id is not None],
    )
    cache = MonthCache.open(
        session,
        park_id=park.id,
        closed_before_ms=local_month_start_ms(now, tz),
        settings=settings,
        meters=meters,
        monthly=monthly,
        instruments=instruments,
        profiles=profiles,
    )
    stored = _Stored(monthly, instruments, profiles, cache)

    # totals of the year before the period, month by month, handing the storage account on
    year_before: dict[str | None, Totals] = dict.fromkeys(scopes, Totals())
    storage = StorageState()
    for m in range(1, first_month):
        totals, storage = _month_totals(
            session, p, _month_period(year, m, tz), stored, storage, scopes
        )
        year_before = {s: _add(year_before[s], totals[s][0]) for s in scopes}
    month_before: dict[str | None, Totals] = {}
    if per.kind == "day":
        month_start = _month_period(year, first_month, tz)
        if month_start.start < per.start:
            stretch = dataclasses.replace(month_start, end=per.start)
            totals, storage = _month_totals(session, p, stretch, stored, storage, scopes)
            month_before = {s: totals[s][0] for s in scopes}
            year_before = {s: _add(year_before[s], month_before[s]) for s in scopes}
        else:
            month_before = dict.fromkeys(scopes, Totals())

    # last year's months still to come this year, for the seasonal rate of the projection
    last_year: dict[str | None, list[MonthTotals]] = {s: [] for s in scopes}
    for m in last_months:
        totals, _ = _month_totals(
            session, p, _month_period(year - 1, m, tz), stored, StorageState(), scopes
        )
        for s in scopes:
            t, complete = totals[s]
            last_year[s].append(
                MonthTotals(
                    month=f"{year - 1:04d}-{m:02d}",
                    carbon_t=t.carbon_t,
                    energy_tce=t.energy_tce,
                    complete=complete,
                )
            )

    base = _stretch(session, p, per, stored, storage, as_of)
    plans, planned = _plans(session, park.id, start, end)
    return dataclasses.replace(
        base,
        guide=carbon_crud.guide(session, park_id=park.id, months=per.months()),
        offsets=carbon_crud.offsets(session, park_id=park.id),
        budgets=_budgets(session, park, year),
        year_before=year_before,
        month_before=month_before,
        last_year=last_year,
        plans=plans,
        planned_curtailed_kwh=planned,
    )


def carbon_answer(
    session: Session, park: Park, period: str, day: date, enterprise: str | None = None
) -> dict[str, Any]:
    """DESIGN.md §10's ``GET /parks/{park}/carbon`` answer (the same errors as
    :func:`carbon_inputs`)."""
    return carbon_response_of(carbon_inputs(session, park, period, day, enterprise), enterprise)


def carbon_figures_of(inp: CarbonInputs, enterprise: str | None = None) -> CarbonFigures:
    """The typed figures of ``inp`` with the shipped factor tables."""
    return carbon_figures(inp, load_factors(), enterprise)


def carbon_response_of(inp: CarbonInputs, enterprise: str | None = None) -> dict[str, Any]:
    return response_dict(carbon_figures_of(inp, enterprise))
