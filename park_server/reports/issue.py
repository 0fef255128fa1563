"""Issuing the monthly report: gather a park's month from the database, build the model,
store it as a new revision when its data changed, and render stored revisions.

- :func:`issue` — the month's report now: same data hash as the newest revision → that
  revision, nothing new; different → revision n + 1 with the figures that changed. The data
  are the carbon query layer's :func:`~park_server.timeseries.carbon.carbon_inputs` (the same
  as ``GET /carbon``), the month's forecast accuracy and the factor tables.
- :func:`rendering` — one format and language of a stored revision; rendered from the stored
  model the first time it is asked for, then served from the database unchanged.

A month is checked (:func:`check_month`) before anything else reads it: only ``YYYY-MM`` of a
month that has ended in the park's zone gets further; it never becomes a path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from config import Park, load_factors
from config.factors import Factors
from park_server.carbon import carbon_factors
from park_server.db import report_crud
from park_server.db.engine import Session
from park_server.db.report_crud import RevisionInfo
from park_server.db.tables import ReportFileRow, ReportRevisionRow
from park_server.reports.build import TARGETS, ForecastAccuracy, ReportInputs, build_report
from park_server.reports.digest import changes, factors_version, inputs_sha256
from park_server.reports.model import Report, from_json, to_json
from park_server.timeseries.carbon import dual_control_inputs
from park_server.timeseries.forecasts import accuracy, accuracy_summary, capacity
from park_server.timeutil import DAY_MS, local_now, now_ms

log = logging.getLogger("zcpark.reports")

FORMATS = ("html", "pdf", "xlsx")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ReportError(ValueError):
    """Bad input for a report, naming the field and the reason (a 4xx, CLI exit 2)."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status = field, reason, status


def check_month(text: str, park: Park) -> date:
    """The first day of ``text`` (YYYY-MM) if that month has ended in the park's zone."""
    found = _MONTH.match(text) if isinstance(text, str) else None
    if found is None:
        raise ReportError("month", f"{text[:40]!r} is not a month YYYY-MM")
    first = date(int(found.group(1)), int(found.group(2)), 1)
    if first.year < 2000:
        raise ReportError("month", f"{text} is before 2000")
    now = local_now(park.timezone).date()
    if (first.year, first.month) >= (now.year, now.month):
        when = (
            "is the running month"
            if (first.year, first.month) == (now.year, now.month)
            else "is in the future"
        )
        raise ReportError(
            "month", f"{text} {when} in {park.timezone}; a report covers a month that has ended"
        )
    return first


def previous_month(park: Park) -> str:
    """The month before now in the park's zone (what the 1st-of-the-month job reports)."""
    local = local_now(park.timezone)
    last = local.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


# ---- gathering ----------------------------------------------------------------------------


def month_accuracy(session: Session, park: Park, first: date) -> list[ForecastAccuracy]:
    """Day-ahead forecast accuracy of each target over the month (``timeseries.forecasts
    .accuracy`` per day), with persistence (yesterday's measured profile) on the same days."""
    zone = ZoneInfo(park.timezone)
    start = datetime(first.year, first.month, 1, tzinfo=zone)
    nxt = (start + timedelta(days=32)).replace(day=1)
    days = (nxt.date() - start.date()).days
    out: list[ForecastAccuracy] = []
    for target in TARGETS:
        if capacity(park, target) is None:
            continue
        issued = report_crud.forecasts_issued(
            session,
            park_id=park.id,
            target=target,
            start_ms=int(start.timestamp() * 1000) - DAY_MS,
            end_ms=int(nxt.timestamp() * 1000),
        )
        if not issued:  # no forecast: no day to compare (and no query per day)
            out.append(ForecastAccuracy(target, 0, 0, None, None, None, None))
            continue
        sm = accuracy_summary(accuracy(session, park, target, days, today=nxt))
        out.append(
            ForecastAccuracy(
                target,
                sm["days"],
                sm["intervals"],
                sm["nmae"],
                sm["persistence_nmae"],
                sm["skill"],
                sm["coverage_p10_p90"],
            )
        )
    return out


def gather(session: Session, park: Park, first: date) -> ReportInputs:
    """The month's report inputs: the park's carbon inputs with every enterprise's totals
    before the month (for their dual control), names, and the forecast accuracy."""
    # one read of the month and of the earlier months serves the park and every enterprise
    inp = dual_control_inputs(session, park, first)
    return ReportInputs(
        carbon=inp,
        park_name=park.name,
        park_name_zh=park.name_zh,
        enterprise_names={e.id: e.name for e in park.enterprises},
        accuracy=tuple(month_accuracy(session, park, first)),
    )


# ---- issuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    info: RevisionInfo
    #: False when the newest revision already had the same data (nothing stored)
    created: bool
    changes: list[dict[str, object]]


def _factor_lines(ri: ReportInputs, factors: Factors) -> list[dict[str, object]]:
    return [line.as_dict() for line in carbon_factors(factors, ri.carbon.settings).lines()]


def issue_from_inputs(
    session: Session, ri: ReportInputs, *, by: str, factors: Factors | None = None
) -> Issued:
    """Store ``ri``'s report as the month's next revision unless the newest has its hash."""
    factors = factors or load_factors()
    park_id, month = ri.carbon.settings.park, ri.carbon.period.label
    lines = _factor_lines(ri, factors)
    sha = inputs_sha256(ri, lines)
    latest = report_crud.revision(session, park_id=park_id, month=month)
    if latest is not None and latest.sha256 == sha:
        return Issued(_info(latest), False, json.loads(latest.changes_json))
    report = build_report(ri, factors)
    number = 1 if latest is None else latest.revision + 1
    changed = () if latest is None else changes(from_json(latest.model_json), report)
    report = report.with_meta(
        sha256=sha,
        factors_version=factors_version(lines),
        revision=number,
        generated_ms=now_ms(),
        changes=changed,
    )
    changes_list = [asdict(c) for c in changed]
    row = ReportRevisionRow(
        park_id=park_id,
        month=month,
        revision=number,
        sha256=sha,
        factors_version=report.meta.factors_version,
        generated_ms=report.meta.generated_ms,
        generated_by=by[:64],
        model_json=to_json(report),
        changes_json=json.dumps(changes_list, ensure_ascii=False),
    )
    try:
        info = report_crud.add_revision(session, row)
    except report_crud.RevisionTaken:  # another server issued it meanwhile: theirs stands
        again = report_crud.revision(session, park_id=park_id, month=month)
        assert again is not None
        return Issued(_info(again), False, json.loads(again.changes_json))
    log.info(
        "report %s %s: revision %d (%s), %d figures changed",
        park_id,
        month,
        number,
        sha[:12],
        len(changed),
    )
    return Issued(info, True, changes_list)


def issue(session: Session, park: Park, month: str, *, by: str) -> Issued:
    """The report of ``month`` (YYYY-MM, ended) for ``park``: the newest revision when its data
    are unchanged, else a new revision. ReportError for a bad month."""
    first = check_month(month, park)
    return issue_from_inputs(session, gather(session, park, first), by=by)


def _info(row: ReportRevisionRow) -> RevisionInfo:
    return RevisionInfo(
        row.park_id,
        row.month,
        row.revision,
        row.sha256,
        row.factors_version,
        row.generated_ms,
        row.generated_by,
    )


def list_reports(session: Session, park_id: str) -> list[RevisionInfo]:
    return report_crud.revisions(session, park_id=park_id)


def stored_report(
    session: Session, park_id: str, month: str, revision: int | None
) -> tuple[RevisionInfo, Report]:
    row = report_crud.revision(session, park_id=park_id, month=month, revision=revision)
    if row is None:
        which = "" if revision is None else f" revision {revision}"
        raise ReportError(
            "month", f"no report{which} for {park_id} {month} (POST to generate it)", 404
        )
    return _info(row), from_json(row.model_json)


def render(report: Report, fmt: str, lang: str) -> bytes:
    if fmt == "html":
        from park_server.reports.html import render_html

        return render_html(report, lang).encode("utf-8")
    if fmt == "pdf":
        from park_server.reports.pdf import render_pdf

        return render_pdf(report, lang)
    if fmt == "xlsx":
        from park_server.reports.xlsx import render_xlsx

        return render_xlsx(report, lang)
    raise ReportError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")


def rendering(
    session: Session, park_id: str, month: str, fmt: str, lang: str, revision: int | None = None
) -> tuple[RevisionInfo, bytes]:
    """One format and language of a stored revision (the newest when None): from the database,
    or rendered from the stored model once and stored."""
    if fmt not in FORMATS:
        raise ReportError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if lang not in ("zh", "en"):
        raise ReportError("lang", f"{lang!r} is not zh or en")
    row = report_crud.revision(session, park_id=park_id, month=month, revision=revision)
    if row is None:
        which = "" if revision is None else f" revision {revision}"
        raise ReportError(
            "month", f"no report{which} for {park_id} {month} (POST to generate it)", 404
        )
    info = _info(row)
    kept = report_crud.rendering(
        session, park_id=park_id, month=month, revision=row.revision, fmt=fmt, lang=lang
    )
    if kept is not None:
        return info, kept
    data = render(from_json(row.model_json), fmt, lang)
    file = ReportFileRow(
        park_id=park_id,
        month=month,
        revision=row.revision,
        format=fmt,
        lang=lang,
        sha256=hashlib.sha256(data).hexdigest(),
        created_ms=now_ms(),
        content=data,
    )
    return info, report_crud.add_rendering(session, file)
