"""The scheduler keeps UTC whatever the host's clock is set to: on a park server set to China time
(or any other zone) an interval job is due now and a re-plan on the next quarter, not hours late."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys, time
from park_server.db.engine import make_engine
from park_server.jobs.scheduler import Jobs
from park_server.settings import Settings
from park_server.state import ServerState

url = "sqlite:///" + sys.argv[1]
state = ServerState(Settings(database_url=url, secret_key="k" * 40), make_engine(url))
jobs = Jobs(state)
jobs.add("rollups", lambda s: None, seconds=30)
jobs.add_aligned("dispatch-rolling", lambda s: None, seconds=900, offset_s=5)
jobs.scheduler.start(paused=True)
now = time.time()
print(json.dumps({"now": now, "interval": jobs.next_run("rollups").timestamp(),
                  "aligned": jobs.next_run("dispatch-rolling").timestamp()}))
jobs.scheduler.shutdown(wait=False)
"""


@pytest.mark.real_clock
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_jobs_are_due_on_time_whatever_the_host_zone(tmp_path: Path, zone: str) -> None:
    env = {**os.environ, "TZ": zone}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "s.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    t = json.loads(out.stdout.strip().splitlines()[-1])
    assert abs(t["interval"] - t["now"]) < 5  # due now, not 8 (or 5) hours from now
    assert 0 < t["aligned"] - t["now"] <= 905  # the next quarter, 5 s in
    assert (t["aligned"] - 5) % 900 == pytest.approx(0, abs=1e-3)
