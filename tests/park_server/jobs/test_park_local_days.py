"""Days are the park's own: the day-ahead plan is made from 10:00 in the park's time zone (once),
and /kpis without a date means the park's today, not the server's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select
from zctest_clock import FakeClock, pinned
from zctest_server import make_server

from park_server.db.tables import PlanRow
from park_server.jobs.dispatch import day_ahead_job
from park_server.state import ServerState
from park_server.timeutil import format_ts


def _day_ahead(server) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(server.engine) as session:
        rows = session.exec(select(PlanRow).where(PlanRow.kind == "day_ahead")).all()
        return sorted(f"{r.park_id}@{format_ts(r.start_ms)}" for r in rows)


def test_day_ahead_from_ten_local_once(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'd.db'}")
    state = ServerState(server.settings, server.engine)
    # 01:59 UTC = 09:59 in Asia/Shanghai: too early
    with pinned(FakeClock(datetime(2026, 6, 10, 1, 59, tzinfo=UTC))):
        day_ahead_job(state)
    assert _day_ahead(server) == []
    with pinned(FakeClock(datetime(2026, 6, 10, 2, 0, 10, tzinfo=UTC))):
        day_ahead_job(state)
        day_ahead_job(state)  # again a quarter later: made once
    made = _day_ahead(server)
    # the next local day starts at 2026-06-11 00:00 +08:00 = 2026-06-10T16:00Z
    assert "huolingol@2026-06-10T16:00:00.000Z" in made
    assert len(made) == len(set(made)) and all(m.endswith("2026-06-10T16:00:00.000Z") for m in made)


def test_kpis_today_is_the_park_s_today(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'k.db'}")
    # 17:00 UTC on June 10 is 01:00 on June 11 at the park
    with pinned(FakeClock(datetime(2026, 6, 10, 17, 0, tzinfo=UTC))), server.client() as client:
        admin = server.token(client, "ada")
        r = client.get("/api/v1/parks/huolingol/kpis", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["label"] == "2026-06-11"
