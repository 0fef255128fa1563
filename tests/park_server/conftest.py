"""Every server test runs on a pinned clock (tests/support/zctest_clock.py): the server's clock
starts at the same Wednesday in June whatever day the suite runs, and moves with real time from
there. A test that starts a server in another process (whose clock cannot be pinned) opts out with
``@pytest.mark.real_clock``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zctest_clock import FakeClock, pinned


@pytest.fixture(autouse=True)
def server_clock(request: pytest.FixtureRequest) -> Iterator[FakeClock | None]:
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with pinned() as clock:
        yield clock
