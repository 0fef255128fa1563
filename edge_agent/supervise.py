"""Supervision of the agent's background tasks: none may die silently.

Each task (the uplink pump, the buffer writer, status, setpoints, the buffer limit, one poller per
Modbus device) runs under :meth:`Supervisor.supervise`. When it raises, or returns while the agent
still runs, the failure is logged on one line, raised as a ``task_failed`` event and counted, and
the task is started again after ``base_s · 2^(n-1)`` seconds, at most ``max_s``, where n counts
the failures since the task last ran for ``healthy_s`` without one. While it waits the task is
*down*; :meth:`Supervisor.status` gives ``task_restarts`` and ``tasks_down`` for the gateway's
status message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("zcpark.edge.supervise")


def restart_delay_s(failures: int, base_s: float, max_s: float) -> float:
    """Wait before the restart after the ``failures``-th failure in a row [s]: doubling, capped."""
    return float(min(max_s, base_s * 2.0 ** min(failures - 1, 62)))


@dataclass
class TaskState:
    restarts: int = 0
    failures_in_row: int = 0
    down: bool = False
    last_error: str = ""


class Supervisor:
    def __init__(
        self,
        *,
        base_s: float = 0.5,
        max_s: float = 30.0,
        healthy_s: float = 60.0,
        event: Callable[[str, str], None] = lambda kind, message: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.healthy_s = healthy_s
        self.event = event
        self.clock = clock
        self.tasks: dict[str, TaskState] = {}
        #: how the supervisor waits before a restart; a test may replace it (a fake clock)
        self.wait: Callable[[float], Awaitable[None]] | None = None

    async def supervise(
        self, name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """Run ``run()`` until ``stop`` is set, starting it again after every failure."""
        st = self.tasks.setdefault(name, TaskState())
        while not stop.is_set():
            started = self.clock()
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the point of a supervisor: any bug in a task
                error = f"{type(exc).__name__}: {exc}"
                log.debug("task %s failed", name, exc_info=exc)  # the traceback, for debugging
            else:
                if stop.is_set():
                    return
                error = "returned while the agent runs"
            if self.clock() - started >= self.healthy_s:
                st.failures_in_row = 0
            st.failures_in_row += 1
            st.last_error = error
            delay = restart_delay_s(st.failures_in_row, self.base_s, self.max_s)
            message = (
                f"task {name} failed ({error}); restart {st.restarts + 1} in {delay:g} s "
                f"({st.failures_in_row} failures in a row)"
            )
            log.error("%s", message.replace("\n", " "))
            self.event("task_failed", message)
            st.down = True
            try:
                await self._wait(delay, stop)
            finally:
                st.down = False
            if not stop.is_set():
                st.restarts += 1

    async def _wait(self, delay_s: float, stop: asyncio.Event) -> None:
        if self.wait is not None:
            await self.wait(delay_s)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay_s)

    def is_down(self, name: str) -> bool:
        st = self.tasks.get(name)
        return st is not None and st.down

    def status(self) -> dict[str, Any]:
        """``task_restarts`` (tasks restarted at least once, with how often) and ``tasks_down``
        (tasks waiting for their restart), for the status message."""
        return {
            "task_restarts": {n: st.restarts for n, st in self.tasks.items() if st.restarts},
            "tasks_down": sorted(n for n, st in self.tasks.items() if st.down),
        }
