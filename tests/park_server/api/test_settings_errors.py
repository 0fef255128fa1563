"""Settings from the environment: a bad value is exit 2 with one line naming the variable and the
reason, never a traceback and never the value (it may be a secret); the instance id's default."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from park_server.cli import server_settings, uvicorn_options
from park_server.ingest.mqtt_link import client_id
from park_server.settings import Settings, get_settings
from zcpark.cli import main


def test_a_short_secret_key_is_exit_2_on_one_line_without_the_value() -> None:
    env = {
        **os.environ,
        "ZCPARK_SECRET_KEY": "short-and-secret",
        "ZCPARK_DATABASE_URL": "sqlite://",
    }
    r = subprocess.run(
        [sys.executable, "-m", "zcpark", "server"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "zcpark server: ZCPARK_SECRET_KEY: String should have at least 32 characters"
    ]
    assert "short-and-secret" not in r.stderr + r.stdout


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ZCPARK_TOKEN_MINUTES", "-5", "Input should be greater than 0"),
        ("ZCPARK_TOKEN_MINUTES", "0", "Input should be greater than 0"),
        ("ZCPARK_TOKEN_MINUTES", "soon", "Input should be a valid integer"),
        ("ZCPARK_MAX_BODY_BYTES", "-1", "Input should be greater than 0"),
        ("ZCPARK_DISPATCH_INTERVAL_S", "0", "Input should be greater than 0"),
        ("ZCPARK_TRUSTED_PROXIES", "10.0.0.1,proxy.local", "not an IP address or network"),
        ("ZCPARK_INSTANCE_ID", "a b/c", "String should match pattern"),
    ],
)
def test_bad_settings_are_exit_2_naming_the_variable(
    name: str,
    value: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["server"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"zcpark server: {name}: {reason}"), err
    assert len(value) < 3 or value not in err[0]


def test_good_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZCPARK_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    monkeypatch.setenv("ZCPARK_INSTANCE_ID", "plant-a.2")
    monkeypatch.setenv("ZCPARK_MAX_BODY_BYTES", "1048576")
    s = Settings.from_env()
    assert s.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    assert s.instance_id == "plant-a.2" and s.max_body_bytes == 1_048_576
    assert uvicorn_options(s) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.1", "192.168.0.0/16"],
    }
    assert Settings().max_body_bytes == 8 * 1024 * 1024 and Settings().trusted_proxies == []


def test_the_instance_id_defaults_to_host_and_port_and_names_the_mqtt_client() -> None:
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:50]
    assert server_settings(Settings(), 8000).instance_id == f"{host}-8000"
    assert server_settings(Settings(), 8001).instance_id == f"{host}-8001"  # two on one host
    assert server_settings(Settings(instance_id="plant-a"), 8000).instance_id == "plant-a"
    assert client_id("plant-a") == "zcpark-server-plant-a"
    assert client_id(None) != client_id(None)  # an app built without an id: random, as before
