"""Applying the dispatcher's setpoints within the device's safe limits.

A setpoints message (DESIGN.md §5, with the ``schedule`` of docs/edge.md) is a plan: its
``setpoints`` hold until ``valid_until``, then each ``schedule`` entry holds its setpoints over
its own [``valid_from``, ``valid_until``). The newest message taken (by receipt) replaces the
whole plan. At any moment a setpoint takes the value of the first interval of the plan that
covers the moment and names it; when none does (the plan ran out, or has a gap there), the
profile's ``safe_default`` is written and the status says so.

With a setpoint key (``uplink.setpoint_key``), a message whose ``signature`` is missing or is
not the HMAC-SHA256 of its canonical JSON with that key (config/signing.py) is refused whole
before anything in it is read, and counted in ``setpoints_signature_refused``.

Every problem is refused with a reason and counted, never dropped silently: a message that is
not an object, lacks ``setpoints`` or has a time without a zone is refused whole, as is one whose
every interval is over (the plan in force stays); within a message, a schedule entry with a bad
or empty interval, or overlapping an earlier entry, is refused, and so is a setpoint for an
unknown meter or name, outside the profile's min..max, or given twice in one interval. A value
in force is written, and written again every ``rewrite_s``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from config.signing import signature_problem
from edge_agent.modbus import DeviceError, ModbusDevice

log = logging.getLogger("zcpark.edge.setpoints")

#: schedule entries taken from one message: two days of quarter-hours
MAX_SCHEDULE = 192

Key = tuple[str, str]  # (meter, setpoint name)


@dataclass(frozen=True)
class Interval:
    valid_from: float  # epoch seconds; -inf for the message's own setpoints
    valid_until: float  # epoch seconds, exclusive
    values: dict[Key, float]

    def covers(self, t: float) -> bool:
        return self.valid_from <= t < self.valid_until


@dataclass(frozen=True)
class Plan:
    plan_id: str
    intervals: tuple[Interval, ...]  # the message's own first, then the schedule in its order

    def at(self, key: Key, t: float) -> Interval | None:
        """The interval whose value ``key`` takes at ``t``, or None."""
        return next((iv for iv in self.intervals if key in iv.values and iv.covers(t)), None)

    def holds_until(self, key: Key, t: float) -> float | None:
        """Until when the plan holds ``key`` without a gap from ``t`` on [epoch s]."""
        iv = self.at(key, t)
        if iv is None:
            return None
        end = iv.valid_until
        while (nxt := self.at(key, end)) is not None:
            end = nxt.valid_until
        return end


def parse_utc(text: Any, name: str) -> float:
    """An ISO 8601 time with a zone (``…Z`` or an offset) as epoch seconds; ValueError naming
    ``name`` otherwise. A time without a zone is refused: the gateway's own zone is no guess."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be an ISO 8601 time in UTC, not {text!r}")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise ValueError(f"{name} {text!r} has no time zone (expected UTC with Z)")
    return dt.timestamp()


def _overlap(a: Interval, b: Interval) -> bool:
    return a.valid_from < b.valid_until and b.valid_from < a.valid_until


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SetpointManager:
    def __init__(
        self,
        devices: dict[str, ModbusDevice],
        event: Callable[[str, str], None],
        clock: Callable[[], float] = time.time,
        rewrite_s: float = 10.0,
        key: str | None = None,
    ) -> None:
        self.devices = {m: d for m, d in devices.items() if d.profile.setpoints}
        #: the gateway's setpoint key (uplink.setpoint_key): set, only messages signed with it
        #: are taken (config/signing.py); None, unsigned messages are taken (and a warning says so)
        self.key = bytes.fromhex(key) if key else None
        if self.key is None and self.devices:
            log.warning(
                "uplink.setpoint_key is not set: setpoints are taken unsigned from anyone who "
                "may publish on this gateway's setpoints topic"
            )
        self.signature_refused = 0
        self.event = event
        self.clock = clock
        self.rewrite_s = rewrite_s
        self.plan: Plan | None = None
        self.written: dict[Key, tuple[float, float, str]] = {}  # value, at, mode
        self.refused = 0
        self.accepted = 0

    def _refuse(self, reason: str) -> None:
        self.refused += 1
        self.event("setpoint_refused", reason)
        log.warning("setpoint refused: %s", reason)

    def receive(self, payload: bytes) -> list[str]:
        """Take a setpoints message as the plan in force; return the reasons of what was refused."""
        try:
            msg = json.loads(payload)
            if not isinstance(msg, dict):
                raise ValueError("a setpoints message must be a JSON object")
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            reason = f"malformed setpoints message: {exc}"
            self._refuse(reason)
            return [reason]
        # checked before anything of the message is believed, its plan id included
        problem = signature_problem(msg, self.key) if self.key is not None else None
        if problem is not None:
            self.signature_refused += 1
            reason = f"setpoints message refused: {problem}"
            self._refuse(reason)
            return [reason]
        try:
            plan_id = str(msg.get("plan_id", ""))
            valid_until = parse_utc(msg.get("valid_until"), "valid_until")
            items = msg.get("setpoints")
            if not isinstance(items, list):
                raise ValueError(f"setpoints must be a list, not {items!r}")
            schedule = msg.get("schedule", [])
            if not isinstance(schedule, list):
                raise ValueError("schedule must be a list")
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            reason = f"malformed setpoints message: {exc}"
            self._refuse(reason)
            return [reason]

        refused: list[str] = []
        first, problems = self._values(items, "")
        refused += problems
        intervals = [Interval(-math.inf, valid_until, first)]
        taken: list[tuple[int, Interval]] = []  # (index in the message, interval)
        for i, entry in enumerate(schedule[:MAX_SCHEDULE]):
            where = f"plan {plan_id} schedule[{i}]"
            try:
                iv, problems = self._entry(entry, f"{where}: ")
            except ValueError as exc:
                refused.append(f"{where}: {exc}")
                continue
            clash = next((j for j, t in taken if _overlap(t, iv)), None)
            if clash is not None:
                span = f"[{_iso(iv.valid_from)}, {_iso(iv.valid_until)})"
                refused.append(f"{where}: {span} overlaps schedule[{clash}]")
                continue
            refused += problems
            taken.append((i, iv))
        if len(schedule) > MAX_SCHEDULE:
            refused.append(
                f"plan {plan_id}: schedule has {len(schedule)} entries; only the first "
                f"{MAX_SCHEDULE} are taken"
            )
        intervals += [iv for _, iv in taken]

        now = self.clock()
        ends = max(iv.valid_until for iv in intervals)
        if ends <= now:  # a stale message must not replace a plan that still holds
            reason = f"plan {plan_id} ran out at {_iso(ends)}: ignored"
            self._refuse(reason)
            return [reason]
        for reason in refused:
            self._refuse(reason)
        self.accepted += sum(len(iv.values) for iv in intervals)
        self.plan = Plan(plan_id, tuple(intervals))
        return refused

    def _entry(self, entry: Any, where: str) -> tuple[Interval, list[str]]:
        """One schedule entry; ValueError when the entry as a whole is unusable."""
        if not isinstance(entry, dict):
            raise ValueError(f"a schedule entry must be an object, not {entry!r}")
        valid_from = parse_utc(entry.get("valid_from"), "valid_from")
        valid_until = parse_utc(entry.get("valid_until"), "valid_until")
        if not valid_from < valid_until:
            raise ValueError(
                f"valid_from must be before valid_until ({entry.get('valid_from')} is not "
                f"before {entry.get('valid_until')})"
            )
        items = entry.get("setpoints")
        if not isinstance(items, list):
            raise ValueError("setpoints must be a list")
        values, problems = self._values(items, where)
        return Interval(valid_from, valid_until, values), problems

    def _values(self, items: list[Any], where: str) -> tuple[dict[Key, float], list[str]]:
        """The setpoints of one interval that can be taken, and the reasons of the others."""
        values: dict[Key, float] = {}
        problems: list[str] = []
        for item in items:
            key, value_or_reason = self._take(item)
            if key is None:
                problems.append(f"{where}{value_or_reason}")
            elif key in values:
                problems.append(f"{where}{key[0]}.{key[1]} given twice; the first is kept")
            else:
                assert isinstance(value_or_reason, float)
                values[key] = value_or_reason
        return values, problems

    def _take(self, item: Any) -> tuple[Key | None, float | str]:
        """(key, value) of a setpoint that can be written, or (None, the reason it cannot)."""
        if not isinstance(item, dict):
            return None, "a setpoint must be an object"
        meter, name, value = item.get("meter"), item.get("name"), item.get("value")
        device = self.devices.get(meter) if isinstance(meter, str) else None
        if device is None:
            return None, f"meter {meter!r} has no writable setpoints on this gateway"
        try:
            sp = device.profile.setpoint(str(name))
        except KeyError:
            return None, f"{meter}: no setpoint {name!r} in profile {device.profile.name}"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return None, f"{meter}.{name}: value {value!r} is not a number"
        if not sp.min <= value <= sp.max:
            return (
                None,
                f"{meter}.{name}: {value} is outside the profile's limits [{sp.min}, {sp.max}]",
            )
        return (str(meter), sp.name), float(value)

    def target(self, meter: str, name: str) -> tuple[float, str]:
        """The value to hold now and why: ('plan' while the plan covers now, 'safe_default')."""
        iv = self.plan.at((meter, name), self.clock()) if self.plan else None
        if iv is not None:
            return iv.values[(meter, name)], "plan"
        return self.devices[meter].profile.setpoint(name).safe_default, "safe_default"

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
        now = self.clock()
        out: dict[str, Any] = {}
        for meter, device in self.devices.items():
            for sp in device.profile.setpoints:
                value, mode = self.target(meter, sp.name)
                until = self.plan.holds_until((meter, sp.name), now) if self.plan else None
                out[f"{meter}.{sp.name}"] = {
                    "mode": mode,
                    "value": value,
                    "plan_id": self.plan.plan_id if self.plan and mode == "plan" else None,
                    "holds_until": _iso(until) if until is not None else None,
                }
        return {
            "setpoints": out,
            "setpoints_refused": self.refused,
            "setpoints_signature_refused": self.signature_refused,
            "setpoints_signed": self.key is not None,
        }
