"""The long fuzzing run: deselected unless ZCPARK_FUZZ_LONG=1 (its command: docs/reliability.md).
Like the server tests, it runs on the pinned clock (tests/support/zctest_clock.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from zctest_clock import FakeClock, pinned


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ZCPARK_FUZZ_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="the long fuzzing run: set ZCPARK_FUZZ_LONG=1")
    for item in items:
        if item.get_closest_marker("fuzz_long"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def server_clock() -> Iterator[FakeClock]:
    with pinned() as clock:
        yield clock
