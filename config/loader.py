"""Loading configuration files into typed models, with cross-file checks.

``load_park``, ``load_gateway`` and ``load_profile`` either return a frozen model or raise a
:class:`ConfigError` naming file, field and reason.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from config.base import to_config_error
from config.errors import ConfigError
from config.factors import load_factors
from config.gateway import Gateway, MqttBus
from config.park import Park
from config.profile import DeviceProfile
from config.tariff import Tariff
from config.yamlio import Lines, line_of, read_yaml

CONFIG_DIR = Path(__file__).resolve().parent
DEVICES_DIR = CONFIG_DIR / "devices"
PARKS_DIR = CONFIG_DIR / "parks"
GATEWAYS_DIR = CONFIG_DIR / "gateways"

M = TypeVar("M", bound=BaseModel)


def _parse(path: Path, model: type[M]) -> tuple[M, Lines]:
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "(top level)", "expected a mapping of keys to values")
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise to_config_error(path, exc, lines) from None


def _fail(path: Path, lines: Lines, loc: tuple[str | int, ...], reason: str) -> ConfigError:
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else part)
    return ConfigError(path, field, reason, line_of(lines, loc))


def resolve_profile_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A bare name means config/devices/NAME.yaml; anything with a '/' or '.yaml' is a path."""
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        candidate = Path(name_or_path)
        if not candidate.is_absolute() and relative_to is not None:
            beside = relative_to.parent / candidate
            if beside.exists():
                return beside
        return candidate
    return DEVICES_DIR / f"{name_or_path}.yaml"


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load a device profile by name (config/devices/NAME.yaml) or path."""
    path = name_or_path if isinstance(name_or_path, Path) else resolve_profile_path(name_or_path)
    return _load_profile(path.resolve())


@cache
def _load_profile(path: Path) -> DeviceProfile:
    profile, lines = _parse(path, DeviceProfile)
    if profile.name != path.stem:
        raise _fail(
            path, lines, ("name",), f"{profile.name!r} must equal the file name {path.stem!r}"
        )
    return profile


def _profile_for(ref: str, owner: Path, lines: Lines, loc: tuple[str | int, ...]) -> DeviceProfile:
    path = resolve_profile_path(ref, owner)
    if not path.exists():
        known = ", ".join(p.stem for p in shipped_profiles())
        raise _fail(owner, lines, loc, f"no device profile {ref!r} (shipped: {known})")
    return load_profile(path)


def load_park(path: str | Path) -> Park:
    """Load a park file and check it against the profiles and factor tables it names."""
    path = Path(path)
    park, lines = _parse(path, Park)
    factors = load_factors()
    if isinstance(park.tariff, str) and park.tariff not in factors.tariffs:
        raise _fail(
            path,
            lines,
            ("tariff",),
            f"no tariff {park.tariff!r} in config/factors/tariffs.yaml "
            f"(known: {', '.join(factors.tariffs)})",
        )
    ef = park.emission_factor
    for key, region in (("region", ef.region), ("market_region", ef.market_region)):
        if region not in factors.grid:
            raise _fail(
                path,
                lines,
                ("emission_factor", key),
                f"no grid factor region {region!r} (known: {', '.join(factors.grid)})",
            )
    if ef.year not in factors.grid[ef.region]:
        years = ", ".join(str(y) for y in sorted(factors.grid[ef.region]))
        raise _fail(
            path,
            lines,
            ("emission_factor", "year"),
            f"no {ef.region} factor for {ef.year} ({years})",
        )
    if park.holiday_calendar not in factors.holidays:
        raise _fail(
            path,
            lines,
            ("holiday_calendar",),
            f"no calendar {park.holiday_calendar!r} in config/factors/holidays.yaml "
            f"(known: {', '.join(factors.holidays)})",
        )
    for i, meter in enumerate(park.meters):
        _profile_for(meter.profile, path, lines, ("meters", i, "profile"))
    return park


def park_tariff(park: Park) -> Tariff:
    """The park's tariff object, whether named in the factor tables or written inline."""
    return load_factors().tariffs[park.tariff] if isinstance(park.tariff, str) else park.tariff


def load_gateway(path: str | Path, park: Park | None = None) -> Gateway:
    """Load a gateway file; with ``park``, also check that its meters belong to that park."""
    path = Path(path)
    gateway, lines = _parse(path, Gateway)
    for i, device in enumerate(gateway.devices):
        if isinstance(gateway.bus(device.bus), MqttBus):
            continue
        assert device.profile is not None  # checked by the model
        _profile_for(device.profile, path, lines, ("devices", i, "profile"))
    if park is not None:
        if gateway.park != park.id:
            raise _fail(path, lines, ("park",), f"{gateway.park!r} is not park {park.id!r}")
        known = {m.id for m in park.meters}
        for i, device in enumerate(gateway.devices):
            if device.meter not in known:
                raise _fail(
                    path,
                    lines,
                    ("devices", i, "meter"),
                    f"park {park.id} has no meter {device.meter!r}",
                )
    return gateway


def gateway_profiles(gateway: Gateway, path: str | Path) -> dict[str, DeviceProfile]:
    """The profile of every Modbus device of ``gateway``, keyed by meter."""
    owner = Path(path)
    out: dict[str, DeviceProfile] = {}
    for device in gateway.devices:
        if device.profile is not None:
            out[device.meter] = load_profile(resolve_profile_path(device.profile, owner))
    return out


def shipped_profiles() -> list[Path]:
    return sorted(DEVICES_DIR.glob("*.yaml"))


def shipped_parks() -> list[Path]:
    return sorted(PARKS_DIR.glob("*.yaml"))


def shipped_gateways() -> list[Path]:
    return sorted(GATEWAYS_DIR.glob("*.yaml"))
