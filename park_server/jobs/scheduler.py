"""Background jobs (APScheduler): rollups, alarms, forecasts, dispatch and reports.

With several server instances on one PostgreSQL only the holder of an advisory lock runs the jobs;
the others try to take it at every tick, so a new leader takes over within one tick when the old
one stops. A job that fails is logged and retried after ``retry_seconds``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, text

from park_server.db.engine import is_postgres
from park_server.state import ServerState

log = logging.getLogger("zcpark.scheduler")

LOCK_CLASS = 0x7A63  # "zc"; the second key is the schema's hash, so deployments sharing a
# database in different schemas elect their leaders independently


class Leadership:
    """Holds PostgreSQL's advisory lock on a connection of its own; on SQLite always the leader."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._conn: Connection | None = None
        self._held = False
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        if not is_postgres(self.state.engine):
            return True
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self.state.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                    self._held = False
                if self._held:
                    self._conn.execute(text("SELECT 1"))  # the lock lives as long as this session
                    return True
                self._held = bool(
                    self._conn.execute(
                        text("SELECT pg_try_advisory_lock(:c, hashtext(current_schema()))"),
                        {"c": LOCK_CLASS},
                    ).scalar_one()
                )
                return self._held
            except Exception:
                log.exception("leadership check failed; not running jobs this tick")
                self._drop()
                return False

    def release(self) -> None:
        with self._lock:
            if self._conn is not None and self._held:
                try:
                    self._conn.execute(
                        text("SELECT pg_advisory_unlock(:c, hashtext(current_schema()))"),
                        {"c": LOCK_CLASS},
                    )
                except Exception:
                    log.exception("could not release the scheduler lock")
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never hand a session holding the lock back to the pool
                self._conn.close()
            finally:
                self._conn = None
                self._held = False


class Jobs:
    def __init__(self, state: ServerState, retry_seconds: float = 10.0) -> None:
        self.state = state
        self.leadership = Leadership(state)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.retry_seconds = retry_seconds
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def add(self, name: str, func: Callable[[ServerState], object], seconds: float) -> None:
        self.scheduler.add_job(
            self._wrap(name, func),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )

    def add_aligned(
        self, name: str, func: Callable[[ServerState], object], seconds: float, offset_s: float = 0
    ) -> None:
        """Run every ``seconds`` on the clock's grid (a divisor of 15 minutes runs on the quarter:
        :00, :15, :30, :45), ``offset_s`` after each mark; the first run is the next mark."""
        now = datetime.now(UTC)
        anchor = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        self.scheduler.add_job(
            self._wrap(name, func),
            IntervalTrigger(
                seconds=seconds, start_date=anchor + timedelta(seconds=offset_s), timezone=UTC
            ),
            id=name,
            max_instances=1,
            coalesce=True,
        )

    def next_run(self, name: str) -> datetime | None:
        """When the job ``name`` runs next (aware UTC), None when it is not scheduled."""
        job = self.scheduler.get_job(name)
        when: datetime | None = getattr(job, "next_run_time", None) if job else None
        return when

    def add_cron(self, name: str, func: Callable[[ServerState], object], **cron: object) -> None:
        self.scheduler.add_job(
            self._wrap(name, func), "cron", id=name, max_instances=1, coalesce=True, **cron
        )

    def _wrap(self, name: str, func: Callable[[ServerState], object]) -> Callable[[], None]:
        def run(retry: bool = False) -> None:
            if not self.leadership.is_leader():
                return
            try:
                func(self.state)
                self.runs[name] = self.runs.get(name, 0) + 1
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("job %s failed; retrying in %.0f s", name, self.retry_seconds)
                if not retry:
                    self.scheduler.add_job(
                        lambda: run(retry=True),
                        "date",
                        run_date=datetime.now(UTC) + timedelta(seconds=self.retry_seconds),
                        id=f"{name}-retry",
                        replace_existing=True,
                    )

        return run

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.leadership.release()
