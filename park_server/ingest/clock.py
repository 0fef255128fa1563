"""A gateway's clock against the server's (issue #14): the newest sample of a gateway's newest
batch against the time the batch arrived.

Only a batch numbered above every earlier one from the gateway counts: the uplink sends its newest
(live) batches first and numbers batches in the order they were formed, so a backlog drained after
an outage (old samples, lower numbers) is not mistaken for a slow clock. A live batch is at most
``batch_max_seconds`` (1 s by default) plus the way over the broker old, so an honest gateway
reads a second or two behind; ``CLOCK_OFFSET_LIMIT_S`` is far above that. The samples themselves
are never changed: a gateway's time stamps are the data, the offset is a flag beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

from park_server.timeutil import parse_ts

#: a gateway clock further off than this [s] is flagged and raises a ``gateway_clock`` alarm
CLOCK_OFFSET_LIMIT_S = 120.0
#: the stored offset is written again when it moves by more than this [s], or every REWRITE_S
WRITE_STEP_S = 1.0
REWRITE_S = 60.0


def newest_sample_ms(samples: object) -> int | None:
    """The newest time stamp among ``samples`` [epoch ms], None when none is usable. The time
    stamps of one gateway share one form (``…T08:00:00.000Z``), so the greatest string is the
    newest; only that one is parsed."""
    if not isinstance(samples, list):
        return None
    stamps = [ts for s in samples if isinstance(s, dict) and type(ts := s.get("ts")) is str]
    if not stamps:
        return None
    try:
        return parse_ts(max(stamps))
    except (ValueError, OverflowError):
        return None


@dataclass
class _Seen:
    batch: int
    offset_s: float | None = None
    written_ms: int = 0


class ClockWatch:
    """Per gateway: the highest batch number seen, and the offset last stored."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], _Seen] = {}

    def observe(
        self,
        session: Session,
        park: str,
        gateway: str,
        batch: int | None,
        samples: object,
        received_ms: int,
    ) -> float | None:
        """Store the gateway's clock offset (its clock minus the server's [s]) measured on this
        batch when it is the gateway's newest so far; return the offset, or None."""
        if batch is None:
            return None
        seen = self._seen.get((park, gateway))
        if seen is not None and batch <= seen.batch:
            return None  # a resend or the backlog: says nothing of the clock now
        newest = newest_sample_ms(samples)
        if seen is None:
            seen = self._seen[(park, gateway)] = _Seen(batch)
        seen.batch = batch
        if newest is None:
            return None
        offset_s = round((newest - received_ms) / 1000.0, 3)
        if (
            seen.offset_s is not None
            and abs(offset_s - seen.offset_s) <= WRITE_STEP_S
            and received_ms - seen.written_ms < REWRITE_S * 1000
        ):
            return offset_s
        session.connection().execute(
            text(
                "UPDATE gateway SET clock_offset_s = :o, clock_checked_ms = :t "
                "WHERE park_id = :p AND id = :g"
            ),
            {"o": offset_s, "t": received_ms, "p": park, "g": gateway},
        )
        session.commit()
        seen.offset_s, seen.written_ms = offset_s, received_ms
        return offset_s
