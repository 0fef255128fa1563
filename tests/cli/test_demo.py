"""`zcpark demo` runs the whole system: simulators -> edge agent -> MQTT -> server -> plans."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_moves_data_end_to_end(tmp_path: Path, private_broker: Any) -> None:
    base = _free_port()  # the simulators take this port and the next ten
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zcpark",
            "demo",
            "--workdir",
            str(tmp_path / "demo"),
            "--seconds",
            "15",
            "--port",
            str(_free_port()),
            "--modbus-port-base",
            str(base),
            "--mqtt-url",
            private_broker.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sign in as    admin / " in proc.stdout
    summary = json.loads(proc.stdout.split("summary: ", 1)[1])
    assert summary["meters_reporting"] == 11  # every Huolin Gol meter reached the database
    assert summary["samples_stored"] > 500
    assert summary["plans"] >= 1
    # the demo's weather feed: 48 h of three variables, read by the server for its forecasts
    assert summary["weather_values"] == 3 * 192
    assert summary["forecasts"] >= 3
    agent = summary["agent"]
    assert agent["devices_online"] == agent["devices_total"] == 11
    assert agent["setpoints_refused"] == 0
    assert agent["setpoints"]["bess-1.active_power_kw"]["mode"] == "plan"
