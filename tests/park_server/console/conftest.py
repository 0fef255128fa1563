"""The console tests' server: a real uvicorn process (tests/support/zctest_console.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zctest_console import LiveServer, start_live_server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("console-server"))
