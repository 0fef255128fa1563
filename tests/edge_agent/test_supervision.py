"""Supervised edge tasks: a task that fails is restarted with a capped exponential backoff, each
failure is logged once and counted, and the status says which tasks restarted and which are down.
An ack for a batch that is not in flight is ignored and counted."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from zctest_edge import SimThread, free_port, write_gateway

from config import load_gateway, load_profile
from edge_agent.agent import Agent
from edge_agent.buffer import Buffer, Sample
from edge_agent.simulate import DeviceSim
from edge_agent.supervise import Supervisor, restart_delay_s
from edge_agent.uplink import Uplink, wait_for

STATUS_KEYS = {  # DESIGN.md §5
    "online",
    "queue_samples",
    "oldest_unsent",
    "devices_online",
    "devices_total",
    "poll_cycle_ms",
    "dropped_samples",
}


def test_restart_delays_double_up_to_the_cap_and_reset_after_a_healthy_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert [restart_delay_s(n, 0.5, 8.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    clock = [1000.0]  # monotonic seconds, pinned
    stop = asyncio.Event()
    waits: list[float] = []
    down_while_waiting: list[list[str]] = []
    sup = Supervisor(base_s=0.5, max_s=8.0, healthy_s=60.0, clock=lambda: clock[0])

    async def fake_wait(delay_s: float) -> None:
        waits.append(delay_s)
        down_while_waiting.append(sup.status()["tasks_down"])
        clock[0] += delay_s

    sup.wait = fake_wait
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 7:  # a long healthy run: the next failure starts the backoff afresh
            clock[0] += 61.0
        if runs <= 8:
            raise OSError(f"injected fault {runs}")
        stop.set()
        await asyncio.sleep(0)

    async def main() -> None:
        await sup.supervise("uplink", flaky, stop)

    with caplog.at_level(logging.ERROR, logger="zcpark.edge.supervise"):
        asyncio.run(main())
    assert waits == [0.5, 1, 2, 4, 8, 8, 0.5, 1]
    assert down_while_waiting == [["uplink"]] * 8
    assert sup.status() == {"task_restarts": {"uplink": 8}, "tasks_down": []}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 8  # one line per failure, no traceback
    assert "uplink" in lines[0] and "OSError: injected fault 1" in lines[0]
    assert all("\n" not in line for line in lines)


def test_a_task_that_returns_while_the_agent_runs_is_a_failure_too() -> None:
    stop = asyncio.Event()
    sup = Supervisor(base_s=0.01, max_s=0.01)
    runs = 0

    async def returns_early() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            stop.set()

    asyncio.run(sup.supervise("status", returns_early, stop))
    assert runs == 3 and sup.status()["task_restarts"] == {"status": 2}


def test_failed_tasks_come_back_and_the_published_status_counts_them(
    tmp_path: Path, private_broker: Any
) -> None:
    port = free_port()
    sim = DeviceSim("grid-main", load_profile("janitza-umg604"), lambda: {"active_power_kw": 800.0})
    st = SimThread()
    st.serve(sim, port)
    gw = write_gateway(
        tmp_path / "gw.yaml",
        mqtt_url=private_broker.url,
        gateway="gw-sup",
        devices=[
            {
                "meter": "grid-main",
                "bus": "lan",
                "port": port,
                "unit_id": 1,
                "profile": "janitza-umg604",
                "poll_interval_s": 0.1,
            }
        ],
        batch_max_seconds=0.1,
        status_interval_s=0.2,
    )
    agent = Agent(gw, restart_base_s=0.05, restart_max_s=0.2)
    # injected faults: the uplink pump and the poller each raise once, as a bug would
    real_pump, pumps = agent.uplink.pump, [0]

    def pump_fails_once() -> int:
        pumps[0] += 1
        if pumps[0] == 3:
            raise RuntimeError("injected: uplink fault")
        return real_pump()

    device = agent.devices["grid-main"]
    real_poll, polls = device.poll_once, [0]

    async def poll_fails_once() -> bool:
        polls[0] += 1
        if polls[0] == 2:
            raise ValueError("injected: poller fault")
        return await real_poll()

    agent.uplink.pump = pump_fails_once  # type: ignore[method-assign]
    device.poll_once = poll_fails_once  # type: ignore[method-assign]

    statuses: list[dict[str, Any]] = []
    telemetry: list[dict[str, Any]] = []
    got = threading.Event()
    root = "zcpark/v1/huolingol/gw-sup"

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        if msg.topic.endswith("/status"):
            statuses.append(body)
            if body.get("task_restarts") == {"uplink": 1, "poll-grid-main": 1}:
                got.set()
        else:
            telemetry.append(body)

    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{uuid.uuid4().hex[:6]}")
    watcher.on_message = on_message
    watcher.on_connect = lambda c, u, f, r, p: c.subscribe(
        [(f"{root}/status", 1), (f"{root}/telemetry", 1)]
    )
    watcher.connect(private_broker.host, private_broker.port)
    watcher.loop_start()
    stop = asyncio.Event()
    task = asyncio.run_coroutine_threadsafe(agent.run(stop), st.loop)
    try:
        assert got.wait(15), statuses[-1:] or "no status at all"
        restarted_at = len(telemetry)
        pumps_at, polls_at = pumps[0], polls[0]
        assert wait_for(lambda: len(telemetry) > restarted_at + 2, 10), "no telemetry after restart"
        assert pumps[0] > pumps_at and polls[0] > polls_at  # both tasks run again
    finally:
        st.loop.call_soon_threadsafe(stop.set)
        task.result(15)
        watcher.loop_stop()
        watcher.disconnect()
        st.close()
    status = next(s for s in statuses if s.get("task_restarts"))
    assert set(status) >= STATUS_KEYS
    assert status["online"] is True and status["devices_online"] == 1
    assert status["tasks_down"] == [] and status["acks_ignored"] == 0
    kinds = [kind for _, kind, _ in agent.events]
    assert kinds.count("task_failed") == 2
    assert {round(s["value"], 3) for b in telemetry for s in b["samples"] if s["quality"] == "good"}


def test_a_stale_ack_is_ignored_and_counted(tmp_path: Path, private_broker: Any) -> None:
    device = {"meter": "grid-main", "bus": "lan", "unit_id": 1, "profile": "janitza-umg604"}
    gw_path = write_gateway(tmp_path / "gw.yaml", mqtt_url=private_broker.url, devices=[device])
    gw = load_gateway(gw_path)
    buffer = Buffer(tmp_path / "q.sqlite", max_mb=10)
    samples = [Sample("2026-11-23T08:00:00.000Z", "grid-main", "active_power_kw", 1.0)]
    buffer.put(samples)
    buffer.form_batches(max_samples=1, max_age_s=0)
    (seq,) = buffer.due(limit=10, resend_after_s=0, live_window_s=60)
    uplink = Uplink(gw, buffer, lambda payload: None)
    uplink.start()
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"srv-{uuid.uuid4().hex[:6]}")
    sender.connect(private_broker.host, private_broker.port)
    sender.loop_start()
    try:
        assert uplink.connected.wait(10)
        ack = f"zcpark/v1/{gw.park}/{gw.gateway}/ack"
        # the batch was formed but the uplink has not sent it: an ack for it, or for a number of
        # the buffer's earlier life, is stale
        for stale in (seq, 1, seq - 5):
            sender.publish(ack, json.dumps({"batch": stale}), qos=1).wait_for_publish(5)
        sender.publish(ack, b'{"batch": "7"}', qos=1).wait_for_publish(5)
        assert wait_for(lambda: uplink.acks_ignored == 4, 10), uplink.acks_ignored
        assert buffer.stats()["queue_samples"] == 1
        assert uplink.pump() == 1  # now it is in flight, and its ack counts
        sender.publish(ack, json.dumps({"batch": seq}), qos=1).wait_for_publish(5)
        assert wait_for(lambda: buffer.stats()["queue_samples"] == 0, 10)
        assert uplink.acked == 1 and uplink.acks_ignored == 4
    finally:
        sender.loop_stop()
        sender.disconnect()
        uplink.stop()
        buffer.close()
