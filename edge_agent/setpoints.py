"""Applying the dispatcher's setpoints within the device's safe limits.

A setpoint message (DESIGN.md §5) is checked as a whole and per setpoint: an expired plan is
ignored; a setpoint for an unknown meter or name, or outside the profile's min..max, is refused
and counted. A value in force is written, and written again every ``rewrite_s``; when none is in
force (the plan expired, the server is gone) the profile's ``safe_default`` is written and the
status says so.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge_agent.modbus import DeviceError, ModbusDevice

log = logging.getLogger("zcpark.edge.setpoints")


@dataclass
class InForce:
    value: float
    valid_until: float  # epoch seconds
    plan_id: str


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        raise ValueError("valid_until must be an ISO 8601 time")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class SetpointManager:
    def __init__(
        self,
        devices: dict[str, ModbusDevice],
        event: Callable[[str, str], None],
        clock: Callable[[], float] = time.time,
        rewrite_s: float = 10.0,
    ) -> None:
        self.devices = {m: d for m, d in devices.items() if d.profile.setpoints}
        self.event = event
        self.clock = clock
        self.rewrite_s = rewrite_s
        self.in_force: dict[tuple[str, str], InForce] = {}
        self.written: dict[tuple[str, str], tuple[float, float, str]] = {}  # value, at, mode
        self.refused = 0
        self.accepted = 0

    def receive(self, payload: bytes) -> list[str]:
        """Take a setpoints message; return the reasons of what was refused."""
        refused: list[str] = []
        try:
            msg = json.loads(payload)
            plan_id = str(msg.get("plan_id", ""))
            valid_until = _epoch(msg.get("valid_until"))
            items = msg["setpoints"]
            if not isinstance(items, list):
                raise ValueError("setpoints must be a list")
        except (ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            self.refused += 1
            reason = f"malformed setpoints message: {exc}"
            self.event("setpoint_refused", reason)
            return [reason]
        if valid_until <= self.clock():
            self.refused += 1
            reason = f"plan {plan_id} expired at {msg.get('valid_until')}: ignored"
            self.event("setpoint_refused", reason)
            return [reason]
        for item in items:
            problem = self._take(item, valid_until, plan_id)
            if problem:
                reason = problem
                refused.append(reason)
                self.refused += 1
                self.event("setpoint_refused", reason)
                log.warning("setpoint refused: %s", reason)
            else:
                self.accepted += 1
        return refused

    def _take(self, item: Any, valid_until: float, plan_id: str) -> str | None:
        if not isinstance(item, dict):
            return "a setpoint must be an object"
        meter, name, value = item.get("meter"), item.get("name"), item.get("value")
        device = self.devices.get(meter) if isinstance(meter, str) else None
        if device is None:
            return f"meter {meter!r} has no writable setpoints on this gateway"
        try:
            sp = device.profile.setpoint(str(name))
        except KeyError:
            return f"{meter}: no setpoint {name!r} in profile {device.profile.name}"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return f"{meter}.{name}: value {value!r} is not a number"
        if not sp.min <= value <= sp.max:
            return f"{meter}.{name}: {value} is outside the profile's limits [{sp.min}, {sp.max}]"
        self.in_force[(str(meter), sp.name)] = InForce(float(value), valid_until, plan_id)
        return None

    def target(self, meter: str, name: str) -> tuple[float, str]:
        """The value to hold now and why: ('plan' while valid, 'safe_default' otherwise)."""
        device = self.devices[meter]
        sp = device.profile.setpoint(name)
        f = self.in_force.get((meter, name))
        if f is not None and f.valid_until > self.clock():
            return f.value, "plan"
        return sp.safe_default, "safe_default"

    async def apply(self) -> None:
        now = self.clock()
        for meter, device in self.devices.items():
            if not device.state.online:
                continue
            for sp in device.profile.setpoints:
                value, mode = self.target(meter, sp.name)
                last = self.written.get((meter, sp.name))
                if last and last[0] == value and last[2] == mode and now - last[1] < self.rewrite_s:
                    continue
                try:
                    await device.write_setpoint(sp, value)
                except DeviceError as exc:
                    log.warning("writing %s.%s = %s failed: %s", meter, sp.name, value, exc)
                    continue
                if last is None or last[2] != mode:
                    self.event("setpoint_mode", f"{meter}.{sp.name}: {mode} ({value})")
                self.written[(meter, sp.name)] = (value, now, mode)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for meter, device in self.devices.items():
            for sp in device.profile.setpoints:
                value, mode = self.target(meter, sp.name)
                f = self.in_force.get((meter, sp.name))
                out[f"{meter}.{sp.name}"] = {
                    "mode": mode,
                    "value": value,
                    "plan_id": f.plan_id if f and mode == "plan" else None,
                }
        return {"setpoints": out, "setpoints_refused": self.refused}
