"""Fixtures for the real services zcpark's integration tests talk to.

- ``mqtt_broker``: a real Mosquitto. ZCPARK_TEST_MQTT_URL (default mqtt://127.0.0.1:1883); when
  nothing answers there and the ``mosquitto`` binary exists, one is started on a free port.
- ``private_broker``: a Mosquitto of the test's own, which the test may stop and start again
  (outage tests). Needs the ``mosquitto`` binary.
- ``pg``: a real PostgreSQL. ZCPARK_TEST_DATABASE_URL (default the local ``test`` database); each
  test session works in a fresh schema of its own, dropped at the end.

Without the service a test skips with the reason, except when ZCPARK_REQUIRE_SERVICES=1 (as in
CI), where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from zctest_services import service_unavailable

REPO = Path(__file__).resolve().parent.parent


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    _conf: Path | None = field(default=None, repr=False)

    def is_up(self) -> bool:
        return port_open(self.host, self.port)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def start(self) -> None:
        """(Re)start a broker owned by the tests, on the same port and persistence file."""
        assert self.workdir is not None, "only a broker the tests started can be restarted"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "log_type error\n"
        )
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while not port_open(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start on port {self.port}")
            time.sleep(0.05)


def start_own_broker(workdir: Path) -> Broker:
    if shutil.which("mosquitto") is None:
        service_unavailable("no 'mosquitto' binary to start a broker of the test's own")
    workdir.mkdir(parents=True, exist_ok=True)
    broker = Broker("127.0.0.1", free_port(), workdir=workdir)
    broker.start()
    return broker


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    url = os.environ.get("ZCPARK_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    if port_open(host, port):
        yield Broker(host, port)
        return
    broker = start_own_broker(tmp_path_factory.mktemp("mosquitto"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_own_broker(tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class PgDatabase:
    url: str  # SQLAlchemy URL whose connections use ``schema``
    schema: str
    conninfo: str  # psycopg conninfo of the same database, without the schema


@pytest.fixture(scope="session")
def pg() -> Iterator[PgDatabase]:
    raw = os.environ.get(
        "ZCPARK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg
    except ImportError:
        service_unavailable("psycopg is not installed")
        raise
    conninfo = raw.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_unavailable(f"PostgreSQL at {conninfo} does not answer: {exc}".splitlines()[0])
        raise
    schema = f"zcpark_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in raw else "?"
    url = f"{raw}{sep}options=-csearch_path%3D{schema}"
    try:
        yield PgDatabase(url=url, schema=schema, conninfo=conninfo)
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def pg_fresh(pg: PgDatabase) -> Iterator[PgDatabase]:
    """A schema of this test's own in the test PostgreSQL, dropped afterwards."""
    import psycopg

    schema = f"zcpark_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    base = pg.url.split("?")[0]
    try:
        yield PgDatabase(
            url=f"{base}?options=-csearch_path%3D{schema}", schema=schema, conninfo=pg.conninfo
        )
    finally:
        with psycopg.connect(pg.conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite (a file of its own) and on PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zcpark.db'}"
    fresh: PgDatabase = request.getfixturevalue("pg_fresh")
    return fresh.url


@dataclass
class SecuredBroker(Broker):
    """A Mosquitto of the test's own that takes only the users of ``password_file``, each
    confined by ``acl_file`` (``allow_anonymous false``); ``reload()`` re-reads both (SIGHUP)."""

    password_file: Path | None = None
    acl_file: Path | None = None

    def start(self) -> None:
        assert self.workdir is not None and self.password_file and self.acl_file
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous false\n"
            f"password_file {self.password_file}\n"
            f"acl_file {self.acl_file}\n"
            "persistence false\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            # run as root (CI), Mosquitto would read the 0600 files as user mosquitto, and fail
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while not port_open(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    def reload(self) -> None:
        import signal

        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[SecuredBroker]:
    """A SecuredBroker, not yet started: write its files, set ``password_file``/``acl_file``
    (default ``passwd``/``acl`` in its folder), then call ``start()``."""
    if shutil.which("mosquitto") is None:
        service_unavailable("no 'mosquitto' binary to start a broker of the test's own")
    workdir = tmp_path / "mosquitto-secured"
    workdir.mkdir(parents=True, exist_ok=True)
    broker = SecuredBroker(
        "127.0.0.1",
        free_port(),
        workdir=workdir,
        password_file=workdir / "passwd",
        acl_file=workdir / "acl",
    )
    try:
        yield broker
    finally:
        broker.stop()
