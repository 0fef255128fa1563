"""Build the report model from the carbon figures, the forecast accuracy and the data.

Pure: it takes :class:`ReportInputs` (the same :class:`~park_server.carbon.CarbonInputs` the
carbon API reads, plus names and the month's forecast accuracy) and returns a
:class:`~park_server.reports.model.Report`. Every figure of a scope's sections is a key of the
§10 answer of that scope (``carbon_response``) or a day of ``green_by_day`` / the balance; the
report computes no accounting of its own (docs/reports.md says which key each cell shows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from config.factors import Factors
from park_server.carbon import (
    CarbonFigures,
    CarbonInputs,
    apply_offsets,
    carbon_figures,
    green_by_day,
    response_dict,
)
from park_server.carbon.instruments import Certificate, Trade
from park_server.carbon.response import with_enterprise
from park_server.reports.data import interval_table, meter_completeness
from park_server.reports.model import (
    Block,
    Cell,
    Chart,
    Column,
    Report,
    ReportMeta,
    Scope,
    Section,
    Series,
    Table,
)


def N_(msgid: str) -> str:
    """Mark a message id for extraction (pybabel -k N_); translated when rendering."""
    return msgid


TARGETS = ("pv", "wind", "load")


@dataclass(frozen=True)
class ForecastAccuracy:
    """One target's day-ahead forecast accuracy over the month.

    ``nmae`` is the interval-weighted mean of the daily nMAE (normalised by capacity for PV and
    wind, by the day's mean load for load); ``persistence_nmae`` the same for yesterday's
    measured profile as the forecast, over the same days; ``skill`` = 1 − nmae ÷
    persistence_nmae (None where persistence is not available)."""

    target: str
    days: int
    intervals: int
    nmae: float | None
    persistence_nmae: float | None
    skill: float | None
    coverage_p10_p90: float | None


@dataclass(frozen=True)
class ReportInputs:
    carbon: CarbonInputs
    park_name: str
    park_name_zh: str = ""
    enterprise_names: Mapping[str, str] = field(default_factory=dict)
    accuracy: Sequence[ForecastAccuracy] = ()


# ---- cells ------------------------------------------------------------------------------


def _t(value: str) -> Cell:
    return Cell(value, "text")


def _m(msgid: str) -> Cell:
    return Cell(msgid, "msg")


def _get(answer: Mapping[str, Any], key: str) -> Any:
    node: Any = answer
    for part in key.split("."):
        node = node[part]
    return node


def _c(answer: Mapping[str, Any], key: str, kind: Any) -> Cell:
    return Cell(_num(_get(answer, key)), kind, key)


def _num(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN: no data
        return None
    return value


_ROW_COLUMNS = (
    Column("item", N_("Item")),
    Column("value", N_("Value"), numeric=True),
    Column("unit", N_("Unit")),
    Column("reference", N_("Target or limit"), numeric=True),
    Column("result", N_("Result")),
)

UNIT = {
    "kwh": "MWh",
    "share": "%",
    "t": "tCO₂",
    "tce": "tce",
    "t_per_tce": "tCO₂/tce",
}


def _row(
    label: str,
    value: Cell,
    unit: str = "",
    reference: Cell | None = None,
    result: Cell | None = None,
) -> tuple[Cell, ...]:
    return (
        _m(label),
        value,
        _t(unit or UNIT.get(value.kind, "")),
        reference or _t(""),
        result or _t(""),
    )


def _table(
    id_: str,
    title: str,
    rows: Sequence[tuple[Cell, ...]],
    note: str | None = None,
    columns: tuple[Column, ...] = _ROW_COLUMNS,
) -> Table:
    return Table(id_, title, columns, tuple(rows), note)


# ---- scope sections ---------------------------------------------------------------------


def _summary(a: Mapping[str, Any]) -> Section:
    target = _c(a, "green.target_share", "share")
    vol, tm = a["green"]["volumetric_share"], a["green"]["time_matched_share"]
    t_share = a["green"]["target_share"]
    tm_pass = None if tm is None or t_share is None else tm >= t_share
    budget, used, proj = a["budget"]["carbon_t"], a["budget"]["used_t"], a["budget"]["projected_t"]
    e_budget, e_proj = a["budget"]["energy_tce"], a["budget"]["energy_projected_tce"]
    rows = [
        _row(N_("Electricity consumed"), _c(a, "energy_kwh.consumption", "kwh")),
        _row(
            N_("Green share, volumetric"),
            _c(a, "green.volumetric_share", "share"),
            reference=target,
            result=_c(a, "green.meets_target", "bool"),
        ),
        _row(
            N_("Green share, time-matched (15 min)"),
            _c(a, "green.time_matched_share", "share"),
            reference=target,
            result=Cell(tm_pass, "bool", "green.time_matched_meets_target"),
        ),
        _row(N_("CO₂e, location-based"), _c(a, "emissions_t.total_location", "t"), "tCO₂e"),
        _row(N_("CO₂e, market-based"), _c(a, "emissions_t.total_market", "t"), "tCO₂e"),
        _row(
            N_("Core indicator: CO₂ per tce of energy"),
            _c(a, "indicators.core_t_per_tce", "t_per_tce"),
            reference=_c(a, "indicators.core_threshold_t_per_tce", "t_per_tce"),
            result=_c(a, "indicators.core_pass", "bool"),
        ),
        _row(
            N_("Carbon budget used (year to date)"),
            _c(a, "budget.used_t", "t"),
            reference=_c(a, "budget.carbon_t", "t"),
            result=Cell(None if budget is None else used <= budget, "bool", "budget.used_within"),
        ),
        _row(
            N_("Carbon, projected to year end"),
            _c(a, "budget.projected_t", "t"),
            reference=_c(a, "budget.carbon_t", "t"),
            result=Cell(
                None if budget is None or proj is None else proj <= budget,
                "bool",
                "budget.projected_within",
            ),
        ),
        _row(
            N_("Energy, projected to year end"),
            _c(a, "budget.energy_projected_tce", "tce"),
            reference=_c(a, "budget.energy_tce", "tce"),
            result=Cell(
                None if e_budget is None or e_proj is None else e_proj <= e_budget,
                "bool",
                "budget.energy_projected_within",
            ),
        ),
        _row(N_("Data completeness"), _c(a, "completeness", "share")),
    ]
    del vol
    return Section(
        "summary",
        N_("Summary"),
        (_table("summary", N_("Summary"), rows),),
        N_(
            "Green shares are labelled with their definition: volumetric counts certificates "
            "and trades of the month; time-matched counts green power only in the 15 minutes "
            "it is consumed."
        ),
    )


_SOURCES = (
    ("pv", N_("PV")),
    ("wind", N_("Wind")),
    ("direct_green", N_("Direct green supply")),
    ("storage_discharge", N_("Storage discharge")),
    ("grid_import", N_("Grid import")),
)
_OTHER_FLOWS = (
    ("grid_export", N_("Grid export")),
    ("storage_charge", N_("Storage charge")),
    ("green", N_("Green consumed (physical)")),
)


#: column headers of the daily table (short: eleven columns on an A4 page)
_SHORT = {
    "direct_green": N_("Direct green"),
    "storage_discharge": N_("Discharge"),
    "grid_import": N_("Import"),
    "grid_export": N_("Export"),
    "storage_charge": N_("Charge"),
    "green": N_("Green (physical)"),
}


def _daily(fig: CarbonFigures, enterprise: str | None) -> pd.DataFrame:
    frame = fig.balance.park if enterprise is None else fig.balance.enterprises[enterprise]
    local = pd.DatetimeIndex(frame.index).tz_convert(fig.period.timezone)
    days = pd.Index([d.isoformat() for d in local.date], name="day")
    return frame.groupby(days).sum(min_count=1)


def _energy(fig: CarbonFigures, a: Mapping[str, Any], enterprise: str | None) -> Section:
    daily = _daily(fig, enterprise)
    flows = (("consumption", N_("Consumption")), *_SOURCES, *_OTHER_FLOWS)
    columns = (
        Column("day", N_("Day")),
        *tuple(Column(k, _SHORT.get(k, label), "MWh", numeric=True) for k, label in flows),
    )
    rows: list[tuple[Cell, ...]] = []
    for day, r in daily.iterrows():
        rows.append(
            (
                _t(str(day)),
                *tuple(Cell(_num(float(r[k])), "kwh", f"days.{day}.{k}") for k, _ in flows),
            )
        )
    total_keys = {k: f"energy_kwh.{k}" for k, _ in flows}
    total_keys["green"] = "green.physical_kwh"
    totals: dict[str, Any] = dict(a["energy_kwh"])
    totals["green"] = fig_scope(fig, enterprise).green.physical_kwh
    rows.append(
        (_m(N_("Month")), *tuple(Cell(_num(totals[k]), "kwh", total_keys[k]) for k, _ in flows))
    )
    x = tuple(str(d) for d in daily.index)
    chart = Chart(
        "energy_chart",
        N_("Electricity by source per day"),
        "stacked_bar",
        x,
        (
            *tuple(
                Series(label, tuple(_num(float(v)) for v in daily[k]), f"days.*.{k}")
                for k, label in _SOURCES
            ),
            Series(
                N_("Consumption"),
                tuple(_num(float(v)) for v in daily["consumption"]),
                "days.*.consumption",
                "line",
            ),
        ),
        N_("MWh per day"),
        mwh=True,
    )
    table = _table(
        "energy_days",
        N_("Electricity by source per day"),
        rows,
        N_(
            "Only complete intervals count (every primary meter reported); a day with a gap "
            "sums what was measured, never filled in."
        ),
        columns,
    )
    loss = _table(
        "storage",
        N_("Storage"),
        [_row(N_("Storage losses"), _c(a, "energy_kwh.storage_loss", "kwh"))],
    )
    return Section("energy", N_("Electricity by source"), (chart, table, loss))


def fig_scope(fig: CarbonFigures, enterprise: str | None) -> Any:
    return fig.park if enterprise is None else fig.enterprise


def _green(fig: CarbonFigures, a: Mapping[str, Any], enterprise: str | None) -> Section:
    days = green_by_day(fig, enterprise)
    target = a["green"]["target_share"]
    columns = (
        Column("day", N_("Day")),
        Column("volumetric", N_("Volumetric"), "%", numeric=True),
        Column("time_matched", N_("Time-matched"), "%", numeric=True),
        Column("target", N_("Target"), "%", numeric=True),
    )
    rows = [
        (
            _t(day),
            Cell(g.volumetric_share, "share", f"days.{day}.volumetric_share"),
            Cell(g.time_matched_share, "share", f"days.{day}.time_matched_share"),
            Cell(g.target_share, "share", f"days.{day}.target_share"),
        )
        for day, g in days
    ]
    rows.append(
        (
            _m(N_("Month")),
            _c(a, "green.volumetric_share", "share"),
            _c(a, "green.time_matched_share", "share"),
            _c(a, "green.target_share", "share"),
        )
    )
    x = tuple(d for d, _ in days)
    series = [
        Series(
            N_("Volumetric"),
            tuple(g.volumetric_share for _, g in days),
            "days.*.volumetric_share",
            "line",
        ),
        Series(
            N_("Time-matched"),
            tuple(g.time_matched_share for _, g in days),
            "days.*.time_matched_share",
            "line",
        ),
    ]
    if target is not None:
        series.append(
            Series(N_("Target"), tuple(target for _ in days), "green.target_share", "dashed")
        )
    chart = Chart(
        "green_chart",
        N_("Green share per day"),
        "lines",
        x,
        tuple(series),
        N_("Share"),
        percent=True,
    )
    sc = fig_scope(fig, enterprise)
    parts = _table(
        "green_parts",
        N_("Green electricity counted"),
        [
            _row(
                N_("Green consumed on site (physical)"),
                Cell(sc.green.physical_kwh, "kwh", "green.physical_kwh"),
            ),
            _row(
                N_("Profiled trades matched in their interval"),
                Cell(sc.green.matched_trades_kwh, "kwh", "green.matched_trades_kwh"),
            ),
            _row(
                N_("Green consumed, time-matched"),
                _c(a, "energy_kwh.green_consumed_time_matched", "kwh"),
            ),
            _row(N_("Green certificates (GEC)"), _c(a, "green.certificates_kwh", "kwh")),
            _row(N_("Green-power trades"), _c(a, "green.trades_kwh", "kwh")),
        ],
    )
    table = _table("green_days", N_("Green share per day"), rows, columns=columns)
    return Section("green", N_("Green share"), (chart, parts, table))


_BASIS = {
    "measured": N_("measured: available power reported by every PV and wind meter"),
    "planned": N_("planned: the dispatcher's planned curtailment"),
    "none": N_("none: no available power and no plan"),
}


def _curtailment(a: Mapping[str, Any]) -> Section:
    basis = a["curtailment_basis"]
    rows = [
        _row(N_("Curtailed renewable energy"), _c(a, "energy_kwh.curtailed", "kwh")),
        (_m(N_("Basis")), Cell(_BASIS[basis], "msg", "curtailment_basis"), _t(""), _t(""), _t("")),
    ]
    return Section(
        "curtailment", N_("Curtailment"), (_table("curtailment", N_("Curtailment"), rows),)
    )


_EMISSIONS = (
    ("scope1_fuel", N_("Scope 1: fuels")),
    ("process_anode", N_("Process: anode consumption")),
    ("process_pfc_co2e", N_("Process: PFC (CO₂e)")),
    ("scope2_heat", N_("Scope 2: purchased heat")),
    ("scope2_location", N_("Scope 2: electricity, location-based")),
    ("scope2_market", N_("Scope 2: electricity, market-based")),
    ("total_location", N_("Total, location-based")),
    ("total_market", N_("Total, market-based")),
)
_LINE_NAMES = {
    "scope1_fuel": N_("Scope 1: fuels"),
    "scope2_location": N_("Scope 2: electricity, location-based"),
    "scope2_market": N_("Scope 2: electricity, market-based"),
    "scope2_heat": N_("Scope 2: purchased heat"),
    "process_anode": N_("Process: anode consumption"),
    "process_pfc_co2e": N_("Process: PFC (CO₂e)"),
}


def _emissions(a: Mapping[str, Any]) -> Section:
    rows = [
        _row(
            label, _c(a, f"emissions_t.{k}", "t"), "tCO₂e" if "pfc" in k or "total" in k else "tCO₂"
        )
        for k, label in _EMISSIONS
    ]
    scopes = _table(
        "emissions",
        N_("CO₂ by scope"),
        rows,
        N_("Offsets are never deducted here: they are listed apart."),
    )
    lcols = (
        Column("line", N_("Emission line")),
        Column("category", N_("Category")),
        Column("quantity", N_("Quantity"), numeric=True),
        Column("quantity_unit", N_("Unit")),
        Column("factors", N_("Factors")),
        Column("t", N_("Emissions"), "t", numeric=True),
    )
    lrows = []
    for i, line in enumerate(a["emission_lines"]):
        lrows.append(
            (
                _t(line["name"]),
                _m(_LINE_NAMES[line["category"]]),
                Cell(line["quantity"], "number", f"emission_lines[{i}].quantity"),
                _t(line["quantity_unit"]),
                _t("; ".join(f"{f['name']} = {f['value']:g} {f['unit']}" for f in line["factors"])),
                Cell(line["t"], "t", f"emission_lines[{i}].t"),
            )
        )
    lines = _table("emission_lines", N_("Emission lines"), lrows, columns=lcols)
    it = [
        _row(
            N_("Direct per tonne of product"),
            _c(a, "intensity.t_co2_per_t_product_direct", "intensity"),
            "tCO₂e/t",
        ),
        _row(
            N_("Indirect per tonne, location-based"),
            _c(a, "intensity.t_co2_per_t_product_indirect_location", "intensity"),
            "tCO₂/t",
        ),
        _row(
            N_("Indirect per tonne, market-based"),
            _c(a, "intensity.t_co2_per_t_product_indirect_market", "intensity"),
            "tCO₂/t",
        ),
        _row(
            N_("CO₂ per 10⁴ yuan of output"),
            _c(a, "intensity.t_co2_per_10k_yuan", "intensity"),
            "tCO₂/10⁴ ¥",
        ),
    ]
    blocks: tuple[Block, ...] = (scopes, lines, _table("intensity", N_("Intensities"), it))
    return Section("emissions", N_("CO₂ by scope"), blocks)


def _indicators(fig: CarbonFigures, a: Mapping[str, Any]) -> Section:
    ind = a["indicators"]
    low, high = ind["core_regional_band_t_per_tce"]
    f = fig.factors

    def limit(name: str) -> Cell:
        return Cell(getattr(f, name).value, "share", f"factors.{name}")

    rows = [
        _row(
            N_("Core indicator: CO₂ per tce of energy"),
            _c(a, "indicators.core_t_per_tce", "t_per_tce"),
            reference=_c(a, "indicators.core_threshold_t_per_tce", "t_per_tce"),
            result=_c(a, "indicators.core_pass", "bool"),
        ),
        _row(
            N_("Core indicator against the Inner Mongolia regional band (top)"),
            _c(a, "indicators.core_t_per_tce", "t_per_tce"),
            reference=Cell(high, "t_per_tce", "indicators.core_regional_band_t_per_tce[1]"),
            result=_c(a, "indicators.core_regional_pass", "bool"),
        ),
        _row(
            N_("Clean energy share of energy use"),
            _c(a, "indicators.clean_energy_share", "share"),
            reference=limit("clean_energy_share_min"),
            result=_c(a, "indicators.clean_energy_pass", "bool"),
        ),
        _row(
            N_("Solid waste utilisation"),
            _c(a, "indicators.solid_waste_utilisation", "share"),
            reference=limit("solid_waste_utilisation_min"),
            result=_c(a, "indicators.solid_waste_pass", "bool"),
        ),
        _row(
            N_("Waste heat utilisation"),
            _c(a, "indicators.waste_heat_utilisation", "share"),
            reference=limit("waste_heat_utilisation_min"),
            result=_c(a, "indicators.waste_heat_pass", "bool"),
        ),
        _row(
            N_("Industrial water reuse"),
            _c(a, "indicators.water_reuse", "share"),
            reference=limit("water_reuse_min"),
            result=_c(a, "indicators.water_reuse_pass", "bool"),
        ),
        _row(N_("Energy use"), _c(a, "energy_tce.total", "tce")),
        _row(
            N_("Energy counted for control (non-fossil left out)"),
            _c(a, "energy_tce.counted_for_control", "tce"),
        ),
    ]
    del low
    return Section(
        "indicators",
        N_("Zero-carbon park indicators"),
        (_table("indicators", N_("Zero-carbon park indicators"), rows),),
        N_("NDRC/MIIT/NEA 2025 No. 910; offsets never enter the core indicator."),
    )


_BASIS_PROJ = {
    "actual": N_("actual: no day left in the year"),
    "last_year": N_("last year's months"),
    "this_year": N_("this year's daily rate"),
    "last_year+this_year": N_("last year's months where known, else this year's rate"),
}


_ALARMS = {
    "carbon_budget": N_("Carbon projected above the budget"),
    "energy_budget": N_("Energy projected above the budget"),
    "intensity_per_t_product": N_("CO₂ per tonne of product above the target"),
    "intensity_per_10k_yuan": N_("CO₂ per 10⁴ yuan above the target"),
}


def _dual_control(fig: CarbonFigures, a: Mapping[str, Any], enterprise: str | None) -> Section:
    dc = fig_scope(fig, enterprise).dual_control
    b = a["budget"]
    budget = dc.budget
    basis = b["projection_basis"]
    rows = [
        _row(N_("Carbon budget of the year"), _c(a, "budget.carbon_t", "t")),
        _row(
            N_("Carbon used, year to date"),
            _c(a, "budget.used_t", "t"),
            reference=_c(a, "budget.carbon_t", "t"),
        ),
        _row(
            N_("Carbon projected to year end"),
            _c(a, "budget.projected_t", "t"),
            reference=_c(a, "budget.carbon_t", "t"),
        ),
        _row(N_("Energy budget of the year"), _c(a, "budget.energy_tce", "tce")),
        _row(
            N_("Energy used, year to date"),
            _c(a, "budget.energy_used_tce", "tce"),
            reference=_c(a, "budget.energy_tce", "tce"),
        ),
        _row(
            N_("Energy projected to year end"),
            _c(a, "budget.energy_projected_tce", "tce"),
            reference=_c(a, "budget.energy_tce", "tce"),
        ),
        _row(
            N_("CO₂ per tonne of product, year to date"),
            Cell(dc.t_co2_per_t_product_ytd, "intensity", "dual_control.t_co2_per_t_product_ytd"),
            "tCO₂/t",
            reference=Cell(
                None if budget is None else budget.t_co2_per_t_product,
                "intensity",
                "budget.t_co2_per_t_product",
            ),
        ),
        _row(
            N_("CO₂ per 10⁴ yuan, year to date"),
            Cell(dc.t_co2_per_10k_yuan_ytd, "intensity", "dual_control.t_co2_per_10k_yuan_ytd"),
            "tCO₂/10⁴ ¥",
            reference=Cell(
                None if budget is None else budget.t_co2_per_10k_yuan,
                "intensity",
                "budget.t_co2_per_10k_yuan",
            ),
        ),
        (
            _m(N_("Projection basis")),
            Cell(_BASIS_PROJ.get(basis, "—") if basis else "—", "msg", "budget.projection_basis"),
            _t(""),
            _t(""),
            _t(""),
        ),
    ]
    blocks: list[Block] = [_table("dual_control", N_("Dual control"), rows)]
    alarms = fig_scope(fig, enterprise).alarms
    if alarms:
        acols = (
            Column("kind", N_("Alarm")),
            Column("limit", N_("Limit"), numeric=True),
            Column("value", N_("Value"), numeric=True),
            Column("unit", N_("Unit")),
            Column("excess", N_("Excess"), "%", numeric=True),
        )
        arows = [
            (
                _m(_ALARMS.get(x.kind, x.kind)),
                Cell(x.limit, "number", f"alarms[{i}].limit"),
                Cell(x.value, "number", f"alarms[{i}].value"),
                _t(x.unit),
                Cell(x.excess_pct / 100.0, "share", f"alarms[{i}].excess_pct"),
            )
            for i, x in enumerate(alarms)
        ]
        blocks.append(_table("budget_alarms", N_("Budget alarms"), arows, columns=acols))
    return Section("dual_control", N_("Dual control: carbon and energy"), tuple(blocks))


def _instruments(fig: CarbonFigures, enterprise: str | None, names: Mapping[str, str]) -> Section:
    inp, period = fig.inputs, fig.period
    cols = (
        Column("holder", N_("Holder")),
        Column("kind", N_("Kind")),
        Column("serials", N_("Serial numbers")),
        Column("mwh", N_("Quantity"), "MWh", numeric=True),
        Column("technology", N_("Technology")),
        Column("project", N_("Project")),
        Column("vintage", N_("Vintage")),
        Column("counted", N_("Counted this month"), "MWh", numeric=True),
        Column("profile", N_("15-min profile")),
    )
    rows: list[tuple[Cell, ...]] = []
    items: list[Certificate | Trade] = [*inp.certificates, *inp.trades]
    for i, x in enumerate(items):
        if enterprise is not None and x.enterprise != enterprise:
            continue
        counted = x.mwh * 1000.0 * period.share_of_month(x.month)
        if isinstance(x, Trade) and x.profile_kwh is not None:
            p = x.profile_kwh
            counted = float(p[(p.index >= period.start) & (p.index < period.end)].sum())
        is_trade = isinstance(x, Trade)
        serial = x.serial if isinstance(x, Certificate) else x.bundled
        rows.append(
            (
                _t(names.get(x.enterprise or "", x.enterprise or "") if x.enterprise else "—"),
                _m(N_("Green-power trade") if is_trade else N_("GEC")),
                _t(str(serial) if serial else "—"),
                Cell(x.mwh * 1000.0, "kwh", f"instruments[{i}].mwh"),
                _t(x.technology),
                _t(x.project),
                _t(x.vintage),
                Cell(counted, "kwh", f"instruments[{i}].counted_kwh"),
                _m(
                    (N_("yes") if getattr(x, "profile_kwh", None) is not None else N_("no"))
                    if is_trade
                    else "—"
                ),
            )
        )
    note = N_(
        "Certificates and unprofiled trades count in the volumetric share only; a profiled "
        "trade is matched in its 15-min intervals for the time-matched share."
    )
    if not rows:
        return Section(
            "instruments", N_("Certificates and trades used"), (), N_("None held this month.")
        )
    return Section(
        "instruments",
        N_("Certificates and trades used"),
        (_table("instruments", N_("Certificates and trades used"), rows, note, cols),),
    )


def _offsets(fig: CarbonFigures, a: Mapping[str, Any], enterprise: str | None) -> Section:
    sc = fig_scope(fig, enterprise)
    cols = (
        Column("kind", N_("Kind")),
        Column("project", N_("Project")),
        Column("vintage", N_("Vintage")),
        Column("t", N_("Credits"), "tCO₂e", numeric=True),
    )
    rows = [
        (
            _t(o.kind.upper()),
            _t(o.project),
            _t(str(o.vintage)),
            Cell(o.t_co2e, "t", f"offsets[{i}].t_co2e"),
        )
        for i, o in enumerate(sc.offsets)
    ]
    net = apply_offsets(sc.emissions.total_market, sc.offsets_held_t)
    summary = _table(
        "offsets_net",
        N_("Offsets, apart from the figures"),
        [
            _row(N_("Offsets held"), _c(a, "emissions_t.offsets_held", "t"), "tCO₂e"),
            _row(
                N_("Total market-based, net of offsets (for information)"),
                Cell(net.net_t, "t", "offsets.net_market_t"),
                "tCO₂e",
            ),
        ],
        N_("Offsets are never in the totals, the core indicator or the budgets."),
    )
    blocks: list[Block] = [summary]
    if rows:
        blocks.insert(0, _table("offsets", N_("Offsets held"), rows, columns=cols))
    return Section("offsets", N_("Offsets"), tuple(blocks))


def _reductions(a: Mapping[str, Any]) -> Section:
    rows = [
        _row(
            N_("Avoided by on-site renewables (location-based)"),
            _c(a, "reductions_t.onsite_renewables", "t"),
        ),
        _row(
            N_("Dispatch uplift over the rule-based baseline"),
            _c(a, "reductions_t.dispatch_uplift", "t"),
        ),
    ]
    return Section("reductions", N_("Reductions"), (_table("reductions", N_("Reductions"), rows),))


def _scope_sections(
    fig: CarbonFigures, enterprise: str | None, names: Mapping[str, str]
) -> tuple[Section, ...]:
    a = response_dict(fig)
    return (
        _summary(a),
        _energy(fig, a, enterprise),
        _green(fig, a, enterprise),
        _curtailment(a),
        _emissions(a),
        _indicators(fig, a),
        _dual_control(fig, a, enterprise),
        _instruments(fig, enterprise, names),
        _offsets(fig, a, enterprise),
        _reductions(a),
    )


# ---- appendix ---------------------------------------------------------------------------

_TARGET_NAMES = {"pv": N_("PV"), "wind": N_("Wind"), "load": N_("Load")}


def _accuracy(acc: Sequence[ForecastAccuracy]) -> Section:
    cols = (
        Column("target", N_("Forecast")),
        Column("days", N_("Days forecast")),
        Column("intervals", N_("Intervals compared")),
        Column("nmae", N_("nMAE"), "%", numeric=True),
        Column("persistence", N_("nMAE of persistence"), "%", numeric=True),
        Column("skill", N_("Skill vs persistence"), "%", numeric=True),
        Column("coverage", N_("P10–P90 coverage"), "%", numeric=True),
    )
    rows = [
        (
            _m(_TARGET_NAMES.get(x.target, x.target)),
            Cell(x.days, "count", f"accuracy.{x.target}.days"),
            Cell(x.intervals, "count", f"accuracy.{x.target}.intervals"),
            Cell(x.nmae, "share", f"accuracy.{x.target}.nmae"),
            Cell(x.persistence_nmae, "share", f"accuracy.{x.target}.persistence_nmae"),
            Cell(x.skill, "share", f"accuracy.{x.target}.skill"),
            Cell(x.coverage_p10_p90, "share", f"accuracy.{x.target}.coverage_p10_p90"),
        )
        for x in acc
    ]
    note = N_(
        "Day-ahead forecasts (issued from 10:00 the day before) against the measured 15-min "
        "values; nMAE by capacity for PV and wind, by mean load for load; skill = 1 − nMAE ÷ "
        "nMAE of yesterday's profile (persistence)."
    )
    if not rows:
        return Section(
            "accuracy",
            N_("Forecast accuracy of the month"),
            (),
            N_("No forecasts were stored this month."),
        )
    return Section(
        "accuracy",
        N_("Forecast accuracy of the month"),
        (_table("accuracy", N_("Forecast accuracy of the month"), rows, note, cols),),
    )


_ROLE_NAMES = {
    "grid": N_("grid"),
    "pv": N_("PV"),
    "wind": N_("Wind"),
    "direct_green": N_("Direct green supply"),
    "storage": N_("storage"),
    "load": N_("load"),
    "flexible_load": N_("flexible load"),
}
MAX_GAPS_LISTED = 6


def _completeness(inp: CarbonInputs) -> Section:
    cols = (
        Column("meter", N_("Meter")),
        Column("role", N_("Role")),
        Column("duty", N_("Duty")),
        Column("expected", N_("Expected samples"), numeric=True),
        Column("with_data", N_("With data"), numeric=True),
        Column("share", N_("Share"), "%", numeric=True),
        Column("gaps", N_("Gaps")),
    )
    rows = []
    gap_rows = []
    every = meter_completeness(inp)
    short = sorted(
        (mc for mc in every if mc.with_data < mc.expected),
        key=lambda m: (m.with_data / max(1, m.expected), m.meter),
    )
    whole = [mc for mc in every if mc.with_data >= mc.expected]
    for mc in short:
        rows.append(
            (
                _t(mc.meter),
                _m(_ROLE_NAMES.get(mc.role, mc.role)),
                _m(N_("primary") if mc.primary else N_("check")),
                Cell(mc.expected, "count", f"completeness.{mc.meter}.expected"),
                Cell(mc.with_data, "count", f"completeness.{mc.meter}.with_data"),
                Cell(mc.share, "share", f"completeness.{mc.meter}.share"),
                Cell(len(mc.gaps), "count", f"completeness.{mc.meter}.gaps"),
            )
        )
        for g in mc.gaps:
            gap_rows.append(
                (
                    _t(mc.meter),
                    Cell(g.start_ms, "ts", f"gaps.{mc.meter}.{g.start_ms}.start"),
                    Cell(g.end_ms, "ts", f"gaps.{mc.meter}.{g.start_ms}.end"),
                    Cell(g.intervals, "count", f"gaps.{mc.meter}.{g.start_ms}.intervals"),
                )
            )
    gcols = (
        Column("meter", N_("Meter")),
        Column("start", N_("From")),
        Column("end", N_("Until")),
        Column("intervals", N_("Missing intervals"), numeric=True),
    )
    blocks: list[Block] = []
    if rows:
        blocks.append(
            _table(
                "completeness",
                N_("Meters with missing data"),
                rows,
                N_("Share of the month's expected 15-min intervals with data."),
                cols,
            )
        )
    if whole:
        wcols = (
            Column("count", N_("Meters"), numeric=True),
            Column("expected", N_("Expected samples"), numeric=True),
            Column("meters", N_("Meters with every sample")),
        )
        blocks.append(
            _table(
                "complete_meters",
                N_("Meters with every sample"),
                [
                    (
                        Cell(len(whole), "count", "completeness.complete_meters"),
                        Cell(whole[0].expected, "count", "completeness.expected"),
                        _t(", ".join(mc.meter for mc in whole)),
                    )
                ],
                columns=wcols,
            )
        )
    if gap_rows:
        blocks.append(
            _table("gaps", N_("Gaps"), gap_rows, N_("Local time; the end is exclusive."), gcols)
        )
    return Section("completeness", N_("Data completeness per meter"), tuple(blocks))


def _methods(fig: CarbonFigures) -> Section:
    cols = (
        Column("name", N_("Factor")),
        Column("value", N_("Value"), numeric=True),
        Column("unit", N_("Unit")),
        Column("source", N_("Source")),
        Column("confidence", N_("Confidence")),
    )
    rows = [
        (
            _t(f.name),
            Cell(f.value, "factor", f"factors.{f.name}"),
            _t(f.unit),
            _t(f.source),
            _t(f.confidence),
        )
        for f in fig.factors.lines()
    ]
    s = fig.settings
    settings = [
        (_t("grid_region"), _t(s.grid_region), _t(""), _t(""), _t("")),
        (_t("grid_year"), _t(str(s.grid_year)), _t(""), _t(""), _t("")),
        (_t("market_region"), _t(s.market_region), _t(""), _t(""), _t("")),
        (_t("electricity_method"), _t(s.electricity_method), _t(""), _t(""), _t("")),
        (_t("sharing"), _t(s.sharing), _t(""), _t(""), _t("")),
    ]
    scols = (
        Column("setting", N_("Setting")),
        Column("value", N_("Value")),
        Column("a", ""),
        Column("b", ""),
        Column("c", ""),
    )
    return Section(
        "methods",
        N_("Methods and factors"),
        (
            _table(
                "factors",
                N_("Factors"),
                rows,
                N_(
                    "Confidence: H official or several matching reports, M one secondary report, L a single unverified source."
                ),
                cols,
            ),
            Table("settings", N_("Accounting settings"), scols[:2], tuple(r[:2] for r in settings)),
        ),
        N_(
            "Every figure is computed from the 15-min energy of the primary meters (sheet "
            "intervals of the XLSX) and the entries of the month, as docs/reports.md and "
            "docs/carbon.md describe."
        ),
    )


# ---- the report -------------------------------------------------------------------------


def build_report(ri: ReportInputs, factors: Factors) -> Report:
    """The report of ``ri.carbon``'s month for the park and each of its enterprises."""
    inp = ri.carbon
    ents = inp.settings.enterprise_ids
    park_fig = carbon_figures(inp, factors)
    names = dict(ri.enterprise_names)
    scopes = [Scope("park", None, ri.park_name, _scope_sections(park_fig, None, names))]
    for e in ents:
        fig = with_enterprise(park_fig, e)  # one balance serves every enterprise
        scopes.append(Scope(e, e, names.get(e, e), _scope_sections(fig, e, names)))
    appendix = (_accuracy(ri.accuracy), _completeness(inp), _methods(park_fig))
    meta = ReportMeta(
        park=inp.settings.park,
        park_name=ri.park_name,
        park_name_zh=ri.park_name_zh,
        month=inp.period.label,
        timezone=inp.period.timezone,
        as_of_ms=int(
            (inp.period.end if inp.as_of is None else min(inp.period.end, inp.as_of)).value
            // 1_000_000
        ),
    )
    return Report(meta, tuple(scopes), appendix, interval_table(inp))
