"""Broken configuration files give one line naming the file, the field and the reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from config import ConfigError, load_gateway, load_park, load_profile

PARK = """\
id: testpark
name: Test park
location: {lat: 45.5, lon: 119.6}
grid: {import_limit_kw: 1000}
tariff: mengxi-large-industry
enterprises:
  - {id: smelter, name: Smelter, meters: [bess-meter]}
assets:
  - {id: bess-1, kind: storage, energy_kwh: 200, power_kw: 100, soc_min: 0.1, soc_max: 0.9}
  - {id: pot-1, kind: flexible_load, min_kw: 10, max_kw: 20, ramp_kw_per_interval: 5}
meters:
  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}
"""

PROFILE = """\
name: {name}
manufacturer: Test
model: T1
word_order: big
points:
  - {quantity: active_power_kw, table: holding, address: 100, type: float32, scale: 0.001}
  - {quantity: voltage_v, table: holding, address: 102, type: float32}
"""

GATEWAY = """\
gateway: gw-1
park: testpark
uplink: {mqtt: "mqtt://127.0.0.1:1883"}
buffer: {path: ./buf.sqlite, max_mb: 10}
buses:
  - {name: lan, kind: modbus_tcp, host: 127.0.0.1, port: 1502}
  - {name: broker, kind: mqtt, url: "mqtt://127.0.0.1:1883"}
devices:
  - {meter: bess-meter, bus: lan, unit_id: 1, profile: sma-storage-pcs}
  - {meter: met, bus: broker, topic: site/met, fields: {irradiance_wm2: /ghi}}
"""

# (kind, base text, (old, new) edit, expected field, words expected in the reason)
CASES = [
    ("park", PARK, ("grid: {import_limit_kw: 1000}\n", ""), "grid", "required"),
    (
        "park",
        PARK,
        ("import_limit_kw: 1000", "import_limit_kw: lots"),
        "grid.import_limit_kw",
        "number",
    ),
    ("park", PARK, ("name: Test park", "name: Test park\ncolour: red"), "colour", "unknown key"),
    ("park", PARK, ("asset: bess-1,", "asset: bess-9,"), "meters[0].asset", "no asset 'bess-9'"),
    (
        "park",
        PARK,
        ("profile: sma-storage-pcs", "profile: no-such-meter"),
        "meters[0].profile",
        "no device profile",
    ),
    (
        "park",
        PARK,
        ("soc_min: 0.1, soc_max: 0.9", "soc_min: 0.9, soc_max: 0.2"),
        "assets[0].soc_min",
        "below soc_max",
    ),
    (
        "park",
        PARK,
        ("meters: [bess-meter]", "meters: [ghost]"),
        "enterprises[0].meters[0]",
        "no meter 'ghost'",
    ),
    (
        "park",
        PARK,
        ("ramp_kw_per_interval: 5}", "ramp_kw_per_interval: 5, daily_energy_kwh: 9999}"),
        "assets[1].daily_energy_kwh",
        "cannot be met",
    ),
    (
        "park",
        PARK,
        ("tariff: mengxi-large-industry", "tariff: free-power"),
        "tariff",
        "no tariff 'free-power'",
    ),
    (
        "park",
        PARK,
        ("name: Test park", "name: Test park\ntimezone: Mars/Olympus"),
        "timezone",
        "IANA",
    ),
    ("park", PARK, ("kind: storage", "kind: flywheel"), "assets[0]", "flywheel"),
    (
        "park",
        PARK,
        ("grid: {import_limit_kw: 1000}", "grid: {import_limit_kw: 1000, export_limit_kw: 5}"),
        "grid.export_limit_kw",
        "anti_reverse_flow",
    ),
    (
        "park",
        PARK,
        (
            "tariff: mengxi-large-industry",
            "tariff: {periods: [{name: all, price_per_kwh: 0.5, hours: ['00:00-23:00']}]}",
        ),
        "tariff.periods",
        "23:00 is in no period",
    ),
    (
        "profile",
        PROFILE,
        ("word_order: big", "word_order: middle"),
        "word_order",
        "'big' or 'little'",
    ),
    ("profile", PROFILE, ("address: 102,", "address: 101,"), "points[1].address", "overlap"),
    (
        "profile",
        PROFILE,
        ("quantity: voltage_v", "quantity: voltage_kv"),
        "points[1].quantity",
        "unknown quantity",
    ),
    ("profile", PROFILE, ("type: float32}", "type: float16}"), "points[1].type", "float32"),
    (
        "profile",
        PROFILE,
        ("address: 100,", "address: 0x10G,"),
        "points[0].address",
        "not an integer",
    ),
    ("profile", PROFILE, ("name: {name}", "name: other-name"), "name", "file name"),
    ("profile", PROFILE, ("scale: 0.001}", "scale: 0}"), "points[0].scale", "must not be 0"),
    (
        "profile",
        PROFILE,
        ("quantity: voltage_v", "quantity: active_power_kw"),
        "points[1].quantity",
        "already read",
    ),
    (
        "park",
        PARK,
        (
            "  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}\n",
            "  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}\n"
            "  - {id: bess-meter-2, asset: bess-1, profile: sma-storage-pcs}\n",
        ),
        "meters[1].duty",
        "has a primary meter already ('bess-meter')",
    ),
    (
        "park",
        PARK,
        (
            "  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}\n",
            "  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}\n"
            "  - {id: pot-check, asset: pot-1, profile: sma-storage-pcs, duty: check}\n",
        ),
        "meters[1].duty",
        "no primary meter on asset 'pot-1'",
    ),
    ("gateway", GATEWAY, ("bus: lan,", "bus: plant,"), "devices[0].bus", "no bus named 'plant'"),
    (
        "gateway",
        GATEWAY,
        ('mqtt: "mqtt://127.0.0.1:1883"}', 'mqtt: "http://127.0.0.1"}'),
        "uplink.mqtt",
        "mqtt://",
    ),
    (
        "gateway",
        GATEWAY,
        ("irradiance_wm2: /ghi", "irradiance_wm2: ghi"),
        "devices[1].fields.irradiance_wm2",
        "JSON pointer",
    ),
    ("gateway", GATEWAY, ("unit_id: 1, ", ""), "devices[0].unit_id", "required"),
    ("gateway", GATEWAY, ("port: 1502}", "port: 70000}"), "buses[0].port", "65535"),
    (
        "gateway",
        GATEWAY,
        ("profile: sma-storage-pcs}", "profile: sma-storage-pcs, topic: x}"),
        "devices[0].topic",
        "only for devices on an mqtt bus",
    ),
    (
        "gateway",
        GATEWAY,
        ("buses:\n", "buses:\n  - {name: lan, kind: modbus_tcp, host: h}\n"),
        "buses[1].name",
        "defined twice",
    ),
]


def _write(tmp_path: Path, kind: str, text: str) -> Path:
    name = {"park": "testpark.yaml", "profile": "test-meter.yaml", "gateway": "gw-1.yaml"}[kind]
    path = tmp_path / name
    path.write_text(text.replace("{name}", "test-meter") if kind == "profile" else text)
    return path


def _load(kind: str, path: Path) -> object:
    if kind == "park":
        return load_park(path)
    if kind == "profile":
        return load_profile(path)
    return load_gateway(path)


@pytest.mark.parametrize("kind", ["park", "profile", "gateway"])
def test_unbroken_bases_load(tmp_path: Path, kind: str) -> None:
    base = {"park": PARK, "profile": PROFILE, "gateway": GATEWAY}[kind]
    assert _load(kind, _write(tmp_path, kind, base)) is not None


@pytest.mark.parametrize(
    ("kind", "base", "edit", "field", "reason"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_broken_file_names_file_field_and_reason(
    tmp_path: Path, kind: str, base: str, edit: tuple[str, str], field: str, reason: str
) -> None:
    assert edit[0] in base, "the edit must change the file"
    path = _write(tmp_path, kind, base.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError) as info:
        _load(kind, path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert info.value.field == field, message
    assert reason in message, message
    assert info.value.line is not None and info.value.line >= 1, message


def test_error_points_at_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "park", PARK.replace("asset: bess-1,", "asset: bess-9,"))
    with pytest.raises(ConfigError) as info:
        load_park(path)
    assert (
        info.value.line
        == PARK.splitlines().index("  - {id: bess-meter, asset: bess-1, profile: sma-storage-pcs}")
        + 1
    )


def test_yaml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nassets: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: \(syntax\): not valid YAML"):
        load_park(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_park(tmp_path / "absent.yaml")


def test_gateway_meters_must_belong_to_the_park(tmp_path: Path) -> None:
    park = load_park(_write(tmp_path, "park", PARK))
    path = _write(tmp_path, "gateway", GATEWAY)
    with pytest.raises(ConfigError) as info:
        load_gateway(path, park=park)
    assert info.value.field == "devices[1].meter"
    assert "no meter 'met'" in str(info.value)


def test_cli_check_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "profile", PROFILE.replace("word_order: big", "word_order: middle"))
    proc = subprocess.run(
        [sys.executable, "-m", "zcpark", "check", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "word_order" in lines[0] and str(path) in lines[0]
    ok = _write(tmp_path, "park", PARK)
    proc = subprocess.run(
        [sys.executable, "-m", "zcpark", "check", str(ok)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "park testpark: 2 assets, 1 meters" in proc.stdout


def test_the_reason_of_a_wrong_value_shows_the_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "gateway", textwrap.dedent(GATEWAY).replace("max_mb: 10", "max_mb: -3"))
    with pytest.raises(ConfigError) as info:
        load_gateway(path)
    assert info.value.field == "buffer.max_mb"
    assert "-3" in str(info.value)
