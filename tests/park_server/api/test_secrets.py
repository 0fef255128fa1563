"""Secrets (issue #14): a broker password in a URL, a weather feed's API key in its query string
and a gateway key never reach a log line or an API answer; the JWT secret is required from the
environment or a file on PostgreSQL, and a SQLite install makes one once beside its database so
that tokens outlive a restart.

Before this change: the MQTT link logged its URL with the password, the weather job and
``/parks/{park}/weather`` showed the feed's URL with its key, a bad gateway URL's error echoed the
password, and every start of ``zcpark server`` signed tokens with a new random secret (so a
restart signed everyone out, and two instances refused each other's tokens)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from zctest_edge import write_gateway
from zctest_server import make_server

from config import Park, load_gateway
from config.errors import ConfigError
from config.park import WeatherForecastSource
from config.redact import redact
from park_server.app import create_app
from park_server.db.tables import ParkRow
from park_server.jobs import weather as weather_job
from park_server.settings import SECRET_SUFFIX, Settings, get_settings, with_server_secret
from park_server.state import ServerState
from tests.conftest import free_port
from zcpark.cli import main

API_KEY = "K3yOfTheWeatherFeed77"
BROKER_PASSWORD = "Br0kerPassw0rdNeverLogged"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mqtt://gw:s3cret@host:1883", "mqtt://gw:***@host:1883"),
        ("mqtts://u:p%40ss@h/", "mqtts://u:***@h/"),
        (
            "https://a.example/f.csv?lat=45&apikey=abc&x=1",
            "https://a.example/f.csv?lat=45&apikey=***&x=1",
        ),
        ("http://h/f?access_token=t0k&X-Api-Key=zz", "http://h/f?access_token=***&X-Api-Key=***"),
        ("key zcgk_0123456789abcdef_abcdefghijklmnop ok", "key *** ok"),
        (
            "mqtt://127.0.0.1:1883 and http://h/f?lat=1",
            "mqtt://127.0.0.1:1883 and http://h/f?lat=1",
        ),
    ],
)
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_a_feed_key_and_a_broker_password_never_reach_logs_or_answers(
    tmp_path: Path, secured_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secured_broker.password_file.write_text("")  # nobody may connect: the server is refused
    secured_broker.acl_file.write_text("")
    secured_broker.start()
    url = f"mqtt://zcpark-server:{BROKER_PASSWORD}@127.0.0.1:{secured_broker.port}"
    server = make_server(f"sqlite:///{tmp_path / 's.db'}", mqtt_url=url)
    feed = f"http://127.0.0.1:{free_port()}/forecast.csv?lat=45.5&apikey={API_KEY}"
    with Session(server.engine) as session:
        row = session.get(ParkRow, "huolingol")
        assert row is not None
        park = Park.model_validate_json(row.config_json)
        src = WeatherForecastSource(source="http", url=feed, every_minutes=15)
        row.config_json = park.model_copy(update={"weather_forecast": src}).model_dump_json()
        session.add(row)
        session.commit()
    caplog.set_level(logging.INFO)
    with server.client(background=True) as client:
        assert not client.app.state.mqtt.wait_connected(2)  # refused: a wrong user
        weather_job._last_poll.clear()
        weather_job.weather_job(ServerState(server.settings, server.engine))  # nothing listens
        auth = server.token(client, "ada")
        answers = [
            client.get(path, headers=auth).text
            for path in (
                "/api/v1/parks",
                "/api/v1/parks/huolingol",
                "/api/v1/parks/huolingol/weather",
                "/api/v1/parks/huolingol/gateways",
                "/api/v1/health",
            )
        ]
        wrong_key = "zcgk_0123456789abcdef_" + "x" * 43
        r = client.post(
            "/api/v1/ingest", json={"v": 1}, headers={"Authorization": f"Bearer {wrong_key}"}
        )
        assert r.status_code == 401
        answers.append(r.text)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused the connection" in logged and "zcpark-server:***@127.0.0.1" in logged
    assert "weather forecast http" in logged and "apikey=***" in logged
    assert "http://127.0.0.1" in answers[2] and "apikey=***" in answers[2]
    for secret in (API_KEY, BROKER_PASSWORD, wrong_key, server.keys["gw-hlgl-01"]):
        assert secret not in logged
        assert all(secret not in a for a in answers)


def test_a_bad_gateway_url_is_named_without_its_password(tmp_path: Path) -> None:
    path = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=f"mqtt://gw:{BROKER_PASSWORD}@127.0.0.1:port",
        devices=[{"meter": "m1", "bus": "lan", "unit_id": 1, "profile": "acrel-adl400"}],
    )
    with pytest.raises(ConfigError) as err:
        load_gateway(path)
    assert "has an invalid port" in str(err.value) and "gw:***@" in str(err.value)
    assert BROKER_PASSWORD not in str(err.value)


def test_postgres_without_a_secret_is_exit_2_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZCPARK_SECRET_KEY", raising=False)
    monkeypatch.delenv("ZCPARK_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("ZCPARK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        assert main(["server", "--port", "1"]) == 2
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err.strip().splitlines() == [
        "zcpark server: ZCPARK_SECRET_KEY: required (or ZCPARK_SECRET_KEY_FILE) when the "
        "database is not SQLite: every server instance must sign tokens with the same secret"
    ]


def test_the_secret_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZCPARK_SECRET_KEY", raising=False)
    monkeypatch.setenv("ZCPARK_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    secret = tmp_path / "jwt.secret"
    secret.write_text("s" * 40 + "\n")
    monkeypatch.setenv("ZCPARK_SECRET_KEY_FILE", str(secret))
    s = with_server_secret(Settings.from_env())
    assert s.secret_key == "s" * 40
    monkeypatch.setenv("ZCPARK_SECRET_KEY_FILE", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        assert main(["server", "--port", "1"]) == 2
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err.strip().splitlines() == [
        f"zcpark server: ZCPARK_SECRET_KEY_FILE: cannot read '{tmp_path / 'missing'}': "
        "No such file or directory"
    ]


def test_a_sqlite_install_keeps_its_secret_so_tokens_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "data" / "zcpark.db"
    db.parent.mkdir()
    server = make_server(f"sqlite:///{db}")  # users and parks
    monkeypatch.delenv("ZCPARK_SECRET_KEY", raising=False)
    monkeypatch.delenv("ZCPARK_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("ZCPARK_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("ZCPARK_RUN_SCHEDULER", "false")

    def started() -> Settings:  # what `zcpark server` does at each start
        return with_server_secret(Settings.from_env())

    first = started()
    key_file = Path(str(db) + SECRET_SUFFIX)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.secret_key == key_file.read_text().strip() and len(first.secret_key) >= 32
    with TestClient(create_app(first, server.engine, background=False)) as a:
        auth = server.token(a, "ada")
    second = started()  # the restart
    assert second.secret_key == first.secret_key
    with TestClient(create_app(second, server.engine, background=False)) as b:
        assert b.get("/api/v1/parks", headers=auth).status_code == 200
    # an in-memory database keeps the process's secret and writes no file
    memory = Settings(database_url="sqlite://")
    assert with_server_secret(memory).secret_key == memory.secret_key
    assert [p.name for p in db.parent.iterdir() if "secret" in p.name] == ["zcpark.db.secret-key"]
