"""Issued monthly reports (issue #12): revisions and their renderings. Keyword-only, no HTTP.

A revision row is written once and never updated; a rendering is written once, the first time
a format and language is asked for, and served unchanged from then on (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from park_server.db.tables import ForecastRow, ReportFileRow, ReportRevisionRow


@dataclass(frozen=True)
class RevisionInfo:
    """A revision without its model (what the list of reports shows)."""

    park_id: str
    month: str
    revision: int
    sha256: str
    factors_version: str
    generated_ms: int
    generated_by: str


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


def revisions(session: Session, *, park_id: str) -> list[RevisionInfo]:
    """Every revision of the park's reports, newest month first, then newest revision."""
    stmt = (
        select(ReportRevisionRow)
        .options(defer(ReportRevisionRow.model_json))  # type: ignore[arg-type]
        .where(ReportRevisionRow.park_id == park_id)
        .order_by(col(ReportRevisionRow.month).desc(), col(ReportRevisionRow.revision).desc())
    )
    return [_info(r) for r in session.exec(stmt).all()]


def revision(
    session: Session, *, park_id: str, month: str, revision: int | None = None
) -> ReportRevisionRow | None:
    """Revision ``revision`` of the month's report, or the newest when None."""
    stmt = select(ReportRevisionRow).where(
        ReportRevisionRow.park_id == park_id, ReportRevisionRow.month == month
    )
    if revision is not None:
        stmt = stmt.where(ReportRevisionRow.revision == revision)
    stmt = stmt.order_by(col(ReportRevisionRow.revision).desc()).limit(1)
    return session.exec(stmt).first()


class RevisionTaken(RuntimeError):
    """Another server issued the same revision number first."""


def add_revision(session: Session, row: ReportRevisionRow) -> RevisionInfo:
    """Store a new revision (its number must follow the newest); RevisionTaken if another
    writer got there first."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RevisionTaken(f"{row.park_id} {row.month} revision {row.revision}") from None
    session.refresh(row)
    return _info(row)


def rendering(
    session: Session, *, park_id: str, month: str, revision: int, fmt: str, lang: str
) -> bytes | None:
    row = session.get(ReportFileRow, (park_id, month, revision, fmt, lang))
    return None if row is None else row.content


def add_rendering(session: Session, row: ReportFileRow) -> bytes:
    """Store a rendering once; when another request stored it first, theirs is kept and
    returned (both are renderings of the same frozen model)."""
    session.add(row)
    try:
        session.commit()
        return row.content
    except IntegrityError:
        session.rollback()
        kept = session.get(
            ReportFileRow, (row.park_id, row.month, row.revision, row.format, row.lang)
        )
        assert kept is not None
        return kept.content


def forecasts_issued(
    session: Session, *, park_id: str, target: str, start_ms: int, end_ms: int
) -> int:
    """How many forecasts of ``target`` were issued in ``[start_ms, end_ms)`` (the report skips
    the day-by-day accuracy of a target that had none)."""
    stmt = (
        select(func.count())
        .select_from(ForecastRow)
        .where(
            ForecastRow.park_id == park_id,
            ForecastRow.target == target,
            ForecastRow.issued_ms >= start_ms,
            ForecastRow.issued_ms < end_ms,
        )
    )
    return int(session.exec(stmt).one())
