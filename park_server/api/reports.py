"""Monthly reports (DESIGN.md §6, §10; issue #12): list, serve one format, generate now.

- ``GET /parks/{park}/reports`` → ``[{"month", "revision", "sha256", "generated", "formats"}]``,
  every issued revision, newest month and revision first (viewers of the park);
- ``GET /parks/{park}/reports/{YYYY-MM}.{html|pdf|xlsx}[?lang=zh|en&revision=N]`` → the file
  (the newest revision by default), rendered from the issued model on first request and then
  served unchanged;
- ``POST /parks/{park}/reports/{YYYY-MM}`` → generate now (managers of the park, admins): 201
  with a new revision when the data changed, 200 with the newest one when they did not.

The month is checked against ``YYYY-MM`` of a month that has ended before anything else; no
part of the URL becomes a path. Routes call park_server.reports.issue; no SQL here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from config import Park
from park_server.api.deps import ParkDep, SessionDep, UserDep, WritableParkDep
from park_server.api.errors import invalid
from park_server.db.report_crud import RevisionInfo
from park_server.reports import issue as reports
from park_server.timeutil import format_ts

router = APIRouter(tags=["reports"])

_FILE = re.compile(r"^(?P<month>\d{4}-\d{2})\.(?P<fmt>html|pdf|xlsx)$")
#: the report's own HTML may be framed by the console (same origin) and loads nothing
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _summary(info: RevisionInfo) -> dict[str, Any]:
    return {
        "month": info.month,
        "revision": info.revision,
        "sha256": info.sha256,
        "generated": format_ts(info.generated_ms),
        "formats": list(reports.FORMATS),
        "factors_version": info.factors_version,
    }


def _error(exc: reports.ReportError, where: str) -> HTTPException:
    if exc.status == 404:
        return HTTPException(status.HTTP_404_NOT_FOUND, exc.reason)
    return invalid([where, exc.field], exc.reason)


@router.get("/parks/{park}/reports")
def list_reports(park: ParkDep, session: SessionDep) -> list[dict[str, Any]]:
    return [_summary(i) for i in reports.list_reports(session, park.id)]


@router.get(
    "/parks/{park}/reports/{name}",
    responses={
        200: {
            "content": {t: {} for t in reports.MEDIA_TYPES.values()},
            "description": "the report file",
        },
        404: {"description": "no report of that month or revision"},
    },
)
def get_report(
    park: ParkDep,
    session: SessionDep,
    name: str,
    lang: Literal["zh", "en"] = "zh",
    revision: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    found = _FILE.match(name)
    if found is None:
        raise invalid(
            ["path", "name"], f"{name[:40]!r} is not YYYY-MM.html, YYYY-MM.pdf or YYYY-MM.xlsx"
        )
    month, fmt = found.group("month"), found.group("fmt")
    cfg = Park.model_validate_json(park.config_json)
    try:
        reports.check_month(month, cfg)
        info, data = reports.rendering(session, park.id, month, fmt, lang, revision)
    except reports.ReportError as exc:
        raise _error(exc, "path") from None
    filename = f"{park.id}-{month}-r{info.revision}-{lang}.{fmt}"
    disposition = "attachment" if fmt == "xlsx" else "inline"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "X-Report-Revision": str(info.revision),
        "X-Report-SHA256": info.sha256,
        "Cache-Control": "private, max-age=300",
    }
    if fmt == "html":
        headers["Content-Security-Policy"] = REPORT_CSP
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return Response(data, media_type=reports.MEDIA_TYPES[fmt], headers=headers)


@router.post(
    "/parks/{park}/reports/{month}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the data did not change: the newest revision, unchanged"}},
)
def generate(
    park: WritableParkDep, session: SessionDep, user: UserDep, month: str, response: Response
) -> dict[str, Any]:
    cfg = Park.model_validate_json(park.config_json)
    try:
        done = reports.issue(session, cfg, month, by=user.name)
    except reports.ReportError as exc:
        raise _error(exc, "path") from None
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return {**_summary(done.info), "created": done.created, "changes": done.changes}
