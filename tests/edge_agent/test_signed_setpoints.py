"""Signed setpoints (issue #14): a gateway with ``uplink.setpoint_key`` writes a device only from
a message signed with that key (HMAC-SHA256 over the canonical JSON); an unsigned, altered or
foreign-signed message is refused whole with a reason and counted, and the device is not written.
The device is a real pymodbus server; time is a fake clock.

Before this change the gateway took any message from anyone who could publish on its topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zctest_edge import FakeClock, SimThread, free_port, iso, write_gateway

from config import load_gateway, load_profile
from config.signing import canonical, signed
from edge_agent.agent import Agent
from edge_agent.simulate import DeviceSim

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()  # pinned
KEY = "5e" * 32
OTHER_KEY = "a1" * 32


def _message(value: float, plan: str = "p-1") -> dict[str, Any]:
    return {
        "plan_id": plan,
        "valid_until": iso(T0 + 900),
        "setpoints": [{"meter": "bess-1", "name": "active_power_kw", "value": value}],
        "schedule": [],
    }


def test_canonical_form_is_sorted_without_spaces_and_without_the_signature() -> None:
    msg = {"b": [1, 2.5], "a": "x", "signature": "f" * 64}
    assert canonical(msg) == b'{"a":"x","b":[1,2.5]}'
    # the same message spaced and ordered otherwise signs the same
    assert signed({"a": "x", "b": [1, 2.5]}, b"k") == signed(
        json.loads('{"b": [1, 2.5], "a": "x"}'), b"k"
    )


def test_only_messages_signed_with_the_gateways_key_reach_the_device(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    port = free_port()
    written: list[float] = []
    sim = DeviceSim(
        "bess-1",
        load_profile("sma-storage-pcs"),
        lambda: {"active_power_kw": 0.0},
        on_setpoint=lambda name, value: written.append(round(value, 3)),
    )
    st = SimThread()
    st.serve(sim, port)
    gw_path = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url="mqtt://127.0.0.1:1",  # messages are handed in
        devices=[
            {
                "meter": "bess-1",
                "bus": "lan",
                "port": port,
                "unit_id": 3,
                "profile": "sma-storage-pcs",
                "poll_interval_s": 0.5,
            }
        ],
    )
    text = gw_path.read_text().replace("  mqtt:", f"  setpoint_key: '{KEY}'\n  mqtt:", 1)
    gw_path.write_text(text)
    assert load_gateway(gw_path).uplink.setpoint_key == KEY
    agent = Agent(gw_path)
    sp = agent.setpoints
    sp.clock = clock
    assert sp.key == bytes.fromhex(KEY)

    altered = signed(_message(-300.0), bytes.fromhex(KEY))
    altered["setpoints"][0]["value"] = -1000.0  # changed on the way: the signature no longer fits
    offers = [
        (json.dumps(_message(-800.0)).encode(), "no signature"),
        (json.dumps(signed(_message(-700.0), bytes.fromhex(OTHER_KEY))).encode(), "does not match"),
        (json.dumps(altered).encode(), "does not match"),
        (json.dumps({**_message(-600.0), "signature": "zz"}).encode(), "not 64 hex digits"),
    ]

    async def scenario() -> list[tuple[str, float]]:
        await agent.devices["bess-1"].poll_once()
        modes = []
        for payload, why in offers:
            reasons = sp.receive(payload)
            assert len(reasons) == 1 and why in reasons[0], reasons
            await sp.apply()
            value, mode = sp.target("bess-1", "active_power_kw")
            modes.append((mode, value))
        good = json.dumps(signed(_message(-250.0, "p-2"), bytes.fromhex(KEY)), indent=2)
        assert sp.receive(good.encode()) == []  # spacing on the wire does not matter
        clock.advance(1)
        await sp.apply()
        modes.append(sp.target("bess-1", "active_power_kw")[::-1])
        for line in agent.lines.values():
            line.close()
        return modes

    try:
        modes = st.run(scenario(), timeout=60)
    finally:
        st.close()
    # refused messages changed nothing: the safe default (0 kW) held, then the signed plan
    assert modes == [("safe_default", 0.0)] * 4 + [("plan", -250.0)]
    assert written == [0.0, -250.0]
    status = sp.status()
    assert status["setpoints_signature_refused"] == 4
    assert status["setpoints_refused"] == 4
    assert status["setpoints_signed"] is True
    assert status["setpoints"]["bess-1.active_power_kw"]["plan_id"] == "p-2"
