"""What a test does when a service or tool it needs is missing: skip on a developer's machine, fail
in CI (``ZCPARK_REQUIRE_SERVICES=1``), so that a green CI run never hides an untested part."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_SERVICES = os.environ.get("ZCPARK_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ZCPARK_REQUIRE_SERVICES=1, so this fails instead of skipping)")
    pytest.skip(reason)
