"""The edge agent: one gateway file, its buses and devices, the buffer, the uplink, setpoints.

``zcpark edge GATEWAY.yaml`` runs :func:`run_agent` until SIGINT/SIGTERM. Every background task
runs under a :class:`~edge_agent.supervise.Supervisor`: a task that fails is logged, counted and
started again with a capped backoff, and the status message says so (``task_restarts``,
``tasks_down``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from config import Gateway, load_gateway
from config.gateway import ModbusRtuBus, ModbusTcpBus, MqttBus
from config.loader import gateway_profiles
from edge_agent.buffer import Buffer, Sample, SampleSink
from edge_agent.modbus import Line, ModbusDevice
from edge_agent.mqtt_meters import MqttMeters
from edge_agent.setpoints import SetpointManager
from edge_agent.supervise import Supervisor
from edge_agent.uplink import Uplink

log = logging.getLogger("zcpark.edge")


class Agent:
    def __init__(
        self,
        gateway_path: str | Path,
        *,
        pump_interval_s: float = 0.05,
        restart_base_s: float = 0.5,
        restart_max_s: float = 30.0,
    ) -> None:
        self.path = Path(gateway_path)
        self.gw: Gateway = load_gateway(self.path)
        profiles = gateway_profiles(self.gw, self.path)
        buffer_path = Path(self.gw.buffer.path)
        if not buffer_path.is_absolute():
            buffer_path = self.path.parent / buffer_path
        self.buffer = Buffer(buffer_path, self.gw.buffer.max_mb)
        self.sink = SampleSink(self.buffer)
        #: samples read from devices and site MQTT meters since the agent started
        self.samples_read = 0
        self._read_lock = threading.Lock()
        self.events: deque[tuple[float, str, str]] = deque(maxlen=200)
        self.lines: dict[str, Line] = {}
        self.devices: dict[str, ModbusDevice] = {}
        self.mqtt: list[MqttMeters] = []
        self.pump_interval_s = pump_interval_s
        for device in self.gw.devices:
            bus = self.gw.bus(device.bus)
            if isinstance(bus, MqttBus):
                continue
            line = self._line(bus, device.host, device.port)
            self.devices[device.meter] = ModbusDevice(
                device, profiles[device.meter], line, self._emit, self.event
            )
        for bus in self.gw.buses:
            if isinstance(bus, MqttBus):
                devs = [d for d in self.gw.devices if d.bus == bus.name]
                if devs:
                    self.mqtt.append(MqttMeters(bus, devs, self._emit))
        self.setpoints = SetpointManager(self.devices, self.event, key=self.gw.uplink.setpoint_key)
        self._setpoint_inbox: asyncio.Queue[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.uplink = Uplink(self.gw, self.buffer, self._setpoints_from_thread)
        self.supervisor = Supervisor(base_s=restart_base_s, max_s=restart_max_s, event=self.event)

    def _line(self, bus: ModbusTcpBus | ModbusRtuBus, host: str | None, port: int | None) -> Line:
        if isinstance(bus, ModbusTcpBus):
            key = f"tcp://{host or bus.host}:{port or bus.port}"
        else:
            key = f"rtu://{bus.port}"
        if key not in self.lines:
            self.lines[key] = Line(key, bus, host, port)
        return self.lines[key]

    def _emit(self, samples: list[Sample]) -> None:
        with self._read_lock:
            self.samples_read += len(samples)
        self.sink.emit(samples)

    def event(self, kind: str, message: str) -> None:
        self.events.append((time.time(), kind, message))

    def _setpoints_from_thread(self, payload: bytes) -> None:
        if self._loop is not None and self._setpoint_inbox is not None:
            self._loop.call_soon_threadsafe(self._setpoint_inbox.put_nowait, payload)

    def status(self) -> dict[str, Any]:
        """DESIGN.md §5's status, with the extensions of docs/edge.md."""
        st = self.buffer.stats()
        sink = self.sink.status()
        # a device whose poller is waiting for its restart is not being read: not online
        online = {
            m: d.state.online and not self.supervisor.is_down(f"poll-{m}")
            for m, d in self.devices.items()
        }
        cycles = [d.state.cycle_ms for m, d in self.devices.items() if online[m]]
        return {
            "online": True,
            "queue_samples": st["queue_samples"],
            "oldest_unsent": st["oldest_unsent"],
            "devices_online": sum(online.values()) + len(self.mqtt),
            "devices_total": len(self.devices) + len(self.mqtt),
            "poll_cycle_ms": round(max(cycles), 1) if cycles else None,
            "dropped_samples": st["dropped_samples"] + sink["dropped_samples"],
            "offline": sorted(m for m, ok in online.items() if not ok),
            "device_faults": {m: d.state.counts() for m, d in self.devices.items()},
            "mqtt_malformed": sum(m.malformed for m in self.mqtt),
            **self.setpoints.status(),
            **self.supervisor.status(),
            "unwritten_samples": sink["unwritten_samples"],
            "acks_ignored": self.uplink.acks_ignored,
            "receive_errors": self.uplink.receive_errors,
            # counters since the agent started (docs/edge.md)
            "samples_read": self.samples_read,
            "batches_sent": self.uplink.sent,
            "batches_acked": self.uplink.acked,
            "queue_batches": st["queue_batches"],
        }

    def _tasks(self, stop: asyncio.Event) -> dict[str, Callable[[], Awaitable[None]]]:
        """Every background task by the name the status gives it."""
        tasks: dict[str, Callable[[], Awaitable[None]]] = {
            f"poll-{m}": functools.partial(d.run, stop) for m, d in self.devices.items()
        }
        tasks["uplink"] = functools.partial(self._pump, stop)
        tasks["flush"] = functools.partial(self._flush, stop)
        tasks["status"] = functools.partial(self._status, stop)
        tasks["setpoints"] = functools.partial(self._setpoint_loop, stop)
        tasks["buffer-limit"] = functools.partial(self._limit, stop)
        return tasks

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._setpoint_inbox = asyncio.Queue()
        self.uplink.start()
        for m in self.mqtt:
            m.start()
        tasks = [
            asyncio.create_task(self.supervisor.supervise(name, run, stop), name=name)
            for name, run in self._tasks(stop).items()
        ]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for m in self.mqtt:
                m.stop()
            self.uplink.stop(self.status())
            for line in self.lines.values():
                line.close()
            try:
                self.sink.flush()
            except Exception as exc:
                log.error(
                    "stopping: %d samples could not be written to the buffer and are lost: %s",
                    len(self.sink.pending),
                    exc,
                )
            self.buffer.close()

    async def _pump(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.uplink.pump)
            await asyncio.sleep(self.pump_interval_s)

    async def _flush(self, stop: asyncio.Event) -> None:
        """Write the sink to disk every 20 ms, in a worker thread, off the polling path."""
        self.sink.background = True
        try:
            while not stop.is_set():
                await asyncio.sleep(self.sink.max_delay_s)
                if self.sink.pending:
                    await asyncio.to_thread(self.sink.flush)
        finally:
            self.sink.background = False

    async def _status(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.uplink.connected.is_set():
                self.uplink.publish_status(self.status())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.gw.uplink.status_interval_s)

    async def _setpoint_loop(self, stop: asyncio.Event) -> None:
        assert self._setpoint_inbox is not None
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                payload = await asyncio.wait_for(self._setpoint_inbox.get(), 1.0)
                self.setpoints.receive(payload)
            await self.setpoints.apply()

    async def _limit(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            dropped = await asyncio.to_thread(self.buffer.enforce_limit)
            if dropped:
                self.event(
                    "buffer_drops",
                    f"buffer over {self.gw.buffer.max_mb} MB: dropped {dropped} oldest samples",
                )
                log.error(
                    "buffer full: dropped %d oldest samples (%d in all)",
                    dropped,
                    self.buffer.dropped,
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 10)


def run_agent(path: str | Path) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    agent = Agent(path)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "gateway %s of park %s: %d Modbus devices on %d lines, %d MQTT buses",
            agent.gw.gateway,
            agent.gw.park,
            len(agent.devices),
            len(agent.lines),
            len(agent.mqtt),
        )
        await agent.run(stop)

    asyncio.run(main())
    return 0
