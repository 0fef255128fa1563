"""MQTT meters: JSON messages on a site broker, fields mapped by JSON pointer (DESIGN.md §4).

The time stamp comes from ``timestamp_field`` (ISO 8601 or epoch ms) or the arrival time. A
malformed message is counted and logged, never fatal; a field missing from a message is skipped.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.gateway import Device, MqttBus
from edge_agent.buffer import Sample
from edge_agent.modbus import iso_now

log = logging.getLogger("zcpark.edge.mqtt")


def resolve(doc: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer; KeyError when the path is not there."""
    node = doc
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


def parse_time(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        dt = datetime.fromtimestamp(value / 1000, UTC)
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def samples_from(device: Device, payload: bytes) -> list[Sample]:
    """Samples of one message; ValueError when the message is malformed."""
    try:
        doc = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    ts = iso_now()
    if device.timestamp_field:
        try:
            ts = parse_time(resolve(doc, device.timestamp_field))
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise ValueError(f"timestamp {device.timestamp_field}: {exc}") from None
    out = []
    for quantity, pointer in (device.fields or {}).items():
        try:
            value = resolve(doc, pointer)
        except (KeyError, IndexError, ValueError):
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{pointer}: {value!r} is not a finite number")
        out.append(Sample(ts, device.meter, quantity, float(value)))
    return out


class MqttMeters:
    def __init__(
        self, bus: MqttBus, devices: list[Device], emit: Callable[[list[Sample]], None]
    ) -> None:
        self.bus = bus
        self.devices = {d.topic: d for d in devices if d.topic}
        self.emit = emit
        self.malformed = 0
        self.received = 0
        url = urlsplit(bus.url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"zcpark-meters-{uuid.uuid4().hex[:8]}"
        )
        if url.username:
            self.client.username_pw_set(url.username, url.password)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 1883
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in self.devices])
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.reconnect_delay_set(1, 10)
        self.client.connect_async(self.host, self.port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        device = self.devices.get(msg.topic)
        if device is None:
            return
        try:
            samples = samples_from(device, bytes(msg.payload))
        except ValueError as exc:
            self.malformed += 1
            log.warning("malformed message on %s (%d so far): %s", msg.topic, self.malformed, exc)
            return
        self.received += 1
        self.emit(samples)
