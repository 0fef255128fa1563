"""Carbon and green power (DESIGN.md §10): the figures of a period, green instruments, trade
profiles, budgets and targets, monthly inputs, offsets.

Reads are open to every role of the park, writes to its managers and admins. Bad input is a 4xx
naming the field; a refused row stores nothing. Instrument uploads (JSON or §10's CSV) keep the
good rows and name each refused one with its line and reason: the answer is 200 when every row
went in, 422 (with the same ``accepted``/``rejected`` keys) when one did not.

It is one piece, past 400 lines, because the §10 routes share one access rule and one mapping of
the carbon core's errors to 4xx answers.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from config import Park
from park_server.api.deps import (
    CurrentUser,
    ParkDep,
    SessionDep,
    StateDep,
    UserDep,
    WritableParkDep,
)
from park_server.api.errors import invalid
from park_server.carbon import (
    Budget,
    CarbonInputError,
    GuideIndicators,
    MonthlyInputs,
    Offset,
    parse_input,
    validate_instrument_csv,
    validate_instrument_rows,
)
from park_server.carbon.region import by_league
from park_server.db import carbon_crud, crud
from park_server.db.engine import Session
from park_server.db.tables import ParkRow
from park_server.timeseries.carbon import PeriodNotBegun, carbon_answer, gec_mwh_per_certificate
from park_server.timeutil import QUARTER_MS, format_ts, local_now, parse_ts

router = APIRouter(tags=["carbon"])

#: §10 dates and budget years stay inside what the factor tables and calendars cover
FIRST_YEAR, LAST_YEAR = 2000, 2100
RECORDED = ("recorded_carbon_t", "recorded_energy_tce")


def _park(row: ParkRow) -> Park:
    return Park.model_validate_json(row.config_json)


def _loc(field: str) -> list[str | int]:
    """``body.entries[0].production_t`` → ``["body", "entries", 0, "production_t"]``."""
    out: list[str | int] = []
    for part in field.replace("]", "").replace("[", ".").split("."):
        if part:
            out.append(int(part) if part.isdigit() else part)
    return out


def _refuse(exc: CarbonInputError, prefix: str = "") -> HTTPException:
    field = f"{prefix}.{exc.field}" if prefix else exc.field
    return invalid(_loc(field), exc.reason)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` bytes (the settings' body
    limit): by its Content-Length before reading, else by counting while it streams in."""
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the body is larger than {limit} bytes"
    )
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Content-Length is not a number")
        if int(length) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid(["body"], f"not JSON: {exc}") from None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid(["body"], "the CSV is not UTF-8 text") from None


# ---- figures -----------------------------------------------------------------------------------


@router.get("/parks/{park}/carbon")
def carbon(
    park: ParkDep,
    session: SessionDep,
    period: Literal["day", "month", "year"] = "month",
    day: Annotated[date | None, Query(alias="date")] = None,
    enterprise: str | None = None,
) -> dict[str, Any]:
    """DESIGN.md §10's figures of the local day, month or year holding ``date`` (today by
    default), for the park or one of its enterprises; keys beyond §10 in docs/carbon.md."""
    cfg = _park(park)
    when = day or local_now(cfg.timezone).date()
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise invalid(["query", "date"], f"{when.isoformat()} is outside {FIRST_YEAR}–{LAST_YEAR}")
    try:
        return carbon_answer(session, cfg, period, when, enterprise)
    except PeriodNotBegun as exc:
        raise invalid(["query", "date"], str(exc)) from None
    except CarbonInputError as exc:
        raise _refuse(exc, "query" if exc.field in ("enterprise", "period") else "") from None


@router.get("/region/carbon")
def region_carbon(
    user: UserDep,
    session: SessionDep,
    period: Literal["day", "month", "year"] = "month",
    day: Annotated[date | None, Query(alias="date")] = None,
) -> dict[str, Any]:
    """The totals of every park the user may read for the local period holding ``date`` (today
    in the first park's zone by default), by league/city and for the region: sums of energy,
    emissions, tce, budgets and offsets, and the shares and intensities of those sums
    (park_server.carbon.region). A park without an answer for the period is named with why."""
    # one date for every park: without one, today in the zone of the first park (by id)
    if day is None:
        first = next((r for r in crud.parks(session) if user.can_read(r.id)), None)
        day = None if first is None else local_now(_park(first).timezone).date()
    answers, left_out = park_answers(user, session, period, day)
    leagues, region = by_league(answers)
    return {
        "period": period,
        "leagues": [{"league": name, **totals} for name, totals in leagues],
        "region": region,
        "left_out": left_out,
    }


def park_answers(
    user: CurrentUser, session: Session, period: Literal["day", "month", "year"], day: date | None
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, str]]]:
    """§10's answer of each park ``user`` may read, with its league/city ("" without one), and
    the parks without an answer for the period, each with the reason."""
    answers: list[tuple[str, dict[str, Any]]] = []
    left_out: list[dict[str, str]] = []
    for row in crud.parks(session):
        if not user.can_read(row.id):
            continue
        cfg = _park(row)
        try:
            answers.append(
                (cfg.league or "", carbon(park=row, session=session, period=period, day=day))
            )
        except HTTPException as exc:
            left_out.append({"park": row.id, "reason": str(exc.detail)})
    return answers, left_out


# ---- instruments -------------------------------------------------------------------------------


class InstrumentAnswer(BaseModel):
    accepted: int
    ids: list[int]
    rejected: list[dict[str, Any]]


@router.get("/parks/{park}/certificates")
def list_instruments(
    park: ParkDep,
    session: SessionDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> list[dict[str, Any]]:
    """The park's certificates and green-power trades (of ``month`` when given)."""
    rows = carbon_crud.instrument_rows(
        session, park_id=park.id, months=None if month is None else [month]
    )
    profiles = carbon_crud.trade_profiles(
        session, instrument_ids=[r.id for r in rows if r.kind == "trade" and r.id is not None]
    )
    return [carbon_crud.instrument_dict(r, len(profiles.get(r.id or -1, []))) for r in rows]


@router.post(
    "/parks/{park}/certificates",
    response_model=InstrumentAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
    responses={
        413: {"description": "the body is larger than ZCPARK_MAX_BODY_BYTES"},
        415: {"description": "neither text/csv nor application/json"},
        422: {"description": "a row was refused (the good ones are stored), or a bad header"},
    },
)
async def upload_instruments(
    request: Request,
    park: WritableParkDep,
    user: UserDep,
    session: SessionDep,
    state: StateDep,
) -> Any:
    """Certificates and trades as §10's CSV or a JSON array of objects with its fields.

    Each row is checked (for JSON, ``line`` is the row's position from 1): the good ones are
    stored, each refused one is named with its line and reason; a serial range overlapping one
    already held, or used twice in the upload, is refused.
    """
    raw = await _read_body(request, state.settings.max_body_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("text/csv", "application/json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send text/csv or application/json"
        )
    if kind == "application/json":
        rows = _json(raw)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise invalid(["body"], "a JSON array of objects, one per instrument")
        body: str | list[dict[str, Any]] = rows
    else:
        body = _text(raw)
    return await run_in_threadpool(_store_instruments, session, park, user.name, body)


def _store_instruments(
    session: Session, park: ParkRow, by: str, body: str | list[dict[str, Any]]
) -> Any:
    cfg = _park(park)
    enterprises = [e.id for e in cfg.enterprises]
    gec_mwh = gec_mwh_per_certificate(cfg)
    carbon_crud.lock_park(session, park_id=park.id)
    held = carbon_crud.held(session, park_id=park.id)
    try:
        if isinstance(body, str):
            upload = validate_instrument_csv(
                body, enterprises=enterprises, held=held, gec_mwh=gec_mwh
            )
        else:
            upload = validate_instrument_rows(
                list(enumerate(body, start=1)), enterprises=enterprises, held=held, gec_mwh=gec_mwh
            )
    except CarbonInputError as exc:
        session.rollback()
        raise _refuse(exc, "body") from None
    ids = carbon_crud.add_instruments(session, park_id=park.id, items=upload.accepted, by=by)
    answer = {"accepted": len(ids), "ids": ids, "rejected": upload.rejected}
    if not upload.rejected:
        return answer
    detail = [
        {"loc": ["body", r["line"]], "msg": str(r["reason"]), "type": "value_error"}
        for r in upload.rejected
    ]
    return JSONResponse({**answer, "detail": detail}, status_code=422)


class ProfilePoint(BaseModel):
    ts: str
    kwh: float


class ProfileBody(BaseModel):
    profile: list[ProfilePoint]


@router.post("/parks/{park}/trades/{trade_id}/profile")
async def trade_profile(
    request: Request,
    park: WritableParkDep,
    session: SessionDep,
    state: StateDep,
    trade_id: Annotated[int, Path(ge=1)],
) -> dict[str, Any]:
    """A green-power trade's 15-minute delivery profile, ``{"profile": [{"ts", "kwh"}]}``
    (interval starts, UTC; together the trade's MWh); it replaces the one stored."""
    raw = await _read_body(request, state.settings.max_body_bytes)
    data = _json(raw)
    if not isinstance(data, dict) or not isinstance(data.get("profile"), list):
        raise invalid(["body", "profile"], "a list of {ts, kwh}")
    return await run_in_threadpool(_store_profile, session, park, trade_id, data["profile"])


def _store_profile(
    session: Session, park: ParkRow, trade_id: int, points: list[Any]
) -> dict[str, Any]:
    row = carbon_crud.instrument_row(session, park_id=park.id, instrument_id=trade_id)
    if row is None or row.kind != "trade":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no trade {trade_id} in park {park.id!r}")
    cfg = _park(park)
    first = pd.Timestamp(f"{row.month}-01", tz=cfg.timezone)
    lo, hi = first.value // 1_000_000, (first + pd.offsets.MonthBegin(1)).value // 1_000_000
    seen: dict[int, float] = {}
    for i, p in enumerate(points):
        where: list[str | int] = ["body", "profile", i]
        if not isinstance(p, dict):
            raise invalid(where, "an object {ts, kwh}")
        try:
            t = parse_ts(p.get("ts"))
        except ValueError as exc:
            raise invalid([*where, "ts"], str(exc)) from None
        kwh = p.get("kwh")
        if isinstance(kwh, bool) or not isinstance(kwh, int | float) or not math.isfinite(kwh):
            raise invalid([*where, "kwh"], f"{kwh!r} is not a number")
        if kwh < 0:
            raise invalid([*where, "kwh"], "a delivery can not be negative")
        if t % QUARTER_MS:
            raise invalid([*where, "ts"], f"{format_ts(t)} does not start a 15-minute interval")
        if not lo <= t < hi:
            raise invalid(
                [*where, "ts"], f"{format_ts(t)} is outside the trade's month {row.month}"
            )
        if t in seen:
            raise invalid([*where, "ts"], f"{format_ts(t)} is given twice")
        seen[t] = float(kwh)
    series = pd.Series(
        list(seen.values()), index=pd.to_datetime(list(seen), unit="ms", utc=True), dtype=float
    )
    try:
        carbon_crud.trade_of(row, series)  # the core checks it adds up to the trade's MWh
    except CarbonInputError as exc:
        raise invalid(["body", "profile"], exc.reason) from None
    n = carbon_crud.set_trade_profile(session, instrument_id=trade_id, profile=sorted(seen.items()))
    return {"trade": trade_id, "intervals": n, "kwh": float(series.sum())}


# ---- budgets -----------------------------------------------------------------------------------


Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]


def _budget_dict(b: Budget) -> dict[str, Any]:
    return {
        "enterprise": b.enterprise,
        "carbon_t": b.carbon_t,
        "energy_tce": b.energy_tce,
        "t_co2_per_t_product": b.t_co2_per_t_product,
        "t_co2_per_10k_yuan": b.t_co2_per_10k_yuan,
    }


@router.get("/parks/{park}/budgets/{year}")
def get_budgets(park: ParkDep, session: SessionDep, year: Year) -> dict[str, Any]:
    """The year's budgets and targets: stored ones, else the park file's annual carbon budgets
    (``source`` says which)."""
    stored = carbon_crud.budgets(session, park_id=park.id, years=[year])
    source = "stored"
    if not stored:
        cfg = _park(park)
        source = "park_file"
        stored = (
            [Budget(year=year, carbon_t=cfg.carbon_budget_t_per_year)]
            if cfg.carbon_budget_t_per_year
            else []
        )
        stored += [
            Budget(year=year, enterprise=e.id, carbon_t=e.carbon_budget_t_per_year)
            for e in cfg.enterprises
            if e.carbon_budget_t_per_year is not None
        ]
        if not stored:
            source = "none"
    return {
        "park": park.id,
        "year": year,
        "source": source,
        "budgets": [_budget_dict(b) for b in stored],
    }


class BudgetsBody(BaseModel):
    budgets: list[dict[str, Any]]


@router.put("/parks/{park}/budgets/{year}")
def put_budgets(
    park: WritableParkDep, user: UserDep, session: SessionDep, year: Year, body: BudgetsBody
) -> dict[str, Any]:
    """Replace the year's budgets: ``{"budgets": [{"enterprise": null | id, "carbon_t",
    "energy_tce", "t_co2_per_t_product", "t_co2_per_10k_yuan"}]}`` (tCO2, tce, tCO2/t,
    tCO2/10^4 yuan; null: no target). All or nothing."""
    cfg = _park(park)
    ids = {e.id for e in cfg.enterprises}
    items: list[Budget] = []
    scopes: set[str | None] = set()
    for i, entry in enumerate(body.budgets):
        where = f"body.budgets[{i}]"
        if "year" in entry and entry["year"] != year:
            raise invalid(_loc(f"{where}.year"), f"{entry['year']!r} is not the path's year {year}")
        try:
            b = parse_input(Budget, {**entry, "year": year}, where)
        except CarbonInputError as exc:
            raise _refuse(exc) from None
        if b.enterprise is not None and b.enterprise not in ids:
            raise invalid(
                _loc(f"{where}.enterprise"), f"no enterprise {b.enterprise!r} in park {park.id!r}"
            )
        if b.enterprise in scopes:
            raise invalid(
                _loc(f"{where}.enterprise"),
                f"a second budget for {b.enterprise or 'the park'} in {year}",
            )
        scopes.add(b.enterprise)
        items.append(b)
    carbon_crud.put_budgets(session, park_id=park.id, year=year, items=items, by=user.name)
    return {
        "park": park.id,
        "year": year,
        "source": "stored",
        "budgets": [_budget_dict(b) for b in items],
    }


# ---- monthly inputs ----------------------------------------------------------------------------


MonthPath = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _entry_dict(
    x: MonthlyInputs, carbon_t: float | None, energy_tce: float | None
) -> dict[str, Any]:
    return {
        "enterprise": x.enterprise,
        "production_t": x.production_t,
        "output_10k_yuan": x.output_10k_yuan,
        "fuels": x.fuels.model_dump(),
        "anode_net_consumption_tc_per_t_al": x.anode_net_consumption_tc_per_t_al,
        "recorded_carbon_t": carbon_t,
        "recorded_energy_tce": energy_tce,
    }


def _guide_dict(g: GuideIndicators | None) -> dict[str, Any] | None:
    return None if g is None else g.model_dump(exclude={"month"})


@router.get("/parks/{park}/inputs/{month}")
def get_inputs(park: ParkDep, session: SessionDep, month: MonthPath) -> dict[str, Any]:
    """The month's entries per enterprise (and the park's own) and its guide indicators."""
    rows = carbon_crud.monthly_rows(session, park_id=park.id, months=[month])
    guide = carbon_crud.guide(session, park_id=park.id, months=[month])
    return {
        "park": park.id,
        "month": month,
        "entries": [
            _entry_dict(carbon_crud.monthly_input(r), r.recorded_carbon_t, r.recorded_energy_tce)
            for r in rows
        ],
        "guide": _guide_dict(guide[0] if guide else None),
    }


class InputsBody(BaseModel):
    entries: list[dict[str, Any]] = []
    guide: dict[str, Any] | None = None


@router.put("/parks/{park}/inputs/{month}")
def put_inputs(
    park: WritableParkDep, user: UserDep, session: SessionDep, month: MonthPath, body: InputsBody
) -> dict[str, Any]:
    """Replace the month's entries: ``{"entries": [{"enterprise": null | id, "production_t",
    "output_10k_yuan", "fuels": {"coal_t", "natural_gas_m3", "diesel_t", "purchased_heat_gj"},
    "anode_net_consumption_tc_per_t_al", "recorded_carbon_t", "recorded_energy_tce"}],
    "guide": {"solid_waste_utilisation", "waste_heat_utilisation", "water_reuse"}}``. The
    recorded totals (tCO2, tce) are for months accounted outside zcpark. All or nothing; a
    month that has not begun is refused."""
    cfg = _park(park)
    today = local_now(cfg.timezone).date()
    if month > f"{today.year:04d}-{today.month:02d}":
        raise invalid(["path", "month"], f"{month} has not begun (today is {today.isoformat()})")
    ids = {e.id for e in cfg.enterprises}
    entries: list[tuple[MonthlyInputs, float | None, float | None]] = []
    scopes: set[str | None] = set()
    for i, entry in enumerate(body.entries):
        where = f"body.entries[{i}]"
        recorded: list[float | None] = []
        for key in RECORDED:
            v = entry.get(key)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
            ):
                raise invalid(_loc(f"{where}.{key}"), f"{v!r} is not a number")
            if v is not None and v < 0:
                raise invalid(_loc(f"{where}.{key}"), "must not be negative")
            recorded.append(None if v is None else float(v))
        fields = {k: v for k, v in entry.items() if k not in RECORDED}
        if "month" in fields and fields["month"] != month:
            raise invalid(_loc(f"{where}.month"), f"{fields['month']!r} is not the path's month")
        try:
            x = parse_input(MonthlyInputs, {**fields, "month": month}, where)
        except CarbonInputError as exc:
            raise _refuse(exc) from None
        if x.enterprise is not None and x.enterprise not in ids:
            raise invalid(
                _loc(f"{where}.enterprise"), f"no enterprise {x.enterprise!r} in park {park.id!r}"
            )
        if x.enterprise in scopes:
            raise invalid(
                _loc(f"{where}.enterprise"),
                f"a second entry for {x.enterprise or 'the park'} in {month}",
            )
        scopes.add(x.enterprise)
        entries.append((x, recorded[0], recorded[1]))
    guide = None
    if body.guide is not None:
        try:
            guide = parse_input(GuideIndicators, {**body.guide, "month": month}, "body.guide")
        except CarbonInputError as exc:
            raise _refuse(exc) from None
    carbon_crud.put_month(
        session, park_id=park.id, month=month, entries=entries, guide_entry=guide, by=user.name
    )
    return {
        "park": park.id,
        "month": month,
        "entries": [_entry_dict(*e) for e in entries],
        "guide": _guide_dict(guide),
    }


# ---- offsets -----------------------------------------------------------------------------------


@router.get("/parks/{park}/offsets")
def list_offsets(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    """Carbon-sink and CCER credits held (tCO2e), kept apart from every total."""
    return [
        {
            "id": r.id,
            "enterprise": r.enterprise_id or None,
            "kind": r.kind,
            "project": r.project,
            "vintage": r.vintage,
            "t_co2e": r.t_co2e,
            "created_by": r.created_by,
        }
        for r in carbon_crud.offset_rows(session, park_id=park.id)
    ]


@router.post("/parks/{park}/offsets")
async def add_offsets(
    request: Request,
    park: WritableParkDep,
    user: UserDep,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Credits as a JSON array of ``{"kind": "ccer" | "sink", "project", "vintage", "t_co2e",
    "enterprise"}``; all or nothing."""
    raw = await _read_body(request, state.settings.max_body_bytes)
    rows = _json(raw)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise invalid(["body"], "a JSON array of objects, one per credit")
    ids = {e.id for e in _park(park).enterprises}
    items: list[Offset] = []
    for i, r in enumerate(rows):
        try:
            o = parse_input(Offset, r, f"body[{i}]")
        except CarbonInputError as exc:
            raise _refuse(exc) from None
        if o.enterprise is not None and o.enterprise not in ids:
            raise invalid(["body", i, "enterprise"], f"no enterprise {o.enterprise!r} in the park")
        items.append(o)
    new = await run_in_threadpool(
        carbon_crud.add_offsets, session, park_id=park.id, items=items, by=user.name
    )
    return {"accepted": len(new), "ids": new}
