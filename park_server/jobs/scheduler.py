"""Background jobs (APScheduler): rollups, alarms, forecasts, dispatch and reports.

With several server instances on one PostgreSQL only the holder of an advisory lock runs the jobs;
the others try to take it every ``LEADER_TICK_S`` (and before every job), so a new leader takes
over within that tick when the old one stops or dies (PostgreSQL frees the lock as soon as the dead
instance's connection closes). A job that fails is logged and retried after ``retry_seconds``.

While the database is away nothing logs a traceback per tick: the scheduler logs one line when
it goes (``jobs paused: …``) and one when it is back (``jobs resume …``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from park_server.db.engine import is_postgres
from park_server.state import ServerState, is_connection_error

log = logging.getLogger("zcpark.scheduler")

LOCK_CLASS = 0x7A63  # "zc"; the second key is the schema's hash, so deployments sharing a
# database in different schemas elect their leaders independently
#: how often a follower tries to take the lock (and the leader checks it still holds it) [s]
LEADER_TICK_S = 5.0
#: TCP keepalives of the lock's connection (both ends): idle [s], probe interval [s], probes
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 10, 5, 3


class DatabaseWatch:
    """The scheduler's view of the database: one log line per change (away / back), never a
    traceback per tick while it is away."""

    def __init__(self) -> None:
        self.away_since: float | None = None
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the database is away (logged once per outage)."""
        if not is_connection_error(exc):
            return False
        with self._lock:
            if self.away_since is None:
                self.away_since = time.monotonic()
                orig = getattr(exc, "orig", None) or exc
                reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
                log.warning("jobs paused: database unavailable: %s", reason)
        return True

    def worked(self) -> None:
        with self._lock:
            if self.away_since is not None:
                log.warning(
                    "jobs resume: database reachable again after %.0f s",
                    time.monotonic() - self.away_since,
                )
                self.away_since = None


class Leadership:
    """Holds PostgreSQL's advisory lock on a connection of its own; on SQLite always the leader."""

    def __init__(self, state: ServerState, watch: DatabaseWatch | None = None) -> None:
        self.state = state
        self.watch = watch or DatabaseWatch()
        self._conn: Connection | None = None
        self._engine: Engine | None = None
        self._held = False
        self._lock = threading.Lock()
        #: monotonic time [s] this instance took the lock (None while it does not hold it)
        self.since: float | None = None

    @property
    def held(self) -> bool:
        """Whether this instance led at its last check (for /metrics; checks nothing itself)."""
        return self._held or not is_postgres(self.state.engine)

    def is_leader(self) -> bool:
        if not is_postgres(self.state.engine):
            return True
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                    self._held = False
                if self._held:
                    self._conn.execute(text("SELECT 1"))  # the lock lives as long as this session
                    self.watch.worked()
                    return True
                self._held = bool(
                    self._conn.execute(
                        text("SELECT pg_try_advisory_lock(:c, hashtext(current_schema()))"),
                        {"c": LOCK_CLASS},
                    ).scalar_one()
                )
                self.watch.worked()
                if self._held:
                    self.since = time.monotonic()
                    log.info("this instance leads the scheduled jobs now")
                return self._held
            except Exception as exc:
                if not self.watch.failed(exc):
                    log.exception("leadership check failed; not running jobs this tick")
                if self._held:
                    log.warning("this instance no longer leads the scheduled jobs")
                self._drop()
                return False

    def _connect(self) -> Connection:
        """The lock's own connection, with TCP keepalives on both ends: a leader whose host dies
        or is cut off loses the lock within ~25 s (PostgreSQL ends its session), and learns it
        within ~20 s (its own checks fail), instead of after the kernel's two hours."""
        if self._engine is None:
            self._engine = create_engine(
                self.state.engine.url,
                poolclass=NullPool,
                connect_args={
                    "keepalives": 1,
                    "keepalives_idle": KEEPALIVE_IDLE_S,
                    "keepalives_interval": KEEPALIVE_INTERVAL_S,
                    "keepalives_count": KEEPALIVE_COUNT,
                    "tcp_user_timeout": 20_000,
                    "connect_timeout": 5,
                },
            )
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        for name, value in (
            ("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
            ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
            ("tcp_keepalives_count", KEEPALIVE_COUNT),
        ):
            conn.execute(text(f"SET {name} = {int(value)}"))
        return conn

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
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never hand a session holding the lock back to the pool
                self._conn.close()
            finally:
                self._conn = None
                self._held = False
                self.since = None


class Jobs:
    def __init__(self, state: ServerState, retry_seconds: float = 10.0) -> None:
        self.state = state
        self.watch = DatabaseWatch()
        self.leadership = Leadership(state, self.watch)
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
                self.watch.worked()
            except Exception as exc:
                self.failures[name] = self.failures.get(name, 0) + 1
                if not self.watch.failed(exc):  # the database away: one line per outage
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
        if is_postgres(self.state.engine):  # take over within a tick, whatever the job periods
            self.scheduler.add_job(
                self.leadership.is_leader,
                "interval",
                seconds=LEADER_TICK_S,
                id="leadership",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.leadership.release()
