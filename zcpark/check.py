"""``zcpark check FILE...``: validate configuration files before they go on a gateway or server.

The kind of each file is told by its content: a park file has ``assets``, a gateway file has
``gateway``, a device profile has ``points``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import ConfigError, load_gateway, load_park, load_profile
from config.yamlio import read_yaml


def check_file(path: Path) -> str:
    """Validate one file; return a one-line summary or raise ConfigError."""
    data, _ = read_yaml(path)
    if isinstance(data, dict) and "gateway" in data:
        gw = load_gateway(path)
        return f"gateway {gw.gateway} of park {gw.park}: {len(gw.devices)} devices"
    if isinstance(data, dict) and "points" in data:
        profile = load_profile(path)
        return f"device profile {profile.name}: {len(profile.points)} points"
    if isinstance(data, dict) and "assets" in data:
        park = load_park(path)
        return f"park {park.id}: {len(park.assets)} assets, {len(park.meters)} meters"
    raise ConfigError(
        path, "(top level)", "not a park (assets), gateway (gateway) or profile (points)"
    )


def run(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            print(f"{name}: ok: {check_file(Path(name))}")
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            failed += 1
    return 2 if failed else 0
