"""Dual control: annual carbon and energy budgets, intensity targets, year-end projection.

Projection of a yearly total X (carbon [tCO2] or energy [tce]) at ``as_of``:
projected = X_ytd + Σ over the rest of the year of rate(month) × days of that month left, with
rate(m) = last year's X of month m ÷ its days where last year's month m is known and complete,
else this year's daily rate X_ytd ÷ days elapsed. ``basis`` says which was used:
``actual`` (nothing left), ``last_year``, ``this_year`` or ``last_year+this_year``.

An alarm is raised when a projection passes its budget, or a year-to-date intensity passes its
target, naming which and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from park_server.carbon.inputs import Budget, MonthTotals, Totals
from park_server.carbon.period import Period

ProjectionBasis = Literal["actual", "last_year", "this_year", "last_year+this_year"]


@dataclass(frozen=True)
class Projection:
    value: float | None
    basis: ProjectionBasis | None
    #: (YYYY-MM, "last_year" | "this_year") for each month with days still to come
    months: tuple[tuple[str, str], ...] = ()


def project_year_end(
    ytd: float,
    as_of: pd.Timestamp,
    timezone: str,
    last_year_by_month: Mapping[int, float],
) -> Projection:
    """Year-end total of a quantity from its year-to-date ``ytd`` at ``as_of``.

    Parameters
    ----------
    ytd : float
        Total from 1 January (local) to ``as_of``.
    as_of : Timestamp
        The moment the actuals reach (tz-aware).
    timezone : str
        The park's time zone: years and months are local.
    last_year_by_month : mapping of int to float
        Last year's complete months (1..12) and their totals, same unit as ``ytd``.
    """
    local = as_of.tz_convert(timezone)
    year = local.year
    start = pd.Timestamp(year, 1, 1, tz=timezone)
    end = pd.Timestamp(year + 1, 1, 1, tz=timezone)
    elapsed_days = (local - start) / pd.Timedelta(days=1)
    projected = ytd
    used: list[tuple[str, str]] = []
    for m in range(local.month, 13):
        first = pd.Timestamp(year, m, 1, tz=timezone)
        nxt = first + pd.offsets.MonthBegin(1)
        left = (min(nxt, end) - max(first, local)) / pd.Timedelta(days=1)
        if left <= 0:
            continue
        if m in last_year_by_month:
            ly_first = pd.Timestamp(year - 1, m, 1, tz=timezone)
            ly_days = (ly_first + pd.offsets.MonthBegin(1) - ly_first) / pd.Timedelta(days=1)
            rate = last_year_by_month[m] / ly_days
            used.append((f"{year:04d}-{m:02d}", "last_year"))
        elif elapsed_days > 0:
            rate = ytd / elapsed_days
            used.append((f"{year:04d}-{m:02d}", "this_year"))
        else:
            return Projection(None, None)
        projected += rate * left
    kinds = {k for _, k in used}
    basis: ProjectionBasis
    if not kinds:
        basis = "actual"
    elif kinds == {"last_year"}:
        basis = "last_year"
    elif kinds == {"this_year"}:
        basis = "this_year"
    else:
        basis = "last_year+this_year"
    return Projection(projected, basis, tuple(used))


@dataclass(frozen=True)
class DualControl:
    """Actuals, projections and targets of one scope (park or enterprise) and year."""

    year: int
    budget: Budget | None
    carbon_mtd_t: float | None
    carbon_ytd_t: float
    carbon_projected: Projection
    energy_mtd_tce: float | None
    energy_ytd_tce: float
    energy_projected: Projection
    t_co2_per_t_product_ytd: float | None
    t_co2_per_10k_yuan_ytd: float | None


def dual_control(
    period: Period,
    in_period: Totals,
    year_before: Totals,
    *,
    month_before: Totals | None = None,
    last_year: Sequence[MonthTotals] = (),
    as_of: pd.Timestamp | None = None,
    budget: Budget | None = None,
) -> DualControl:
    """Dual-control status at the end of ``period`` (or ``as_of`` inside it).

    ``year_before``: totals of the year from 1 January to the period's start; ``month_before``
    the same from the 1st of the period's month (day periods); ``last_year``: last year's
    months, for the seasonal rate.
    """
    at = period.end if as_of is None else min(as_of, period.end)
    ytd = Totals(
        carbon_t=year_before.carbon_t + in_period.carbon_t,
        energy_tce=year_before.energy_tce + in_period.energy_tce,
        production_t=year_before.production_t + in_period.production_t,
        output_10k_yuan=year_before.output_10k_yuan + in_period.output_10k_yuan,
    )
    mtd_c: float | None
    mtd_e: float | None
    if period.kind == "month":
        mtd_c, mtd_e = in_period.carbon_t, in_period.energy_tce
    elif period.kind == "day" and month_before is not None:
        mtd_c = month_before.carbon_t + in_period.carbon_t
        mtd_e = month_before.energy_tce + in_period.energy_tce
    else:
        mtd_c = mtd_e = None
    last_c = {int(m.month[5:]): m.carbon_t for m in last_year if m.complete}
    last_e = {int(m.month[5:]): m.energy_tce for m in last_year if m.complete}
    carbon = _project(ytd.carbon_t, at, period, last_c)
    energy = _project(ytd.energy_tce, at, period, last_e)
    return DualControl(
        year=period.year,
        budget=budget,
        carbon_mtd_t=mtd_c,
        carbon_ytd_t=ytd.carbon_t,
        carbon_projected=carbon,
        energy_mtd_tce=mtd_e,
        energy_ytd_tce=ytd.energy_tce,
        energy_projected=energy,
        t_co2_per_t_product_ytd=ytd.carbon_t / ytd.production_t if ytd.production_t > 0 else None,
        t_co2_per_10k_yuan_ytd=(
            ytd.carbon_t / ytd.output_10k_yuan if ytd.output_10k_yuan > 0 else None
        ),
    )


def _project(ytd: float, at: pd.Timestamp, period: Period, last: Mapping[int, float]) -> Projection:
    local = at.tz_convert(period.timezone)
    if local.year != period.year:  # the period ends on 1 January: the year is complete
        return Projection(ytd, "actual")
    return project_year_end(ytd, at, period.timezone, last)


AlarmKind = Literal[
    "carbon_budget", "energy_budget", "intensity_per_t_product", "intensity_per_10k_yuan"
]


@dataclass(frozen=True)
class BudgetAlarm:
    """A budget or target passed: ``value`` against ``limit``, ``excess`` = value − limit."""

    scope: str
    kind: AlarmKind
    limit: float
    value: float
    unit: str
    excess: float
    excess_pct: float
    message: str


def budget_alarms(dc: DualControl, scope: str) -> list[BudgetAlarm]:
    """The alarms to raise for ``scope`` (the park's or an enterprise's id)."""
    b = dc.budget
    if b is None:
        return []
    checks: list[tuple[AlarmKind, float | None, float | None, str, str]] = [
        ("carbon_budget", b.carbon_t, dc.carbon_projected.value, "tCO2", "projected"),
        ("energy_budget", b.energy_tce, dc.energy_projected.value, "tce", "projected"),
        (
            "intensity_per_t_product",
            b.t_co2_per_t_product,
            dc.t_co2_per_t_product_ytd,
            "tCO2/t",
            "year to date",
        ),
        (
            "intensity_per_10k_yuan",
            b.t_co2_per_10k_yuan,
            dc.t_co2_per_10k_yuan_ytd,
            "tCO2/10^4 yuan",
            "year to date",
        ),
    ]
    out: list[BudgetAlarm] = []
    for kind, limit, value, unit, how in checks:
        if limit is None or value is None or value <= limit:
            continue
        excess = value - limit
        pct = 100.0 * excess / limit
        out.append(
            BudgetAlarm(
                scope,
                kind,
                limit,
                value,
                unit,
                excess,
                pct,
                f"{scope}: {kind.replace('_', ' ')} {limit:g} {unit} for {dc.year}, "
                f"{how} {value:.6g} {unit}: {excess:.6g} {unit} ({pct:.1f} %) over",
            )
        )
    return out
