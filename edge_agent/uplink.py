"""The uplink to the park server over MQTT (DESIGN.md §5).

Batches go out with QoS 1 on ``.../telemetry``; a batch leaves the buffer only when ``.../ack``
names it. The session is persistent (MQTT 5 session expiry), so acks published while the gateway
was away are delivered when it returns; batches not acked within ``resend_after_s`` are sent again
(the server stores each sample once however often it arrives). An ack that is malformed or names
a batch not in flight (never sent, or of an earlier life of the buffer) is logged, counted in
``acks_ignored`` and deletes nothing. The last will marks the gateway offline on ``.../status``
(retained).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.gateway import Gateway
from edge_agent.buffer import Buffer

log = logging.getLogger("zcpark.edge.uplink")

SESSION_EXPIRY_S = 7 * 24 * 3600


#: a batch is sent again after RESEND_FACTOR times the smoothed ack latency (within limits)
RESEND_FACTOR = 4.0
MAX_RESEND_S = 60.0


class Uplink:
    def __init__(
        self,
        gateway: Gateway,
        buffer: Buffer,
        on_setpoints: Callable[[bytes], None],
        window: int = 40,
        resend_after_s: float = 3.0,
    ) -> None:
        self.gw = gateway
        self.buffer = buffer
        self.on_setpoints = on_setpoints
        self.window = window
        self.resend_after_s = resend_after_s
        #: smoothed time from sending a batch to its ack [s]; a batch is sent again only after
        #: several times this (at least ``resend_after_s``, at most MAX_RESEND_S), so a server that
        #: is slow to ack is not buried under resends of what it is still storing
        self.ack_latency_s: float | None = None
        self._sent_at: dict[int, float] = {}
        self.root = f"zcpark/v1/{gateway.park}/{gateway.gateway}"
        url = urlsplit(gateway.uplink.mqtt)
        self.host, self.port = (
            url.hostname or "127.0.0.1",
            url.port or (8883 if url.scheme == "mqtts" else 1883),
        )
        client_id = gateway.uplink.client_id or f"zcpark-{gateway.park}-{gateway.gateway}"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if url.username:
            self.client.username_pw_set(url.username, url.password)
        if url.scheme == "mqtts":
            ctx = ssl.create_default_context(cafile=gateway.uplink.ca_file)
            self.client.tls_set_context(ctx)
        self.client.will_set(
            f"{self.root}/status", json.dumps({"online": False}), qos=1, retain=True
        )
        self.client.max_inflight_messages_set(window * 2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.connected = threading.Event()
        self.acked = 0
        self.acks_ignored = 0
        self.receive_errors = 0  # a bug in handling a message; counted, never fatal
        self.sent = 0

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.reconnect_delay_set(1, 2)  # a site broker back is used within 2 s
        self.client.connect_async(
            self.host,
            self.port,
            keepalive=self.gw.uplink.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def stop(self, status: dict[str, Any] | None = None) -> None:
        if status is not None and self.connected.is_set():
            self.publish_status({**status, "online": False})
        self.client.loop_stop()
        self.client.disconnect()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker %s:%s refused the uplink: %s", self.host, self.port, reason)
            return
        client.subscribe([(f"{self.root}/ack", 1), (f"{self.root}/setpoints", 1)])
        self.buffer.mark_all_unsent()  # anything in flight may be lost: send it again
        log.info("uplink connected to %s:%s", self.host, self.port)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        # send only once the ack subscription stands, or the first acks could be missed
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected.clear()
        log.warning("uplink lost (%s); buffering", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # paho's network thread ends on an exception from a callback, and with it every ack and
        # setpoint: an unexpected error is logged and counted instead
        try:
            if msg.topic.endswith("/ack"):
                self._on_ack(bytes(msg.payload))
            elif msg.topic.endswith("/setpoints"):
                self.on_setpoints(bytes(msg.payload))
        except Exception as exc:
            self.receive_errors += 1
            log.error(
                "handling a message on %s failed (%d so far): %s: %s",
                msg.topic,
                self.receive_errors,
                type(exc).__name__,
                exc,
            )

    def _on_ack(self, payload: bytes) -> None:
        try:
            seq = json.loads(payload)["batch"]
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise TypeError(f"batch {seq!r} is not an integer")
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self.acks_ignored += 1
            log.warning("malformed ack ignored (%s): %r", exc, payload[:100])
            return
        if self.buffer.ack(seq) is None:
            self.acks_ignored += 1
            log.warning("ack for batch %d ignored: no such batch is in flight", seq)
            return
        self.acked += 1
        sent = self._sent_at.pop(seq, None)
        if sent is not None:
            latency = time.monotonic() - sent
            old = self.ack_latency_s
            self.ack_latency_s = latency if old is None else 0.8 * old + 0.2 * latency

    def resend_after(self) -> float:
        """How long a sent batch waits for its ack before it is sent again [s]."""
        if self.ack_latency_s is None:
            return self.resend_after_s
        return min(MAX_RESEND_S, max(self.resend_after_s, RESEND_FACTOR * self.ack_latency_s))

    def pump(self) -> int:
        """Form batches and send those due; return how many were sent."""
        up = self.gw.uplink
        self.buffer.form_batches(up.batch_max_samples, up.batch_max_seconds)
        if not self.connected.is_set():
            return 0
        sent = 0
        for seq in self.buffer.due(
            self.window, self.resend_after(), live_window_s=10 * up.batch_max_seconds
        ):
            payload = self.buffer.payload(seq, self.gw.park, self.gw.gateway)
            if payload is None:
                self.buffer.forget_empty()
                continue
            info = self.client.publish(f"{self.root}/telemetry", payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self.buffer.mark_sent(seq)
            self._sent_at[seq] = time.monotonic()
            if len(self._sent_at) > 4 * self.window:  # forget the oldest of those never acked
                for old in sorted(self._sent_at)[: len(self._sent_at) - 4 * self.window]:
                    del self._sent_at[old]
            sent += 1
        self.sent += sent
        return sent

    def publish_status(self, status: dict[str, Any]) -> None:
        self.client.publish(f"{self.root}/status", json.dumps(status), qos=1, retain=True)


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
