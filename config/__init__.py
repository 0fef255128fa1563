"""Typed configuration of zcpark: parks, gateways, device profiles and factor tables.

Every file is parsed once into frozen pydantic models; after that no code reads raw dicts.
A bad file raises :class:`ConfigError`, whose one-line message names the file, the field and
the reason.
"""

from config.errors import ConfigError
from config.factors import Factors, load_factors
from config.gateway import Gateway
from config.loader import (
    CONFIG_DIR,
    load_gateway,
    load_park,
    load_profile,
    shipped_gateways,
    shipped_parks,
    shipped_profiles,
)
from config.park import Park
from config.profile import DeviceProfile
from config.quantities import QUANTITIES

__all__ = [
    "CONFIG_DIR",
    "QUANTITIES",
    "ConfigError",
    "DeviceProfile",
    "Factors",
    "Gateway",
    "Park",
    "load_factors",
    "load_gateway",
    "load_park",
    "load_profile",
    "shipped_gateways",
    "shipped_parks",
    "shipped_profiles",
]
