"""A gateway just added awaits its first contact (no alarm) until a grace period has passed; a check
meter that disagrees with its primary meter beyond its tolerance raises an alarm."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select
from zctest_server import make_server, store_power

from park_server.db.tables import EventRow
from park_server.jobs import alarms
from park_server.timeutil import QUARTER_MS, now_ms


def _open(session: Session, kind: str) -> dict[str, str]:
    rows = session.exec(
        select(EventRow).where(EventRow.kind == kind, col(EventRow.closed_ms).is_(None))
    ).all()
    return {e.subject: e.message for e in rows}


def test_a_new_gateway_awaits_first_contact_then_is_offline(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'g.db'}")  # gw-hlgl-01 added just now
    with Session(server.engine) as session:
        alarms.evaluate(session)
        assert "gw-hlgl-01" not in _open(session, "gateway_offline")  # not offline: awaiting
        alarms.evaluate(session, now_ms() + (alarms.FIRST_CONTACT_GRACE_S + 5) * 1000)
        message = _open(session, "gateway_offline")["gw-hlgl-01"]
        assert "never heard from since it was added" in message


def test_check_meter_disagreement_opens_and_closes_an_alarm(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'c.db'}")
    now = now_ms()
    last = now - now % QUARTER_MS - QUARTER_MS  # the last complete quarter-hour
    times = list(range(last, last + QUARTER_MS, 60_000))
    store_power(server, "potline-zhn", [(t, 500_000.0) for t in times])
    store_power(server, "potline-zhn-ac", [(t, 540_000.0) for t in times])  # 8 % above
    with Session(server.engine) as session:
        alarms.check_meters(session, now)
        message = _open(session, "meter_disagreement")["potline-zhn-ac"]
        assert "8.0 % apart" in message and "potline-zhn " in message
    # within the 5 % tolerance (a rectifier's losses): the alarm closes
    store_power(server, "potline-zhn-ac", [(t + 30_000, 500_000.0) for t in times])
    with Session(server.engine) as session:
        alarms.check_meters(session, now)
        assert "potline-zhn-ac" not in _open(session, "meter_disagreement")
