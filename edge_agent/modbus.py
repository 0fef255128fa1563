"""Modbus TCP and RTU acquisition (pymodbus async clients).

A *line* is one connection: a TCP host:port, or an RS-485 port. Each line has one client and one
lock, so a line never has two requests in flight, and waits ``inter_request_delay_ms`` between
requests. Each device polls on its own interval; its points are read in coalesced blocks.
A timeout or exception response makes the device's samples ``bad``, marks it offline and backs
off exponentially (up to ``max_backoff_s``); it recovers by itself on the next good read. After a
timeout the connection is dropped, so a late answer is never read as the next request's. A value
outside its quantity's plausible range (edge_agent.plausible) is stored ``uncertain``, a value
that is not a finite number ``bad``; each of these is counted. One dead
device never slows devices on other lines; on a shared line its backoff keeps it out of the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from config.gateway import Device, ModbusRtuBus, ModbusTcpBus
from config.profile import REGISTER_COUNT, DeviceProfile, Setpoint
from edge_agent.buffer import Sample
from edge_agent.coalesce import ReadBlock, plan_reads
from edge_agent.decode import decode, encode, scaled
from edge_agent.plausible import quality_of

log = logging.getLogger("zcpark.edge.modbus")
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # failures are reported as our events


#: the clock samples are stamped with (seconds since the epoch); tests may run it faster
sample_clock: Callable[[], float] = time.time


def iso_now() -> str:
    now = datetime.fromtimestamp(sample_clock(), UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class DeviceError(Exception):
    """A read or write failed: ``kind`` is ``timeout`` (no answer in time, or the connection
    lost) or ``exception`` (the device answered with a Modbus exception code)."""

    def __init__(self, message: str, kind: str = "timeout") -> None:
        super().__init__(message)
        self.kind = kind


class Line:
    """One Modbus connection with its lock."""

    def __init__(
        self, key: str, bus: ModbusTcpBus | ModbusRtuBus, host: str | None, port: int | None
    ) -> None:
        self.key = key
        self.bus = bus
        self.lock = asyncio.Lock()
        self.delay_s = bus.inter_request_delay_ms / 1000
        self._last = 0.0
        self.host, self.port = host, port
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self.requests = 0

    @property
    def client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        """The pymodbus client, made on first use (it needs the running event loop)."""
        if self._client is None:
            bus = self.bus
            if isinstance(bus, ModbusTcpBus):
                self._client = AsyncModbusTcpClient(
                    self.host or bus.host,
                    port=self.port or bus.port,
                    timeout=bus.timeout_s,
                    retries=0,
                    reconnect_delay=0.5,
                    reconnect_delay_max=10,
                )
            else:
                self._client = AsyncModbusSerialClient(
                    bus.port,
                    baudrate=bus.baudrate,
                    parity=bus.parity,
                    stopbits=bus.stopbits,
                    bytesize=bus.bytesize,
                    timeout=bus.timeout_s,
                    retries=0,
                )
        return self._client

    async def _ready(self) -> None:
        if not self.client.connected and not await self.client.connect():
            raise DeviceError(f"cannot connect to {self.key}")
        wait = self._last + self.delay_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def read(self, table: str, address: int, count: int, unit: int) -> list[int]:
        async with self.lock:
            await self._ready()
            try:
                self.requests += 1
                if table == "holding":
                    rr = await self.client.read_holding_registers(
                        address, count=count, device_id=unit
                    )
                else:
                    rr = await self.client.read_input_registers(
                        address, count=count, device_id=unit
                    )
            except (TimeoutError, ModbusException, OSError) as exc:
                # a late answer must never be taken for the answer to the next request: the
                # connection is dropped and made again on the next read
                self._drop()
                raise DeviceError(f"{self.key} unit {unit}: {type(exc).__name__}: {exc}") from None
            finally:
                self._last = time.monotonic()
            if rr.isError():
                code = getattr(rr, "exception_code", "?")
                raise DeviceError(
                    f"{self.key} unit {unit}: exception code {code} reading {table} {address}+{count}",
                    kind="exception",
                )
            return list(rr.registers)

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    async def write(self, address: int, words: list[int], unit: int) -> None:
        async with self.lock:
            await self._ready()
            try:
                self.requests += 1
                rr = await self.client.write_registers(address, words, device_id=unit)
            except (TimeoutError, ModbusException, OSError) as exc:
                self._drop()
                raise DeviceError(f"{self.key} unit {unit}: {type(exc).__name__}: {exc}") from None
            finally:
                self._last = time.monotonic()
            if rr.isError():
                raise DeviceError(
                    f"{self.key} unit {unit}: exception code {getattr(rr, 'exception_code', '?')} writing {address}"
                )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass
class DeviceState:
    online: bool = True
    failures: int = 0
    last_error: str = ""
    polls: int = 0
    last_poll: float = 0.0
    cycle_ms: float = 0.0
    poll_times: list[float] = field(default_factory=list)
    #: since the agent started: polls failed by an exception response / by no answer in time,
    #: and values outside their plausible range or not finite (edge_agent.plausible)
    exceptions: int = 0
    timeouts: int = 0
    implausible: int = 0
    suspect: bool = False  # its last poll had implausible values

    def counts(self) -> dict[str, int]:
        return {
            "exceptions": self.exceptions,
            "timeouts": self.timeouts,
            "implausible": self.implausible,
        }


class ModbusDevice:
    def __init__(
        self,
        device: Device,
        profile: DeviceProfile,
        line: Line,
        emit: Callable[[list[Sample]], None],
        event: Callable[[str, str], None],
        max_backoff_s: float = 10.0,
    ) -> None:
        assert device.unit_id is not None
        self.device = device
        self.profile = profile
        self.line = line
        self.unit = device.unit_id
        self.blocks: list[ReadBlock] = plan_reads(profile)
        self.layout = self._layout()
        self.emit = emit
        self.event = event
        self.state = DeviceState()
        self.max_backoff_s = max_backoff_s

    def _layout(self) -> list[tuple[str, int, int, str, str, float, float, tuple[int, int] | None]]:
        """Per point: (quantity, block, offset, type, word order, scale, offset, sf place)."""

        def place(table: str, address: int) -> tuple[int, int]:
            for i, b in enumerate(self.blocks):
                if b.table == table and b.start <= address < b.end:
                    return i, address - b.start
            raise AssertionError(f"{table} {address} is in no read block")

        out: list[tuple[str, int, int, str, str, float, float, tuple[int, int] | None]] = []
        for p in self.profile.points:
            bi, off = place(p.table, p.address)
            sf = place(p.scale_factor.table, p.scale_factor.address) if p.scale_factor else None
            out.append(
                (
                    p.quantity,
                    bi,
                    off,
                    p.type,
                    p.word_order or self.profile.word_order,
                    p.scale,
                    p.offset,
                    sf,
                )
            )
        return out

    def decode_blocks(self, data: list[list[int]]) -> list[tuple[str, float]]:
        """(quantity, value) for every point, from the registers of each block (in plan order)."""
        out = []
        for quantity, bi, off, dtype, order, scale, offset, sf_at in self.layout:
            regs = data[bi]
            raw = decode(regs[off : off + REGISTER_COUNT[dtype]], dtype, order)
            sf = int(decode([data[sf_at[0]][sf_at[1]]], "int16")) if sf_at else None
            out.append((quantity, scaled(raw, scale, offset, sf)))
        return out

    async def poll_once(self) -> bool:
        started = time.monotonic()
        ts = iso_now()
        try:
            data = [await self.line.read(b.table, b.start, b.count, self.unit) for b in self.blocks]
            values = self.decode_blocks(data)
        except DeviceError as exc:
            if exc.kind == "exception":
                self.state.exceptions += 1
            else:
                self.state.timeouts += 1
            self._failed(str(exc), ts)
            return False
        samples = []
        for q, v in values:
            quality = quality_of(q, v)
            samples.append(
                Sample(ts, self.device.meter, q, v if quality != "bad" else 0.0, quality)
            )
        odd = [s for s in samples if s.quality != "good"]
        self.state.implausible += len(odd)
        if odd and not self.state.suspect:
            first = next(v for q, v in values if q == odd[0].quantity)
            message = (
                f"{self.device.meter}: {len(odd)} of {len(samples)} values implausible "
                f"(first {odd[0].quantity} = {first:.6g}); stored as uncertain or bad"
            )
            self.event("device_implausible", message)
            log.warning("device %s", message)
        self.state.suspect = bool(odd)
        self.emit(samples)
        if not self.state.online:
            self.event("device_online", f"{self.device.meter} answers again")
        self.state.online, self.state.failures, self.state.last_error = True, 0, ""
        self.state.cycle_ms = (time.monotonic() - started) * 1000
        return True

    def _failed(self, error: str, ts: str) -> None:
        st = self.state
        st.failures += 1
        st.last_error = error
        if st.online:
            st.online = False
            self.event("device_offline", f"{self.device.meter}: {error}")
            log.warning("device %s offline: %s", self.device.meter, error)
        # the gap is recorded, not hidden: one bad sample per point for this poll
        self.emit(
            [Sample(ts, self.device.meter, p.quantity, 0.0, "bad") for p in self.profile.points]
        )

    def next_delay(self) -> float:
        interval = self.device.poll_interval_s
        if self.state.online:
            return interval
        backoff: float = interval * 2.0 ** min(self.state.failures - 1, 10)
        return min(self.max_backoff_s, backoff)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll at a fixed rate while online (no drift); back off while offline."""
        next_at = time.monotonic()
        while not stop.is_set():
            self.state.polls += 1
            self.state.poll_times.append(time.monotonic())
            del self.state.poll_times[:-50]
            await self.poll_once()
            now = time.monotonic()
            if self.state.online:
                next_at = max(next_at + self.device.poll_interval_s, now)
            else:
                next_at = now + self.next_delay()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - now))

    async def write_setpoint(self, sp: Setpoint, value: float) -> None:
        order = sp.word_order or self.profile.word_order
        if sp.enable is not None:
            await self.line.write(
                sp.enable.address, encode(sp.enable.value, sp.enable.type, order), self.unit
            )
        await self.line.write(sp.address, encode(value / sp.scale, sp.type, order), self.unit)
