"""Closed months' carbon totals kept in memory while their inputs stay the same.

Every §10 answer needs the totals of the year's earlier months (``year_before``, handing the
storage account on) and of last year's months still to come (the projection): in December that
is eleven months of every meter's 15-minute energy, read and balanced on each request, seconds
for a park of 200 meters. A closed month (one that ended before the current local month began)
changes only when

1. a rollup of it is rewritten (late samples, a counter mark): :func:`renew_token`, called by the
   rollup refresh in the transaction that writes the rollups, gives the park a new random token
   in ``carbon_epoch``, and an entry counts only under the token it was computed under;
2. its monthly inputs, certificates, trades or trade profiles change, or the park's meters or
   accounting settings, or the storage account handed in from the month before: these are
   hashed into each entry's key from rows every request reads anyway (:meth:`MonthCache.key`).

The factor tables and the code are loaded once per process, so a restart clears the cache with
them. Entries live per database engine (tests and servers may hold several), at most
:data:`ENTRIES` each, least recently used out first. The token is read before any rollup, so an
answer computed while the refresh commits is stored under the old token and never served.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

#: entries kept per engine (one per park, month and scope, and one per park and month for storage)
ENTRIES = 4096

_lock = threading.Lock()
_stores: weakref.WeakKeyDictionary[Engine, OrderedDict[Hashable, Any]] = weakref.WeakKeyDictionary()


def token(session: Session, park_id: str) -> str | None:
    """The park's data token (None until its first closed month was rewritten)."""
    row = (
        session.connection()
        .execute(text("SELECT token FROM carbon_epoch WHERE park_id = :p"), {"p": park_id})
        .first()
    )
    return None if row is None else str(row[0])


def renew_token(conn: Connection, park_ids: Sequence[str]) -> None:
    """Give each park a new token: its cached months no longer hold."""
    for park_id in sorted(park_ids):
        conn.execute(
            text(
                "INSERT INTO carbon_epoch (park_id, token) VALUES (:p, :t) "
                "ON CONFLICT (park_id) DO UPDATE SET token = excluded.token"
            ),
            {"p": park_id, "t": uuid.uuid4().hex},
        )


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _digest(parts: Any) -> str:
    return hashlib.sha256(
        json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()


def _row(row: Any) -> dict[str, Any]:
    return row.model_dump() if hasattr(row, "model_dump") else dict(row)


@dataclass
class MonthCache:
    """The cache of one request: the engine's store, the park's token, and the inputs every
    closed month's key is made of."""

    store: OrderedDict[Hashable, Any]
    park_id: str
    token: str | None
    #: intervals before this [ms] belong to closed months
    closed_before_ms: int
    #: a hash of the park's accounting settings and meters
    park_digest: str
    monthly: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    instruments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        session: Session,
        *,
        park_id: str,
        closed_before_ms: int,
        settings: Any,
        meters: Sequence[Any],
        monthly: Sequence[Any],
        instruments: Sequence[Any],
        profiles: dict[int, list[tuple[int, float]]],
    ) -> MonthCache:
        """Read the token first (before any rollup) and sort the rows by month."""
        tok = token(session, park_id)
        with _lock:
            store = _stores.setdefault(_engine(session), OrderedDict())
        by_month: dict[str, list[dict[str, Any]]] = {}
        for r in monthly:
            by_month.setdefault(r.month, []).append(_row(r))
        held: dict[str, list[dict[str, Any]]] = {}
        for r in instruments:
            held.setdefault(r.month, []).append(
                {**_row(r), "profile": profiles.get(r.id or -1, [])}
            )
        return cls(
            store=store,
            park_id=park_id,
            token=tok,
            closed_before_ms=closed_before_ms,
            park_digest=_digest([settings.model_dump(), [_row(m) for m in meters]]),
            monthly=by_month,
            instruments=held,
        )

    def key(
        self, month: str, start_ms: int, end_ms: int, storage_initial: Any
    ) -> tuple[Hashable, ...] | None:
        """The key of a stretch's totals, None for a stretch not wholly in a closed month."""
        if end_ms > self.closed_before_ms:
            return None
        inputs = _digest(
            [
                self.park_digest,
                storage_initial.model_dump(),
                self.monthly.get(month, []),
                self.instruments.get(month, []),
            ]
        )
        return (self.park_id, self.token, start_ms, end_ms, inputs)

    def get(
        self, key: tuple[Hashable, ...] | None, scopes: Sequence[str | None], computed: bool
    ) -> tuple[dict[str | None, Any], Any] | None:
        """Each scope's totals and the storage state handed on, if every scope is held.
        ``computed``: whether the month's balance is computed (not every scope's totals are
        recorded), which decides the storage state handed on and the entered figures' source."""
        if key is None:
            return None
        keys = [(*key, computed, "storage"), *((*key, computed, "scope", s) for s in scopes)]
        with _lock:
            found = [self.store.get(k) for k in keys]
            if any(v is None for v in found):
                return None
            for k in keys:
                self.store.move_to_end(k)
        return dict(zip(scopes, found[1:], strict=True)), found[0]

    def put(
        self,
        key: tuple[Hashable, ...] | None,
        totals: dict[str | None, Any],
        handed: Any,
        computed: bool,
    ) -> None:
        """Keep each scope's totals (a later request for other scopes reuses the ones held)."""
        if key is None:
            return
        with _lock:
            for k, v in [((*key, computed, "storage"), handed)] + [
                ((*key, computed, "scope", s), t) for s, t in totals.items()
            ]:
                self.store[k] = v
                self.store.move_to_end(k)
            while len(self.store) > ENTRIES:
                self.store.popitem(last=False)
