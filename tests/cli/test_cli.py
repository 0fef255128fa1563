"""The zcpark command: the §7 subcommands exist; one not built says so and exits 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zcpark.cli import NOT_BUILT, main

SECTION_7 = [
    "demo",
    "server",
    "edge",
    "simulate",
    "db",
    "parks",
    "users",
    "gateways",
    "forecast",
    "dispatch",
    "report",
]


def _zcpark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcpark", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_section_7_subcommand() -> None:
    proc = _zcpark("--help")
    assert proc.returncode == 0
    for name in SECTION_7:
        assert f"    {name}" in proc.stdout, name


def test_unbuilt_subcommand_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a subcommand whose issue has not landed has no entry in COMMANDS
    monkeypatch.setattr("zcpark.cli.COMMANDS", {})
    code = main(
        [
            "report",
            "--park",
            "huolingol",
            "--month",
            "2026-10",
            "--format",
            "html",
            "--out",
            "x.html",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"zcpark report: {NOT_BUILT}"


def test_bad_arguments_exit_2_without_traceback() -> None:
    proc = _zcpark("dispatch", "solve")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "SCENARIO.json" in proc.stderr
