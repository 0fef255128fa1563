"""Clocks for tests: the server's clock (park_server.timeutil) pinned to a fixed moment, so that no
result depends on the day the suite runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from park_server import timeutil

#: a Wednesday in June, not a holiday in China, sun high at noon in Inner Mongolia
PINNED = datetime(2026, 6, 10, 4, 7, 30, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until told to move (``advance``), or — with ``running`` — moves
    with real time from its start, like a wall clock set to another day."""

    def __init__(self, start: datetime = PINNED, running: bool = False) -> None:
        self.t = start.timestamp()
        self.running = running
        self._m0 = time.monotonic()

    def __call__(self) -> float:
        if self.running:
            return self.t + (time.monotonic() - self._m0)
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def ms(self) -> int:
        return int(self() * 1000)


@contextmanager
def pinned(clock: FakeClock | None = None) -> Iterator[FakeClock]:
    """Pin the server's clock for the duration of the block."""
    clock = clock or FakeClock(running=True)
    timeutil.set_clock(clock)
    try:
        yield clock
    finally:
        timeutil.set_clock(None)
