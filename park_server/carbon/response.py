"""The figures of one park (or enterprise) and period, and DESIGN.md §10's response.

:func:`carbon_figures` runs the whole accounting on :class:`CarbonInputs` and returns typed
results; :func:`response_dict` writes them key for key and unit for unit as §10's
``GET /parks/{park}/carbon`` answer; :func:`carbon_response` does both. Keys beyond §10 (and
why) are listed in docs/carbon.md.

It is one piece, past 400 lines, because §10's answer is one document: the figures and the keys
that write them change together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from config.factors import Factors
from park_server.carbon.balance import EnergyBalance, energy_balance
from park_server.carbon.budget import BudgetAlarm, DualControl, budget_alarms, dual_control
from park_server.carbon.emissions import (
    Emissions,
    Intensity,
    PeriodInputs,
    emissions,
    intensity,
    period_inputs,
)
from park_server.carbon.energy import EnergyTce, energy_tce
from park_server.carbon.errors import CarbonInputError
from park_server.carbon.factor_lines import CarbonFactors, carbon_factors
from park_server.carbon.green import GreenShares, TradeMatch, green_shares, match_trades
from park_server.carbon.indicators import Indicators, indicators
from park_server.carbon.inputs import (
    Budget,
    CarbonSettings,
    GuideIndicators,
    MeterSpec,
    MonthlyInputs,
    MonthTotals,
    PlanOutcome,
    Totals,
)
from park_server.carbon.instruments import Certificate, Trade, certificates_kwh, trades_kwh
from park_server.carbon.offsets import Offset, offsets_held_t
from park_server.carbon.period import Period, period_of
from park_server.carbon.reductions import Reductions, reductions

#: §10's ``energy_kwh`` keys, in order, and the balance flow each one sums.
ENERGY_KEYS = (
    "consumption",
    "pv",
    "wind",
    "direct_green",
    "grid_import",
    "grid_export",
    "storage_charge",
    "storage_discharge",
)


@dataclass(frozen=True)
class CarbonInputs:
    """Everything the accounting of one park and period reads.

    Scoped mappings (``year_before``, ``month_before``, ``last_year``) are keyed by enterprise
    id, ``None`` for the park as a whole.
    """

    settings: CarbonSettings
    meters: Sequence[MeterSpec]
    #: long interval energy: ts, meter, kwh[, available_kwh] (balance.energy_balance)
    intervals: pd.DataFrame
    period: Period
    monthly: Sequence[MonthlyInputs] = ()
    guide: Sequence[GuideIndicators] = ()
    certificates: Sequence[Certificate] = ()
    trades: Sequence[Trade] = ()
    offsets: Sequence[Offset] = ()
    budgets: Sequence[Budget] = ()
    year_before: Mapping[str | None, Totals] = field(default_factory=dict)
    month_before: Mapping[str | None, Totals] = field(default_factory=dict)
    last_year: Mapping[str | None, Sequence[MonthTotals]] = field(default_factory=dict)
    #: plans in force in the period (park only); None: not known
    plans: Sequence[PlanOutcome] | None = None
    planned_curtailed_kwh: pd.Series | None = None
    as_of: pd.Timestamp | None = None


@dataclass(frozen=True)
class ScopeFigures:
    """The figures of the park (``enterprise=None``) or one enterprise."""

    enterprise: str | None
    completeness: float
    energy_kwh: dict[str, float]
    storage_loss_kwh: float
    curtailed_kwh: float | None
    green: GreenShares
    inputs: PeriodInputs
    emissions: Emissions
    energy: EnergyTce
    co2_t: float
    indicators: Indicators
    intensity: Intensity
    dual_control: DualControl
    alarms: list[BudgetAlarm]
    offsets: list[Offset]
    offsets_held_t: float
    reductions: Reductions


@dataclass(frozen=True)
class CarbonFigures:
    inputs: CarbonInputs
    settings: CarbonSettings
    period: Period
    factors: CarbonFactors
    balance: EnergyBalance
    matches: TradeMatch
    park: ScopeFigures
    enterprise: ScopeFigures | None


def check_inputs(inp: CarbonInputs) -> None:
    """Refuse entries naming an enterprise the park does not have (the field named)."""
    ids = set(inp.settings.enterprise_ids)
    groups: list[tuple[str, Sequence[Any]]] = [
        ("monthly", inp.monthly),
        ("certificates", inp.certificates),
        ("trades", inp.trades),
        ("offsets", inp.offsets),
        ("budgets", inp.budgets),
    ]
    for name, items in groups:
        for i, x in enumerate(items):
            if x.enterprise is not None and x.enterprise not in ids:
                raise CarbonInputError(
                    f"{name}[{i}].enterprise", f"no enterprise {x.enterprise!r} in the park"
                )
    for name, mapping in (
        ("year_before", inp.year_before),
        ("month_before", inp.month_before),
        ("last_year", inp.last_year),
    ):
        for key in mapping:
            if key is not None and key not in ids:
                raise CarbonInputError(f"{name}.{key}", f"no enterprise {key!r} in the park")
    _once("budgets", [(b.year, b.enterprise) for b in inp.budgets], "budget")
    _once("monthly", [(x.month, x.enterprise) for x in inp.monthly], "entry")
    _once("guide", [(g.month, None) for g in inp.guide], "entry")
    ranges = [(c.serial, f"certificates[{i}].serial") for i, c in enumerate(inp.certificates)]
    ranges += [(t.bundled, f"trades[{i}].bundled") for i, t in enumerate(inp.trades) if t.bundled]
    ranges.sort(key=lambda r: (r[0].prefix, r[0].first))
    for (a, _), (b, where) in pairwise(ranges):  # sorted: an overlap shows in a pair
        if a.overlaps(b):
            raise CarbonInputError(where, f"serial range {b} overlaps {a}: counted twice")


def _once(name: str, keys: list[tuple[object, str | None]], what: str) -> None:
    seen: set[tuple[object, str | None]] = set()
    for i, (when, owner) in enumerate(keys):
        if (when, owner) in seen:
            raise CarbonInputError(
                f"{name}[{i}]", f"a second {what} for {owner or 'the park'} in {when}"
            )
        seen.add((when, owner))


def _budget(inp: CarbonInputs, enterprise: str | None) -> Budget | None:
    for b in inp.budgets:
        if b.year == inp.period.year and b.enterprise == enterprise:
            return b
    return None


def _scope(
    inp: CarbonInputs,
    f: CarbonFactors,
    bal: EnergyBalance,
    matches: TradeMatch,
    enterprise: str | None,
    annual_energy_tce: float | None,
) -> ScopeFigures:
    s, period = inp.settings, inp.period
    frame = bal.park if enterprise is None else bal.enterprises[enterprise]
    matched = matches.park if enterprise is None else matches.enterprises[enterprise]
    sums = frame.sum()  # NaN (incomplete) intervals are skipped, never read as zero
    energy = {k: float(sums[k]) for k in ENERGY_KEYS}
    certs = certificates_kwh(inp.certificates, period, enterprise)
    trades = trades_kwh(inp.trades, period, enterprise)
    target = (
        s.green_share_target if enterprise is None else s.enterprise(enterprise).green_share_target
    )
    green = green_shares(
        energy["consumption"], float(sums["green"]), float(matched.sum()), certs, trades, target
    )
    pi = period_inputs(inp.monthly, period, f, enterprise)
    em = emissions(pi, energy["grid_import"], certs, trades, f)
    tce = energy_tce(energy["consumption"], green.volumetric_kwh, pi.fuels, f)
    co2 = em.co2_t(s.electricity_method)
    budget = _budget(inp, enterprise)
    dc = dual_control(
        period,
        Totals(
            carbon_t=co2,
            energy_tce=tce.total,
            production_t=pi.production_t,
            output_10k_yuan=pi.output_10k_yuan,
        ),
        inp.year_before.get(enterprise, Totals()),
        month_before=inp.month_before.get(enterprise),
        last_year=inp.last_year.get(enterprise, ()),
        as_of=inp.as_of,
        budget=budget,
    )
    if annual_energy_tce is None:  # the park itself: its own year-end energy
        annual_energy_tce = dc.energy_projected.value
        if annual_energy_tce is None:
            annual_energy_tce = tce.total
    months = set(period.months())
    ind = indicators(
        co2,
        tce.total,
        tce.non_fossil,
        annual_energy_tce,
        [g for g in inp.guide if g.month in months],
        f,
    )
    offsets = [o for o in inp.offsets if enterprise is None or o.enterprise == enterprise]
    red = reductions(
        float(sums["green_onsite"]), f.grid_location, inp.plans if enterprise is None else None
    )
    return ScopeFigures(
        enterprise=enterprise,
        completeness=(
            bal.completeness if enterprise is None else bal.enterprise_completeness[enterprise]
        ),
        energy_kwh=energy,
        storage_loss_kwh=float(sums["storage_loss"]),
        curtailed_kwh=None if bal.curtailment_basis == "none" else float(sums["curtailed"]),
        green=green,
        inputs=pi,
        emissions=em,
        energy=tce,
        co2_t=co2,
        indicators=ind,
        intensity=intensity(em, pi, s.electricity_method),
        dual_control=dc,
        alarms=budget_alarms(dc, s.park if enterprise is None else enterprise),
        offsets=offsets,
        offsets_held_t=offsets_held_t(offsets, enterprise),
        reductions=red,
    )


def carbon_figures(
    inp: CarbonInputs, factors: Factors, enterprise: str | None = None
) -> CarbonFigures:
    """Run the accounting of ``inp`` for the park, and for ``enterprise`` when given.

    Raises
    ------
    CarbonInputError
        Bad input, naming the field (an unknown enterprise, meter, a duplicated interval).
    """
    check_inputs(inp)
    if enterprise is not None and enterprise not in inp.settings.enterprise_ids:
        raise CarbonInputError("enterprise", f"no enterprise {enterprise!r} in the park")
    f = carbon_factors(factors, inp.settings)
    bal = energy_balance(
        inp.intervals,
        inp.meters,
        inp.settings,
        inp.period,
        as_of=inp.as_of,
        planned_curtailed_kwh=inp.planned_curtailed_kwh,
    )
    matches = match_trades(bal, inp.trades)
    park = _scope(inp, f, bal, matches, None, None)
    ent = None
    if enterprise is not None:
        annual = park.dual_control.energy_projected.value
        ent = _scope(
            inp, f, bal, matches, enterprise, park.energy.total if annual is None else annual
        )
    return CarbonFigures(inp, inp.settings, inp.period, f, bal, matches, park, ent)


def with_enterprise(fig: CarbonFigures, enterprise: str) -> CarbonFigures:
    """``fig`` with ``enterprise``'s figures, reusing its balance and trade matches: the same as
    ``carbon_figures(fig.inputs, factors, enterprise)`` without running the balance again (the
    monthly report asks for every enterprise of a park)."""
    if enterprise not in fig.settings.enterprise_ids:
        raise CarbonInputError("enterprise", f"no enterprise {enterprise!r} in the park")
    annual = fig.park.dual_control.energy_projected.value
    ent = _scope(
        fig.inputs,
        fig.factors,
        fig.balance,
        fig.matches,
        enterprise,
        fig.park.energy.total if annual is None else annual,
    )
    return replace(fig, enterprise=ent)


def green_by_day(
    fig: CarbonFigures, enterprise: str | None = None
) -> list[tuple[str, GreenShares]]:
    """Both green shares of every local day of the period, for charts and the report.

    Monthly certificates and unprofiled trades count pro rata to each day (as in a day period).
    """
    inp, period = fig.inputs, fig.period
    frame = fig.balance.park if enterprise is None else fig.balance.enterprises[enterprise]
    matched = fig.matches.park if enterprise is None else fig.matches.enterprises[enterprise]
    s = fig.settings
    target = (
        s.green_share_target if enterprise is None else s.enterprise(enterprise).green_share_target
    )
    dates = np.asarray(pd.DatetimeIndex(frame.index).tz_convert(period.timezone).date)
    # one grouping for the whole period (a month of a park and ten enterprises: 330 days)
    by_day = frame[["consumption", "green"]].groupby(dates).sum()
    matched_by_day = pd.Series(np.asarray(matched, dtype=float)).groupby(dates).sum()
    out: list[tuple[str, GreenShares]] = []
    for day, consumption, green, matched_kwh in zip(  # the days in order (groupby sorts)
        by_day.index,
        by_day["consumption"].to_numpy(dtype=float),
        by_day["green"].to_numpy(dtype=float),
        matched_by_day.reindex(by_day.index).to_numpy(dtype=float),
        strict=True,
    ):
        one = period_of("day", day, period.timezone)
        out.append(
            (
                one.label,
                green_shares(
                    float(consumption),
                    float(green),
                    float(matched_kwh),
                    certificates_kwh(inp.certificates, one, enterprise),
                    trades_kwh(inp.trades, one, enterprise),
                    target,
                ),
            )
        )
    return out


def response_dict(fig: CarbonFigures) -> dict[str, Any]:
    """§10's answer for the enterprise of ``fig`` if it has one, else for the park."""
    sc = fig.enterprise or fig.park
    g, em, ind, it, dc = sc.green, sc.emissions, sc.indicators, sc.intensity, sc.dual_control
    budget = dc.budget
    return {
        "park": fig.settings.park,
        "enterprise": sc.enterprise,
        "period": fig.period.kind,
        "label": fig.period.label,
        "completeness": sc.completeness,
        "energy_kwh": {
            **sc.energy_kwh,
            "green_consumed_time_matched": g.time_matched_kwh,
            "curtailed": sc.curtailed_kwh,
            "storage_loss": sc.storage_loss_kwh,
        },
        "curtailment_basis": fig.balance.curtailment_basis,
        "green": {
            "volumetric_share": g.volumetric_share,
            "time_matched_share": g.time_matched_share,
            "certificates_kwh": g.certificates_kwh,
            "trades_kwh": g.trades_kwh,
            "target_share": g.target_share,
            "meets_target": g.meets_target,
        },
        "emissions_t": {
            "scope1_fuel": em.scope1_fuel,
            "scope2_location": em.scope2_location,
            "scope2_market": em.scope2_market,
            "process_anode": em.process_anode,
            "process_pfc_co2e": em.process_pfc_co2e,
            "total_location": em.total_location,
            "total_market": em.total_market,
            "offsets_held": sc.offsets_held_t,
            "scope2_heat": em.scope2_heat,
        },
        "energy_tce": {
            "total": sc.energy.total,
            "counted_for_control": sc.energy.counted_for_control,
        },
        "indicators": {
            "core_t_per_tce": ind.core_t_per_tce,
            "core_threshold_t_per_tce": ind.core_threshold_t_per_tce,
            "core_pass": ind.core_pass,
            "clean_energy_share": ind.clean_energy_share,
            "clean_energy_pass": ind.clean_energy_pass,
            "core_regional_band_t_per_tce": list(ind.core_regional_band_t_per_tce),
            "core_regional_pass": ind.core_regional_pass,
            "solid_waste_utilisation": ind.solid_waste_utilisation,
            "solid_waste_pass": ind.solid_waste_pass,
            "waste_heat_utilisation": ind.waste_heat_utilisation,
            "waste_heat_pass": ind.waste_heat_pass,
            "water_reuse": ind.water_reuse,
            "water_reuse_pass": ind.water_reuse_pass,
        },
        "intensity": {
            "t_co2_per_t_product_direct": it.t_co2_per_t_product_direct,
            "t_co2_per_t_product_indirect_location": it.t_co2_per_t_product_indirect_location,
            "t_co2_per_t_product_indirect_market": it.t_co2_per_t_product_indirect_market,
            "t_co2_per_10k_yuan": it.t_co2_per_10k_yuan,
        },
        "budget": {
            "carbon_t": None if budget is None else budget.carbon_t,
            "used_t": dc.carbon_ytd_t,
            "projected_t": dc.carbon_projected.value,
            "projection_basis": dc.carbon_projected.basis,
            "energy_tce": None if budget is None else budget.energy_tce,
            "energy_used_tce": dc.energy_ytd_tce,
            "energy_projected_tce": dc.energy_projected.value,
        },
        "factors": [line.as_dict() for line in fig.factors.lines()],
        "emission_lines": [line.as_dict() for line in em.lines],
        "reductions_t": {
            "onsite_renewables": sc.reductions.onsite_renewables_t,
            "dispatch_uplift": sc.reductions.dispatch_uplift_t,
        },
        "offsets": [o.model_dump() for o in sc.offsets],
    }


def carbon_response(
    inp: CarbonInputs, factors: Factors, enterprise: str | None = None
) -> dict[str, Any]:
    """§10's ``GET /parks/{park}/carbon`` answer for ``inp`` (and ``enterprise``)."""
    return response_dict(carbon_figures(inp, factors, enterprise))
