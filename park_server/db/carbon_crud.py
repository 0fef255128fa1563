"""Carbon records of a park (DESIGN.md §10): green instruments and trade profiles, budgets and
targets, monthly inputs and guide indicators, offsets. Keyword-only functions, no HTTP.

Rows arrive already checked by the carbon core (park_server.carbon): these functions store and
read them, each write in one transaction, so a refused row leaves nothing behind. The scope
column names an enterprise, or ``""`` for the park itself.

It is one piece, past 400 lines, because the instruments, budgets, inputs and offsets share one
scope convention and one transaction rule.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from park_server.carbon import (
    Budget,
    Certificate,
    Fuels,
    GuideIndicators,
    HeldRange,
    MonthlyInputs,
    Offset,
    SerialRange,
    Trade,
)
from park_server.db.tables import (
    CarbonBudgetRow,
    CarbonGuideRow,
    CarbonInstrumentRow,
    CarbonMonthlyRow,
    CarbonOffsetRow,
    TradeProfileRow,
)
from park_server.timeutil import now_ms

PARK_SCOPE = ""


def _scope(enterprise: str | None) -> str:
    return PARK_SCOPE if enterprise is None else enterprise


def _enterprise(scope: str) -> str | None:
    return None if scope == PARK_SCOPE else scope


def lock_park(session: Session, *, park_id: str) -> None:
    """Serialise writers of one park's carbon records until the transaction ends: a no-op update
    of the park's row (a row lock on PostgreSQL, the write lock on SQLite), so that two uploads
    can not both find a serial range free and both store it."""
    session.connection().execute(
        text("UPDATE park SET updated_ms = updated_ms WHERE id = :p"), {"p": park_id}
    )


# ---- instruments -------------------------------------------------------------------------------


def instrument_rows(
    session: Session, *, park_id: str, months: Collection[str] | None = None
) -> list[CarbonInstrumentRow]:
    """The park's instruments (of ``months`` when given), oldest first."""
    q = select(CarbonInstrumentRow).where(CarbonInstrumentRow.park_id == park_id)
    if months is not None:
        q = q.where(col(CarbonInstrumentRow.month).in_(sorted(months)))
    return list(session.exec(q.order_by(col(CarbonInstrumentRow.id))).all())


def instrument_row(
    session: Session, *, park_id: str, instrument_id: int
) -> CarbonInstrumentRow | None:
    row = session.get(CarbonInstrumentRow, instrument_id)
    return row if row is not None and row.park_id == park_id else None


def _serial(row: CarbonInstrumentRow) -> SerialRange | None:
    if row.serial_prefix is None or row.serial_first is None or row.serial_last is None:
        return None
    return SerialRange(row.serial_prefix, row.serial_first, row.serial_last, row.serial_digits)


def held(session: Session, *, park_id: str) -> list[HeldRange]:
    """Every serial range the park already holds, as certificates or bundled with a trade."""
    out: list[HeldRange] = []
    for r in instrument_rows(session, park_id=park_id):
        serial = _serial(r)
        if serial is not None:
            out.append(
                HeldRange(
                    serial, "gec" if r.kind == "gec" else "trade", f"{r.kind} #{r.id}, {r.project}"
                )
            )
    return out


def add_instruments(
    session: Session, *, park_id: str, items: Sequence[Certificate | Trade], by: str
) -> list[int]:
    """Store checked instruments in one transaction and commit; return their ids."""
    created = now_ms()
    rows: list[CarbonInstrumentRow] = []
    for x in items:
        serial = x.serial if isinstance(x, Certificate) else x.bundled
        rows.append(
            CarbonInstrumentRow(
                park_id=park_id,
                enterprise_id=_scope(x.enterprise),
                kind="gec" if isinstance(x, Certificate) else "trade",
                serial_prefix=None if serial is None else serial.prefix,
                serial_first=None if serial is None else serial.first,
                serial_last=None if serial is None else serial.last,
                serial_digits=0 if serial is None else serial.digits,
                mwh=x.mwh,
                technology=x.technology,
                project=x.project,
                vintage=x.vintage,
                month=x.month,
                created_ms=created,
                created_by=by,
            )
        )
    session.add_all(rows)
    session.commit()
    ids: list[int] = []
    for r in rows:
        session.refresh(r)
        assert r.id is not None
        ids.append(r.id)
    return ids


def trade_profiles(
    session: Session, *, instrument_ids: Collection[int]
) -> dict[int, list[tuple[int, float]]]:
    """Delivery profiles of the given trades: id → [(interval start ms, kWh)] in time order."""
    if not instrument_ids:
        return {}
    rows = session.exec(
        select(TradeProfileRow)
        .where(col(TradeProfileRow.instrument_id).in_(sorted(instrument_ids)))
        .order_by(col(TradeProfileRow.instrument_id), col(TradeProfileRow.ts_ms))
    ).all()
    out: dict[int, list[tuple[int, float]]] = {}
    for r in rows:
        out.setdefault(r.instrument_id, []).append((r.ts_ms, r.kwh))
    return out


def set_trade_profile(
    session: Session, *, instrument_id: int, profile: Iterable[tuple[int, float]]
) -> int:
    """Replace a trade's delivery profile (checked by the caller) and commit; return its length."""
    session.exec(delete(TradeProfileRow).where(col(TradeProfileRow.instrument_id) == instrument_id))
    rows = [TradeProfileRow(instrument_id=instrument_id, ts_ms=t, kwh=v) for t, v in profile]
    session.add_all(rows)
    session.commit()
    return len(rows)


def to_instruments(
    session: Session,
    rows: Sequence[CarbonInstrumentRow],
    profiles: dict[int, list[tuple[int, float]]] | None = None,
) -> tuple[list[Certificate], list[tuple[CarbonInstrumentRow, list[tuple[int, float]]]]]:
    """Stored rows as the core's certificates, and the trades with their profiles (raw): the
    ``profiles`` given (already read with the rows), else read now."""
    certs: list[Certificate] = []
    trades: list[tuple[CarbonInstrumentRow, list[tuple[int, float]]]] = []
    if profiles is None:
        profiles = trade_profiles(
            session, instrument_ids=[r.id for r in rows if r.kind == "trade" and r.id is not None]
        )
    for r in rows:
        if r.kind == "gec":
            serial = _serial(r)
            assert serial is not None  # a gec row is stored with its range
            certs.append(
                Certificate(
                    _enterprise(r.enterprise_id),
                    serial,
                    r.mwh,
                    r.technology,
                    r.project,
                    r.vintage,
                    r.month,
                )
            )
        else:
            trades.append((r, profiles.get(r.id or -1, [])))
    return certs, trades


def trade_of(row: CarbonInstrumentRow, profile_kwh: object = None) -> Trade:
    """A stored trade row as the core's :class:`Trade` (``profile_kwh``: a pandas Series)."""
    return Trade(
        _enterprise(row.enterprise_id),
        row.mwh,
        row.technology,
        row.project,
        row.vintage,
        row.month,
        bundled=_serial(row),
        profile_kwh=profile_kwh,  # type: ignore[arg-type]
        id=str(row.id),
    )


def instrument_dict(row: CarbonInstrumentRow, profile_intervals: int = 0) -> dict[str, object]:
    """One instrument as the API lists it (the §10 CSV fields, with its id)."""
    serial = _serial(row)
    width = row.serial_digits
    return {
        "id": row.id,
        "enterprise": _enterprise(row.enterprise_id),
        "kind": row.kind,
        "serial_from": None if serial is None else f"{serial.prefix}{serial.first:0{width}d}",
        "serial_to": None if serial is None else f"{serial.prefix}{serial.last:0{width}d}",
        "mwh": row.mwh,
        "technology": row.technology,
        "project": row.project,
        "vintage": row.vintage,
        "month": row.month,
        "profile_intervals": profile_intervals,
        "created_by": row.created_by,
    }


# ---- budgets -----------------------------------------------------------------------------------


def budgets(session: Session, *, park_id: str, years: Collection[int]) -> list[Budget]:
    rows = session.exec(
        select(CarbonBudgetRow)
        .where(CarbonBudgetRow.park_id == park_id, col(CarbonBudgetRow.year).in_(sorted(years)))
        .order_by(col(CarbonBudgetRow.year), col(CarbonBudgetRow.enterprise_id))
    ).all()
    return [
        Budget(
            year=r.year,
            enterprise=_enterprise(r.enterprise_id),
            carbon_t=r.carbon_t,
            energy_tce=r.energy_tce,
            t_co2_per_t_product=r.t_co2_per_t_product,
            t_co2_per_10k_yuan=r.t_co2_per_10k_yuan,
        )
        for r in rows
    ]


def budget_years(session: Session) -> list[tuple[str, int]]:
    """(park, year) of every stored budget, for the alarm job."""
    rows = session.exec(select(CarbonBudgetRow.park_id, CarbonBudgetRow.year).distinct()).all()
    return sorted((str(p), int(y)) for p, y in rows)


def put_budgets(
    session: Session, *, park_id: str, year: int, items: Sequence[Budget], by: str
) -> None:
    """Replace the year's budgets of the park and its enterprises and commit."""
    session.exec(
        delete(CarbonBudgetRow).where(
            col(CarbonBudgetRow.park_id) == park_id, col(CarbonBudgetRow.year) == year
        )
    )
    t = now_ms()
    for b in items:
        session.add(
            CarbonBudgetRow(
                park_id=park_id,
                year=year,
                enterprise_id=_scope(b.enterprise),
                carbon_t=b.carbon_t,
                energy_tce=b.energy_tce,
                t_co2_per_t_product=b.t_co2_per_t_product,
                t_co2_per_10k_yuan=b.t_co2_per_10k_yuan,
                updated_ms=t,
                updated_by=by,
            )
        )
    session.commit()


# ---- monthly inputs and guide indicators ---------------------------------------------------------


def monthly_rows(
    session: Session, *, park_id: str, months: Collection[str]
) -> list[CarbonMonthlyRow]:
    return list(
        session.exec(
            select(CarbonMonthlyRow)
            .where(
                CarbonMonthlyRow.park_id == park_id, col(CarbonMonthlyRow.month).in_(sorted(months))
            )
            .order_by(col(CarbonMonthlyRow.month), col(CarbonMonthlyRow.enterprise_id))
        ).all()
    )


def monthly_input(row: CarbonMonthlyRow) -> MonthlyInputs:
    return MonthlyInputs(
        month=row.month,
        enterprise=_enterprise(row.enterprise_id),
        production_t=row.production_t,
        output_10k_yuan=row.output_10k_yuan,
        fuels=Fuels(
            coal_t=row.coal_t,
            natural_gas_m3=row.natural_gas_m3,
            diesel_t=row.diesel_t,
            purchased_heat_gj=row.purchased_heat_gj,
        ),
        anode_net_consumption_tc_per_t_al=row.anode_net_consumption_tc_per_t_al,
    )


def guide(session: Session, *, park_id: str, months: Collection[str]) -> list[GuideIndicators]:
    rows = session.exec(
        select(CarbonGuideRow)
        .where(CarbonGuideRow.park_id == park_id, col(CarbonGuideRow.month).in_(sorted(months)))
        .order_by(col(CarbonGuideRow.month))
    ).all()
    return [
        GuideIndicators(
            month=r.month,
            solid_waste_utilisation=r.solid_waste_utilisation,
            waste_heat_utilisation=r.waste_heat_utilisation,
            water_reuse=r.water_reuse,
        )
        for r in rows
    ]


def put_month(
    session: Session,
    *,
    park_id: str,
    month: str,
    entries: Sequence[tuple[MonthlyInputs, float | None, float | None]],
    guide_entry: GuideIndicators | None,
    by: str,
) -> None:
    """Replace the month's entries (each with its recorded carbon [tCO2] and energy [tce], or
    None) and guide indicators, in one transaction, and commit."""
    session.exec(
        delete(CarbonMonthlyRow).where(
            col(CarbonMonthlyRow.park_id) == park_id, col(CarbonMonthlyRow.month) == month
        )
    )
    session.exec(
        delete(CarbonGuideRow).where(
            col(CarbonGuideRow.park_id) == park_id, col(CarbonGuideRow.month) == month
        )
    )
    t = now_ms()
    for x, carbon_t, energy_tce in entries:
        session.add(
            CarbonMonthlyRow(
                park_id=park_id,
                month=month,
                enterprise_id=_scope(x.enterprise),
                production_t=x.production_t,
                output_10k_yuan=x.output_10k_yuan,
                coal_t=x.fuels.coal_t,
                natural_gas_m3=x.fuels.natural_gas_m3,
                diesel_t=x.fuels.diesel_t,
                purchased_heat_gj=x.fuels.purchased_heat_gj,
                anode_net_consumption_tc_per_t_al=x.anode_net_consumption_tc_per_t_al,
                recorded_carbon_t=carbon_t,
                recorded_energy_tce=energy_tce,
                updated_ms=t,
                updated_by=by,
            )
        )
    if guide_entry is not None:
        session.add(
            CarbonGuideRow(
                park_id=park_id,
                month=month,
                solid_waste_utilisation=guide_entry.solid_waste_utilisation,
                waste_heat_utilisation=guide_entry.waste_heat_utilisation,
                water_reuse=guide_entry.water_reuse,
                updated_ms=t,
            )
        )
    session.commit()


# ---- offsets -----------------------------------------------------------------------------------


def offset_rows(session: Session, *, park_id: str) -> list[CarbonOffsetRow]:
    return list(
        session.exec(
            select(CarbonOffsetRow)
            .where(CarbonOffsetRow.park_id == park_id)
            .order_by(col(CarbonOffsetRow.id))
        ).all()
    )


def offsets(session: Session, *, park_id: str) -> list[Offset]:
    return [
        Offset(
            kind=r.kind,
            project=r.project,
            vintage=r.vintage,
            t_co2e=r.t_co2e,
            enterprise=_enterprise(r.enterprise_id),
        )
        for r in offset_rows(session, park_id=park_id)
    ]


def add_offsets(session: Session, *, park_id: str, items: Sequence[Offset], by: str) -> list[int]:
    """Store checked offsets in one transaction and commit; return their ids."""
    t = now_ms()
    rows = [
        CarbonOffsetRow(
            park_id=park_id,
            enterprise_id=_scope(o.enterprise),
            kind=o.kind,
            project=o.project,
            vintage=o.vintage,
            t_co2e=o.t_co2e,
            created_ms=t,
            created_by=by,
        )
        for o in items
    ]
    session.add_all(rows)
    session.commit()
    ids: list[int] = []
    for r in rows:
        session.refresh(r)
        assert r.id is not None
        ids.append(r.id)
    return ids
