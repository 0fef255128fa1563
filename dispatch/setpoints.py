"""Setpoints of a plan for the gateways: per meter, the kW of one interval (DESIGN.md §2 signs:
storage + discharge / − charge, a flexible load − its consumption).
"""

from __future__ import annotations

from typing import Any

from config import Park, load_profile


def setpoints_of(plan: dict[str, Any], park: Park, index: int = 0) -> dict[str, float]:
    """Setpoints per meter for interval ``index``: storage + discharge / - charge, flexible - kW."""
    out: dict[str, float] = {}
    series = plan["series"]
    for m in park.meters:
        if not any(s.name == "active_power_kw" for s in load_profile(m.profile).setpoints):
            continue  # a meter that cannot take a setpoint (e.g. the AC side of a rectifier)
        if m.asset in series["storage"]:
            s = series["storage"][m.asset]
            out[m.id] = float(s["discharge_kw"][index] - s["charge_kw"][index])
        elif m.asset in series["flexible_loads"]:
            out[m.id] = -float(series["flexible_loads"][m.asset]["kw"][index])
    return out
