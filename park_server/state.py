"""What the running server holds besides the database: engine, settings, caches, counters."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

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


class LoginLimiter:
    """At most ``per_minute`` login attempts per user name and per client address."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            ok = True
            for key in keys:
                q = self._hits[key]
                while q and now - q[0] > 60:
                    q.popleft()
                if len(q) >= self.per_minute:
                    ok = False
            if ok:
                for key in keys:
                    self._hits[key].append(now)
            return ok


class ServerState:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.counters = Counters()
        self.limiter = LoginLimiter(settings.login_attempts_per_minute)
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

    def note_meters(self, park_id: str, gateway_id: str, samples: object) -> bool:
        """Remember which meters a gateway reads (setpoints go to the gateway that has the meter);
        True when the gateway brought meters not seen before."""
        if not isinstance(samples, list):
            return False
        seen = {s.get("meter") for s in samples if isinstance(s, dict)}
        known = self._gateway_meters.setdefault((park_id, gateway_id), set())
        new = {m for m in seen if isinstance(m, str)} - known
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
