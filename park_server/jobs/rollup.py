"""The rollup job (every 30 s, on the leader): refresh every dirty 15-minute bucket (and the hours
and days above it) in chunks, committing after each. It is the only writer of rollups: GETs read
what it last wrote (docs/rollups.md)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from park_server.db import crud
from park_server.state import ServerState
from park_server.timeseries.rollups import refresh_rollups

CHUNK_MARKS = 20_000


def rollup_job(state: ServerState, *, chunk: int = CHUNK_MARKS) -> None:
    """Work through the dirty marks ``chunk`` at a time until a chunk comes back short: marks set
    meanwhile by live ingest wait for the next run instead of keeping this one going for ever."""
    with Session(state.engine) as session:
        conn = session.connection()
        tz: dict[str, str] = {
            str(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, timezone FROM park")).all()
        }
        rollovers = {
            (park.id, m.id): m.counter_rollover_kwh
            for park in crud.park_configs(session)
            for m in park.meters
            if m.counter_rollover_kwh is not None
        }
        session.commit()
        while True:
            done = refresh_rollups(
                session.connection(), timezones=tz, limit=chunk, rollovers=rollovers
            )
            session.commit()
            if done < chunk:
                break
