"""Carbon and reports pages: §10's figures of a month, budgets and targets (managers edit),
certificates and trades (upload §10's CSV; each refused row is shown with its line and reason),
and the monthly reports (view, download, generate now). Every figure and every change goes
through the API's own route functions (park_server.api.carbon, park_server.api.reports).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from park_server.api import carbon as carbon_routes
from park_server.api import parks as park_routes
from park_server.api import reports as report_routes
from park_server.console.access import Page, PageDep, PageError
from park_server.console.pages import respond
from park_server.console.session import CSRF_FIELD, check_csrf
from park_server.timeutil import local_now

router = APIRouter(include_in_schema=False)

#: the budget fields a manager edits, in the order of the form (units in docs/carbon.md)
BUDGET_FIELDS = ("carbon_t", "energy_tce", "t_co2_per_t_product", "t_co2_per_10k_yuan")
MAX_CSV_BYTES = 2_000_000


def _problems(exc: HTTPException) -> list[str]:
    """The API's 4xx detail as lines 'field: reason'."""
    if isinstance(exc.detail, list):
        return [
            ".".join(str(p) for p in d.get("loc", []) if p not in ("body", "query", "path"))
            + ": "
            + str(d.get("msg", ""))
            for d in exc.detail
            if isinstance(d, dict)
        ]
    return [str(exc.detail)]


def _month(value: str | None, tz: str) -> date:
    if not value:
        return local_now(tz).date().replace(day=1)
    try:
        return date.fromisoformat(value + "-01")
    except ValueError:
        raise PageError(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"month: {value!r} is not YYYY-MM"
        ) from None


def _carbon_page(
    page: Page,
    park: str,
    month: str | None,
    upload: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    code: int = 200,
) -> Response:
    row = page.park(park)
    first = _month(month, row.timezone)
    figures: dict[str, Any] | None = None
    figure_problems: list[str] = []
    try:
        figures = carbon_routes.carbon(park=row, session=page.db, period="month", day=first)
    except HTTPException as exc:
        figure_problems = _problems(exc)
    budgets = carbon_routes.get_budgets(park=row, session=page.db, year=first.year)
    detail = park_routes.get_park(park=row)
    return respond(
        page,
        page.request,
        "carbon.html",
        {
            "park": detail,
            "active": "carbon",
            "month": f"{first.year:04d}-{first.month:02d}",
            "figures": figures,
            "figure_problems": figure_problems,
            "budgets": budgets,
            "budget_fields": BUDGET_FIELDS,
            "by_scope": {b["enterprise"]: b for b in budgets["budgets"]},
            "instruments": carbon_routes.list_instruments(park=row, session=page.db, month=None),
            "upload": upload,
            "problems": problems or [],
            "saved": page.request.query_params.get("saved") == "1",
            "can_write": page.user.can_write(row.id),
        },
        code,
    )


@router.get("/parks/{park}/carbon")
def carbon(park: str, page: PageDep, month: Annotated[str | None, Query()] = None) -> Response:
    return _carbon_page(page, park, month)


@router.post("/parks/{park}/carbon/budgets")
async def save_budgets(park: str, page: PageDep) -> Response:
    form = await page.request.form()
    check_csrf(page.cookie, form.get(CSRF_FIELD))
    row = page.writable(park)
    config = park_routes.get_park(park=row)
    year_text = str(form.get("year", ""))
    month = str(form.get("month", ""))[:7] or f"{year_text}-01"
    if not year_text.isdigit():
        raise PageError(status.HTTP_422_UNPROCESSABLE_CONTENT, f"year: {year_text!r} is not a year")
    entries: list[dict[str, Any]] = []
    for scope in ["", *(e["id"] for e in config["enterprises"])]:
        values: dict[str, Any] = {}
        for name in BUDGET_FIELDS:
            raw = str(form.get(f"{scope}:{name}", "")).strip()
            values[name] = raw if raw else None  # the API checks the numbers and names the field
        if any(v is not None for v in values.values()):
            entries.append({"enterprise": scope or None, **values})
    try:
        carbon_routes.put_budgets(
            park=row,
            user=page.user,
            session=page.db,
            year=int(year_text),
            body=carbon_routes.BudgetsBody(budgets=entries),
        )
    except HTTPException as exc:
        # name the row the manager typed in, not its position in the API's body
        scopes = {f"budgets.{i}.": f"{e['enterprise'] or row.id}: " for i, e in enumerate(entries)}
        problems = []
        for line in _problems(exc):
            for where, scope in scopes.items():
                line = line.replace(where, scope)
            problems.append(line)
        return _carbon_page(page, park, month, problems=problems, code=exc.status_code)
    return RedirectResponse(
        f"/parks/{row.id}/carbon?month={month}&saved=1", status.HTTP_303_SEE_OTHER
    )


@router.post("/parks/{park}/carbon/certificates")
async def upload_certificates(
    park: str,
    page: PageDep,
    csv: Annotated[UploadFile | None, File()] = None,
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    month: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page.cookie, csrf)
    row = page.writable(park)
    raw = await csv.read(MAX_CSV_BYTES + 1) if csv is not None else b""
    problems: list[str] = []
    answer: dict[str, Any] | None = None
    if not raw:
        problems = ["csv: choose a CSV file (§10's header: enterprise,kind,serial_from,…)"]
    elif len(raw) > MAX_CSV_BYTES:
        problems = [f"csv: the file is larger than {MAX_CSV_BYTES} bytes"]
    else:
        try:
            text = raw.decode("utf-8-sig")
            result = carbon_routes._store_instruments(page.db, row, page.user.name, text)
            # a JSONResponse is the 422 of an upload with refused rows (the good ones are stored)
            answer = json.loads(bytes(result.body)) if isinstance(result, JSONResponse) else result
        except UnicodeDecodeError:
            problems = ["csv: the file is not UTF-8 text"]
        except HTTPException as exc:
            problems = _problems(exc)
    code = 422 if problems or (answer and answer["rejected"]) else 200
    return _carbon_page(page, park, month or None, upload=answer, problems=problems, code=code)


# ---- reports -------------------------------------------------------------------------------


@router.get("/parks/{park}/reports")
def reports(park: str, page: PageDep) -> Response:
    row = page.park(park)
    listed = report_routes.list_reports(park=row, session=page.db)
    last = local_now(row.timezone).date().replace(day=1)
    previous = date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    return respond(
        page,
        page.request,
        "reports.html",
        {
            "park": park_routes.get_park(park=row),
            "active": "reports",
            "reports": listed,
            "default_month": f"{previous.year:04d}-{previous.month:02d}",
            "generated": page.request.query_params.get("generated"),
            "problems": [],
            "can_write": page.user.can_write(row.id),
        },
    )


@router.get("/parks/{park}/reports/{name}")
def report_file(
    park: str,
    name: str,
    page: PageDep,
    lang: Literal["zh", "en"] = "zh",
    revision: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The API's rendering, unchanged (its own CSP and file name)."""
    row = page.park(park)
    try:
        return report_routes.get_report(
            park=row, session=page.db, name=name, lang=lang, revision=revision
        )
    except HTTPException as exc:
        raise PageError(exc.status_code, "; ".join(_problems(exc))) from None


@router.post("/parks/{park}/reports/{month}/generate")
def generate_report(
    park: str,
    month: str,
    page: PageDep,
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    chosen: Annotated[str, Form(alias="month")] = "",
) -> Response:
    check_csrf(page.cookie, csrf)
    row = page.writable(park)
    month = chosen or month
    try:
        done = report_routes.generate(
            park=row, session=page.db, user=page.user, month=month, response=Response()
        )
    except HTTPException as exc:
        listed = report_routes.list_reports(park=row, session=page.db)
        return respond(
            page,
            page.request,
            "reports.html",
            {
                "park": park_routes.get_park(park=row),
                "active": "reports",
                "reports": listed,
                "default_month": month,
                "generated": None,
                "problems": _problems(exc),
                "can_write": True,
            },
            exc.status_code,
        )
    return RedirectResponse(
        f"/parks/{row.id}/reports?generated={done['month']}-r{done['revision']}",
        status.HTTP_303_SEE_OTHER,
    )
