"""What the running server holds besides the database: engine, settings, caches, counters."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError as DBAPIError  # re-exported for the routes' error handler
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from park_server.db.crud import ParkMeters, load_park_meters
from park_server.db.tables import GatewayRow
from park_server.settings import Settings


@dataclass
class Counters:
    batches: int = 0
    samples_accepted: int = 0
    samples_duplicate: int = 0
    samples_rejected: int = 0
    batches_rejected: int = 0
    weather_rows_rejected: int = 0
    plans_failed: int = 0
    #: samples refused, by the class of their reason (:func:`reject_class`)
    rejects_by_class: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def note_rejects(self, rejected: list[dict[str, Any]]) -> None:
        """Count refused samples (ingest's ``rejected`` list) by the class of their reason."""
        if not rejected:
            return
        classes = [reject_class(str(r.get("reason", ""))) for r in rejected]
        with self.lock:
            for c in classes:
                self.rejects_by_class[c] = self.rejects_by_class.get(c, 0) + 1

    def as_dict(self) -> dict[str, int]:
        return {
            k: getattr(self, k)
            for k in (
                "batches",
                "samples_accepted",
                "samples_duplicate",
                "samples_rejected",
                "batches_rejected",
                "weather_rows_rejected",
            )
        }


#: a refused sample's reason begins with the field it is about (park_server.ingest.batches)
_REJECT_PREFIXES = (
    ("unknown meter", "meter"),
    ("unknown quantity", "quantity"),
    ("value", "value"),
    ("quality", "quality"),
)


def reject_class(reason: str) -> str:
    """The class of a refused sample's reason: meter, quantity, value, quality, ts_future,
    ts_past, ts (unreadable time stamp), sample (not an object) or other."""
    for prefix, cls in _REJECT_PREFIXES:
        if reason.startswith(prefix):
            return cls
    if reason.startswith("ts"):
        if "in the future" in reason:
            return "ts_future"
        if "in the past" in reason:
            return "ts_past"
        return "ts"
    if reason.startswith("a sample"):
        return "sample"
    return "other"


class LatencyHistogram:
    """Cumulative counts of latencies [s] under fixed bounds, their sum and count (thread-safe);
    read by the /metrics collector as a Prometheus histogram."""

    BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

    def __init__(self) -> None:
        self.counts = [0] * (len(self.BOUNDS_S) + 1)  # the last: above every bound
        self.sum_s = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        i = next((k for k, b in enumerate(self.BOUNDS_S) if seconds <= b), len(self.BOUNDS_S))
        with self._lock:
            self.counts[i] += 1
            self.sum_s += seconds

    def snapshot(self) -> tuple[list[tuple[str, int]], float]:
        """Cumulative ``(upper bound, count)`` pairs ending with ``+Inf``, and the sum [s]."""
        with self._lock:
            counts, total = list(self.counts), self.sum_s
        out, run = [], 0
        for bound, n in zip((*map(str, self.BOUNDS_S), "+Inf"), counts, strict=True):
            run += n
            out.append((bound, run))
        return out, total


class LoginLimiter:
    """Token buckets for login attempts, bounded in memory, with no lockout.

    Each client address may try ``per_address`` logins a minute, and each (address, user name)
    pair ``per_account`` a minute; the buckets refill continuously. There is no per-account bucket
    across addresses, so a flood from one address slows only that address, never the account's
    owner elsewhere. At most ``max_entries`` buckets are kept, the least recently used dropped
    first; a new pair is only made after its address bucket admitted the attempt, so one address
    adds at most ``per_address`` entries a minute and cannot flush a victim's bucket quickly.
    User names are kept as a 16-byte digest, however long the name tried.
    """

    def __init__(
        self,
        per_account: int,
        per_address: int | None = None,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address if per_address is not None else 3 * per_account
        self.max_entries = max_entries
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, bytes], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: tuple[str, bytes], capacity: int, now: float) -> list[float]:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(capacity), now]
            while len(self._buckets) > self.max_entries:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * capacity / 60.0)
            bucket[1] = now
        return bucket

    def allow(self, address: str, user: str) -> bool:
        """Whether a login attempt for ``user`` from ``address`` may be tried now (and count it)."""
        now = self._clock()
        addr = address[:64]
        with self._lock:
            by_address = self._tokens((addr, b""), self.per_address, now)
            if by_address[0] < 1:
                return False
            by_address[0] -= 1
            digest = hashlib.blake2b(user.encode("utf-8", "replace"), digest_size=16).digest()
            by_account = self._tokens((addr, digest), self.per_account, now)
            if by_account[0] < 1:
                return False
            by_account[0] -= 1
            return True


db_log = logging.getLogger("zcpark.db")


def is_connection_error(exc: BaseException) -> bool:
    """Whether a database error means the database is away (not a bad statement). DBAPIError is
    re-exported so that the routes can name it without importing sqlalchemy."""
    return isinstance(exc, OperationalError | InterfaceError) or bool(
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class DatabaseStatus:
    """Whether the database answers, as the engine last saw it: one log line when it goes away
    and one when it is back, instead of a traceback per request."""

    def __init__(self) -> None:
        self.up = True
        self.reason = ""
        self.since = time.monotonic()
        self._lock = threading.Lock()

    def down(self, exc: BaseException) -> str:
        """Note the database away; return the reason (one line, without the SQL)."""
        orig = getattr(exc, "orig", None) or exc
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
        with self._lock:
            self.reason = reason
            if self.up:
                self.up, self.since = False, time.monotonic()
                db_log.error("database unavailable: %s", reason)
        return reason

    def ok(self) -> None:
        with self._lock:
            if not self.up:
                self.up = True
                db_log.warning(
                    "database reachable again after %.0f s", time.monotonic() - self.since
                )
                self.since = time.monotonic()


_statuses: weakref.WeakKeyDictionary[Engine, DatabaseStatus] = weakref.WeakKeyDictionary()
_statuses_lock = threading.Lock()


def database_status(engine: Engine) -> DatabaseStatus:
    """The one DatabaseStatus of an engine, watching its connects and connection errors."""
    with _statuses_lock:
        status = _statuses.get(engine)
        if status is not None:
            return status
        status = _statuses[engine] = DatabaseStatus()

    def _on_error(ctx: Any) -> None:
        if ctx.is_pre_ping:
            return  # the pool reconnects after a failed ping; that connect decides
        if ctx.is_disconnect or ctx.connection is None:  # lost, or could not connect at all
            status.down(ctx.original_exception)

    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        status.ok()

    event.listen(engine, "handle_error", _on_error)
    event.listen(engine, "connect", _on_connect)
    return status


class ServerState:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.counters = Counters()
        #: MQTT telemetry from receipt to the publication of its ack [s]
        self.ack_latency = LatencyHistogram()
        self.limiter = LoginLimiter(
            settings.login_attempts_per_minute,
            settings.login_attempts_per_minute_per_address,
            settings.login_limiter_entries,
        )
        self.database = database_status(engine)
        self._meters: dict[str, tuple[float, ParkMeters]] = {}
        self._gateways: set[tuple[str, str]] = set()
        self._gateway_meters: dict[tuple[str, str], set[str]] = {}
        self.mqtt: Any = None  # the MqttLink, when the server runs one
        self._lock = threading.Lock()

    def park_meters(self, session: Session, park_id: str, max_age_s: float = 30.0) -> ParkMeters:
        """The park's meters, cached for a few seconds (they change only with `parks sync`)."""
        now = time.monotonic()
        with self._lock:
            hit = self._meters.get(park_id)
            if hit and now - hit[0] < max_age_s:
                return hit[1]
        meters = load_park_meters(session, park_id)
        with self._lock:
            self._meters[park_id] = (now, meters)
        return meters

    def gateway_known(self, session: Session, park_id: str, gateway_id: str) -> bool:
        """Whether the gateway is registered (cached once known: gateways are not removed)."""
        key = (park_id, gateway_id)
        if key in self._gateways:
            return True
        if session.get(GatewayRow, key) is None:
            return False
        self._gateways.add(key)
        return True

    def note_meters(
        self, park_id: str, gateway_id: str, samples: object, park_meters: Collection[str]
    ) -> bool:
        """Remember which of the park's meters (``park_meters``) a gateway reads (setpoints go to
        the gateway that has the meter); True when the gateway brought meters not seen before.
        Ids that are not meters of the park are not kept (the set stays as small as the park)."""
        if not isinstance(samples, list):
            return False
        seen = {m for s in samples if isinstance(s, dict) and type(m := s.get("meter")) is str}
        known = self._gateway_meters.setdefault((park_id, gateway_id), set())
        new = {m for m in seen if m in park_meters} - known
        if new:
            with self._lock:
                known |= new
        return bool(new)

    def gateway_meters(self) -> dict[tuple[str, str], set[str]]:
        with self._lock:
            return {k: set(v) for k, v in self._gateway_meters.items()}

    def forget_meters(self) -> None:
        with self._lock:
            self._meters.clear()
