"""The rollup job: refresh every dirty 15-minute bucket (and the hours and days above it) in
chunks, committing after each."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from park_server.state import ServerState
from park_server.timeseries.rollups import refresh_rollups


def rollup_job(state: ServerState) -> None:
    with Session(state.engine) as session:
        conn = session.connection()
        tz: dict[str, str] = {
            str(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, timezone FROM park")).all()
        }
        while refresh_rollups(conn, timezones=tz) > 0:
            session.commit()
            conn = session.connection()
        session.commit()
