"""Every shell command in README.md and docs/*.md runs as written.

Each fenced ```sh, ```bash, ```shell or ```console block is either **run** here (in a fresh
temporary directory or at the repository's root, with the venv's bin first on PATH, under
``bash -e -o pipefail`` and a timeout) or named in :data:`BLOCKS` as **not run**, with the reason
and the test that covers it instead. A block that is neither — a new block, or one whose first
line changed — fails :func:`test_every_block_is_run_or_listed`, as does an entry for a block that
no longer exists. A block run with substitutions lists them, each reviewed: a system path
(``/etc/mosquitto``) becomes the temporary directory, the machine's broker one where nothing
listens (a test must not join the shared subscription other tests' servers use), and a server
that runs until stopped is started, asked for its health and stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from zctest_services import service_unavailable

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(sh|bash|shell|console)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    text: str

    @property
    def key(self) -> tuple[str, str]:
        first = next(s for s in self.text.splitlines() if s.strip())
        return (self.file, first.strip())


@dataclass(frozen=True)
class Run:
    """Run the block: ``cwd`` "tmp" (a fresh directory with ``config`` linked from the
    repository) or "repo"; ``setup`` before it; ``expect``: strings its output must hold."""

    cwd: str = "tmp"
    setup: str = ""
    expect: tuple[str, ...] = ()
    subs: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 240
    env: dict[str, str] = field(default_factory=dict)
    #: give the block a free port in $PORT (and $HEALTH, the server's health URL on it)
    port: bool = False


@dataclass(frozen=True)
class NotRun:
    """Not run in the suite: why, and which test covers what it does."""

    reason: str
    covered_by: str


def blocks() -> list[Block]:
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            found.append(
                Block(str(path.relative_to(REPO)), text[: m.start()].count("\n") + 1, m.group(2))
            )
    return found


#: Every shell block of README.md and docs/, by file and first line: run, or not run and why.
BLOCKS: dict[tuple[str, str], Run | NotRun] = {
    (
        "README.md",
        "make demo    # sets everything up and runs the whole system on embedded defaults",
    ): NotRun(
        "`make demo` runs until Ctrl-C and `make test` is the whole suite",
        "tests/cli/test_demo.py::test_demo_is_a_living_park_within_90_s_then_stops_clean "
        "(zcpark demo from the venv; SIGINT frees every port); make test is the suite itself",
    ),
    ("README.md", "zcpark --help"): Run(
        cwd="repo", expect=("demo", "server", "check", "docs"), timeout_s=60
    ),
    ("README.md", "zcpark check config/parks/*.yaml config/devices/*.yaml"): Run(
        cwd="repo", expect=("ok: park huolingol", "ok: device profile carlo-gavazzi-em340")
    ),
    (
        "README.md",
        "zcpark demo --park mengsu --workdir var/demo-mengsu --port 8001 --modbus-port-base 16020",
    ): NotRun(
        "runs until Ctrl-C",
        "tests/cli/test_demo.py::test_every_shipped_park_runs_as_a_demo (each park, shortened)",
    ),
    (
        "docs/deployment.md",
        "export ZCPARK_DATABASE_URL=sqlite:////var/lib/zcpark/zcpark.db   # the default is "
        "./zcpark.db",
    ): Run(
        # the system's paths become the temporary directory; the server is started and stopped
        subs=(
            ("sqlite:////var/lib/zcpark/zcpark.db", "sqlite:///./zcpark.db"),
            ("@127.0.0.1:1883", "@127.0.0.1:1"),
            ("/etc/mosquitto/", "./"),
            (
                "zcpark server --host 0.0.0.0 --port 8000",
                "zcpark server --host 127.0.0.1 --port $PORT & SERVER=$!\n"
                "for i in $(seq 300); do curl -fs $HEALTH >/dev/null && break; sleep 0.2; done\n"
                "curl -fsS $HEALTH; kill -INT $SERVER; wait $SERVER",
            ),
        ),
        expect=("zcgk_", '"database":"ok"'),
        env={"ZCPARK_RUN_SCHEDULER": "false"},
        port=True,
    ),
    (
        "docs/deployment.md",
        "export ZCPARK_MQTT_URL='mqtts://zcpark-server:'\"$(openssl rand -hex 24)\"'"
        "@broker.park:8883'",
    ): Run(
        # needs a database with the park: the first deployment block's set-up, shortened
        setup=(
            "export ZCPARK_DATABASE_URL=sqlite:///./zcpark.db\n"
            "zcpark db upgrade >/dev/null\n"
            "zcpark parks sync config/parks/huolingol.yaml >/dev/null\n"
        ),
        subs=(
            ("/etc/mosquitto/", "./"),
            # never signal the machine's broker from a test
            ('kill -HUP "$(pidof mosquitto)"', "true"),
            ("chown mosquitto ", "chown $(id -u) "),
        ),
        expect=("zcgk_",),
    ),
    (
        "docs/deployment.md",
        "# on each instance: the same database, broker and secret; its own stable id",
    ): NotRun(
        "needs a PostgreSQL at db.internal and a broker; ends in a server that runs until stopped",
        "tests/park_server/scale/test_two_servers.py (two `zcpark server` on one PostgreSQL and "
        "one broker)",
    ),
    ("docs/devices.md", "zcpark check config/devices/carlo-gavazzi-em340.yaml"): Run(
        cwd="repo",
        expect=("config/devices/carlo-gavazzi-em340.yaml: ok: device profile carlo-gavazzi-em340",),
        timeout_s=60,
    ),
    ("docs/devices.md", "cat > em340-park.yaml <<'EOF'"): Run(
        expect=(
            "active_power_kw|",
            "energy_import_kwh|",
            "frequency_hz|50.0|good",
            "voltage_v|",
        ),
    ),
    (
        "docs/dispatch.md",
        "zcpark dispatch solve SCENARIO.json               # the plan as JSON on standard output",
    ): NotRun(
        "SCENARIO.json is the reader's own scenario (DESIGN.md §8)",
        "tests/dispatch/test_infeasible_and_malformed.py and tests/cli/test_cli.py run "
        "`zcpark dispatch solve` on scenario files",
    ),
    (
        "docs/edge.md",
        "zcpark edge GATEWAY.yaml                 # run the agent (see configuration.md for the file)",
    ): NotRun(
        "usage synopsis: GATEWAY.yaml and PARK.yaml are the reader's files; both run until stopped",
        "docs/devices.md's trial block (run here) runs `zcpark simulate` and `zcpark edge`",
    ),
    (
        "docs/forecasting.md",
        "zcpark forecast backtest --data pv.csv --target pv --time-col time --value-col ac_kw \\",
    ): NotRun(
        "pv.csv is the reader's own data",
        "tests/forecasting/test_backtest.py runs `zcpark forecast backtest` on data files",
    ),
    ("docs/operations.md", "sqlite3 zcpark.db \".backup 'zcpark-backup.db'\""): Run(
        setup="ZCPARK_DATABASE_URL=sqlite:///./zcpark.db zcpark db upgrade >/dev/null\n",
        expect=("ok",),
    ),
    (
        "docs/operations.md",
        "pg_dump -Fc -h db.park -U zcpark zcpark > zcpark-$(date +%F).dump",
    ): NotRun(
        "needs the park's PostgreSQL at db.park",
        "tests/docs/test_shell_blocks.py::test_pg_dump_and_restore_as_documented (the same "
        "commands on the test PostgreSQL)",
    ),
    ("docs/operations.md", "ZCPARK_DATABASE_URL=sqlite:///./zcpark.db zcpark db upgrade"): Run(
        expect=("is at the newest schema",), timeout_s=120
    ),
}


def test_every_block_is_run_or_listed() -> None:
    found = blocks()
    keys = [b.key for b in found]
    missing = [f"{b.file}:{b.line}: {b.key[1]!r}" for b in found if b.key not in BLOCKS]
    stale = [f"{f}: {first!r}" for (f, first) in BLOCKS if (f, first) not in keys]
    assert not missing, (
        "shell blocks neither run nor listed: add each to BLOCKS in tests/docs/test_shell_blocks.py "
        "(Run, or NotRun with the reason and the test that covers it):\n" + "\n".join(missing)
    )
    assert not stale, "BLOCKS entries whose block is gone (remove them):\n" + "\n".join(stale)
    for key, spec in BLOCKS.items():
        if isinstance(spec, NotRun):
            assert spec.reason and spec.covered_by, key


def _runnable() -> list[Block]:
    return [b for b in blocks() if isinstance(BLOCKS.get(b.key), Run)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZCPARK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@pytest.mark.real_clock
@pytest.mark.parametrize("block", _runnable(), ids=lambda b: f"{b.file}:{b.line}")
def test_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    spec = BLOCKS[block.key]
    assert isinstance(spec, Run)
    text = block.text
    for old, new in spec.subs:
        assert old in text, f"{block.file}:{block.line}: substitution {old!r} no longer applies"
        text = text.replace(old, new)
    if spec.cwd == "tmp":
        cwd = tmp_path
        (tmp_path / "config").symlink_to(REPO / "config")
    else:
        cwd = REPO
    script = "set -e -o pipefail\n" + spec.setup + text
    env = _env(spec.env)
    if spec.port:
        env["PORT"] = str(_free_port())
        env["HEALTH"] = f"http://127.0.0.1:{env['PORT']}/api/v1/health"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=spec.timeout_s,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{block.file}:{block.line} exited {done.returncode}:\n{out}"
    for want in spec.expect:
        assert want in out, f"{block.file}:{block.line}: {want!r} not in its output:\n{out}"


def test_devices_md_shows_the_shipped_profile() -> None:
    """The profile docs/devices.md writes out is the shipped file (comments aside)."""
    import yaml

    text = (REPO / "docs" / "devices.md").read_text(encoding="utf-8")
    shown = re.search(r"^```yaml\n(name: carlo-gavazzi-em340\n.*?)^```", text, re.S | re.M)
    assert shown, "docs/devices.md: the profile's yaml block is missing"
    shipped = (REPO / "config" / "devices" / "carlo-gavazzi-em340.yaml").read_text()
    assert yaml.safe_load(shown.group(1)) == yaml.safe_load(shipped)


def test_pg_dump_and_restore_as_documented(tmp_path: Path, pg: Any) -> None:
    """docs/operations.md's pg_dump / pg_restore lines, on the test PostgreSQL: a schema with one
    table dumped in the custom format and restored into a new database."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")):
        service_unavailable("pg_dump, pg_restore or psql not installed")
    from sqlalchemy.engine import make_url

    url = make_url(pg.conninfo)
    host, user, db = url.host or "127.0.0.1", url.username or "postgres", url.database or "test"
    port = str(url.port or 5432)
    env = _env({"PGPORT": port})
    schema, target = f"docs_{os.getpid()}", f"docs_restored_{os.getpid()}"

    def sh(cmd: str) -> str:
        done = subprocess.run(
            ["bash", "-c", "set -e -o pipefail\n" + cmd],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    sh(
        f'psql -h {host} -U {user} -d {db} -qc "CREATE SCHEMA {schema}; '
        f'CREATE TABLE {schema}.t (v int); INSERT INTO {schema}.t VALUES (42);"'
    )
    try:
        # as documented, with this machine's host, user and database, one schema only
        sh(f"pg_dump -Fc -h {host} -U {user} -n {schema} {db} > zcpark-$(date +%F).dump")
        sh(f'psql -h {host} -U {user} -d {db} -qc "CREATE DATABASE {target}"')
        try:
            sh(f"pg_restore -h {host} -U {user} -d {target} --no-owner zcpark-*.dump")
            got = sh(f'psql -h {host} -U {user} -d {target} -tAc "SELECT v FROM {schema}.t"')
            assert got.strip() == "42"
        finally:
            sh(f'psql -h {host} -U {user} -d {db} -qc "DROP DATABASE {target}"')
    finally:
        sh(f'psql -h {host} -U {user} -d {db} -qc "DROP SCHEMA {schema} CASCADE"')
