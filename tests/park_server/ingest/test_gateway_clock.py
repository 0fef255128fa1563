"""A gateway whose clock is 10 minutes off (issue #14): its newest batch tells by how much; the
offset is on its row in ``GET /parks/{park}/gateways`` (``clock_offset_s``, ``clock_ok``) and
raises a ``gateway_clock`` alarm that closes when the clock is right again; its samples are kept
(stored as stamped when in the accepted window, otherwise refused with the reason and kept in
``rejected_sample``). A backlog batch (a lower number) is not taken for the clock.

Before this change nothing noticed: the samples were stored 10 minutes off, silently."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text
from sqlmodel import Session
from zctest_server import batch, make_server

from park_server.jobs.alarms import gateway_clocks
from park_server.timeutil import now_ms

pytestmark = pytest.mark.mqtt
ROOT = "zcpark/v1/huolingol/gw-hlgl-01"


def _stamped(batch_no: int, newest_ms: int, n: int = 20) -> dict[str, object]:
    """A batch of ``n`` one-second samples whose newest is ``newest_ms``."""
    return batch(n, batch_no=batch_no, start_ms=newest_ms - (n - 1) * 1000)


def test_a_clock_ten_minutes_off_is_flagged_and_alarmed_and_its_samples_kept(
    database_url: str, private_broker: Any
) -> None:
    server = make_server(database_url, mqtt_url=private_broker.url)
    acks: list[int] = []
    gw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="clock-gw", protocol=mqtt.MQTTv5)
    gw.on_message = lambda c, u, m: acks.append(json.loads(m.payload)["batch"])
    with server.client(background=True) as client:
        assert client.app.state.mqtt.wait_connected(10)
        time.sleep(0.3)
        gw.connect(private_broker.host, private_broker.port)
        gw.subscribe(f"{ROOT}/ack", qos=1)
        gw.loop_start()
        time.sleep(0.3)
        auth = server.token(client, "vic")

        def send(body: dict[str, object]) -> dict[str, Any]:
            n = len(acks)
            gw.publish(f"{ROOT}/telemetry", json.dumps(body), qos=1).wait_for_publish(5)
            deadline = time.monotonic() + 10
            while len(acks) == n and time.monotonic() < deadline:
                time.sleep(0.02)
            assert acks[-1] == body["batch"]
            rows = client.get("/api/v1/parks/huolingol/gateways", headers=auth).json()
            return next(r for r in rows if r["id"] == "gw-hlgl-01")

        def alarms() -> list[tuple[str, bool]]:
            with Session(server.engine) as session:
                gateway_clocks(session)
                got = session.connection().execute(
                    text(
                        "SELECT message, closed_ms IS NULL FROM event "
                        "WHERE kind = 'gateway_clock' ORDER BY id"
                    )
                )
                return [(m, bool(o)) for m, o in got.all()]

        try:
            row = send(_stamped(10, now_ms() - 600_000))  # 10 min behind
            assert row["clock_offset_s"] == pytest.approx(-600, abs=5)
            assert row["clock_ok"] is False
            ((message, is_open),) = alarms()
            assert is_open and re.match(
                r"gateway gw-hlgl-01 clock 60\d s behind the server", message
            )

            row = send(_stamped(5, now_ms() - 3_600_000))  # the backlog: not the clock
            assert row["clock_offset_s"] == pytest.approx(-600, abs=5)

            row = send(_stamped(11, now_ms() + 600_000))  # 10 min ahead
            assert row["clock_offset_s"] == pytest.approx(600, abs=5)
            assert row["clock_ok"] is False

            row = send(_stamped(12, now_ms() - 1000))  # set right
            assert abs(row["clock_offset_s"]) < 5 and row["clock_ok"] is True
            states = alarms()
            assert [o for _, o in states] == [False]  # the alarm closed
        finally:
            gw.loop_stop()
            gw.disconnect()
    with server.engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM measurement")).scalar_one()
        refused = conn.execute(text("SELECT COUNT(*), MIN(reason) FROM rejected_sample")).one()
    # behind, backlog and right: stored as stamped; ahead by 600 s (past the 300 s window for
    # the future): each refused with its reason and kept, none lost
    assert stored == 60
    assert refused[0] == 20 and "s in the future" in refused[1]
