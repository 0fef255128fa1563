"""The server's MQTT side (DESIGN.md §5): telemetry in, acks and setpoints out, gateway status.

Telemetry arrives on the shared subscription ``$share/zcpark/zcpark/v1/+/+/telemetry``, so several
server instances split the load. A worker thread ingests each batch in its own transaction and
publishes ``{"batch": n}`` on ``.../ack`` only after the commit. Status messages (retained, so not
on a shared subscription, which gets no retained messages) update the gateway's row.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import text
from sqlmodel import Session

from config import Park
from config.redact import redact
from park_server.db.tables import GatewayRow
from park_server.ingest import weather
from park_server.ingest.batches import BatchError, ingest_batch, parse_batch
from park_server.ingest.clock import CLOCK_OFFSET_LIMIT_S, ClockWatch
from park_server.ingest.setpoints import publish_in_force
from park_server.state import ServerState, is_connection_error
from park_server.timeutil import now_ms

log = logging.getLogger("zcpark.mqtt")

TELEMETRY = "$share/zcpark/zcpark/v1/+/+/telemetry"
SESSION_EXPIRY_S = 300
STATUS = "zcpark/v1/+/+/status"
#: the largest gateway status message stored [bytes]
STATUS_MAX_BYTES = 65_536


def topic(park: str, gateway: str, leaf: str) -> str:
    return f"zcpark/v1/{park}/{gateway}/{leaf}"


def make_client(url: str, client_id: str) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    if parts.scheme == "mqtts":
        client.tls_set()
    return client


def client_id(instance_id: str | None) -> str:
    """The server's MQTT client id: stable per instance (ZCPARK_INSTANCE_ID; `zcpark server`
    defaults it to {hostname}-{port}), so that a server restarted after a crash resumes its own
    session instead of leaving a dead one in the shared group for SESSION_EXPIRY_S; random only
    for an app built without one (tests, embedded use)."""
    return f"zcpark-server-{instance_id or uuid.uuid4().hex[:8]}"


class MqttLink:
    def __init__(self, state: ServerState, url: str) -> None:
        self.state = state
        self.url = url
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.client_id = client_id(state.settings.instance_id)
        self.client = make_client(url, self.client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        #: (topic, payload, monotonic time of receipt [s])
        self.inbox: queue.Queue[tuple[str, bytes, float] | None] = queue.Queue(maxsize=10_000)
        self.connected = threading.Event()
        self.weather_topics: dict[str, Park] = {}
        self.clock = ClockWatch()
        self._clock_warned: set[tuple[str, str]] = set()
        self._worker = threading.Thread(target=self._work, name="zcpark-ingest", daemon=True)

    def start(self) -> None:
        self._worker.start()
        self.client.reconnect_delay_set(1, 2)
        # a session that outlives a broker restart or a short network loss: the broker keeps the
        # shared subscription and queues telemetry for it, instead of dropping what gateways send
        # before this server has subscribed again
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()

    def stop(self) -> None:
        # a clean stop ends the session at once, so the broker queues nothing for this instance
        props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()
        self.inbox.put(None)
        self._worker.join(timeout=10)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.connected.wait(timeout)

    def publish(
        self, park: str, gateway: str, leaf: str, payload: dict[str, Any], retain: bool = False
    ) -> None:
        self.client.publish(topic(park, gateway, leaf), json.dumps(payload), qos=1, retain=retain)

    # callbacks run on paho's network thread: hand over and return at once
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker %s refused the connection: %s", redact(self.url), reason)
            return
        with Session(self.state.engine) as session:
            self.weather_topics = weather.mqtt_topics(session)
        # weather forecasts: every instance stores them (an upsert), so no shared subscription
        client.subscribe([(TELEMETRY, 1), (STATUS, 1)] + [(t, 1) for t in self.weather_topics])
        self.connected.set()
        log.info("connected to MQTT broker %s:%s", self.host, self.port)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        limit = self.state.settings.max_body_bytes
        if len(msg.payload) > limit:  # refused here, so the queue never holds it
            self.state.counters.add(batches_rejected=1)
            log.warning(
                "message on %.120s is %d bytes, over the limit of %d: dropped, not acked",
                msg.topic,
                len(msg.payload),
                limit,
            )
            return
        self.inbox.put((msg.topic, bytes(msg.payload), time.monotonic()))

    def _work(self) -> None:
        # one session for the worker's life: no pool checkout (and pre-ping) per batch
        self._session = Session(self.state.engine)
        while True:
            item = self.inbox.get()
            if item is None:
                self._session.close()
                return
            topic_name, payload, received = item
            try:
                if topic_name in self.weather_topics:
                    park_cfg = self.weather_topics[topic_name]
                    weather.on_message(self._session, park_cfg, payload, self.state)
                    continue
                parts = topic_name.split("/")
                if len(parts) != 5 or parts[0] != "zcpark" or parts[1] != "v1":
                    continue
                park, gateway, leaf = parts[2], parts[3], parts[4]
                if leaf == "telemetry":
                    self._telemetry(park, gateway, payload, received)
                elif leaf == "status":
                    self._status(park, gateway, payload)
            except Exception as exc:  # one bad message (or a lost database) must never stop ingest
                if is_connection_error(exc):  # one log line per outage, not one per message
                    self.state.database.down(exc)
                else:
                    log.exception("failed to handle a message on %.120s", topic_name)
                self._session.rollback()
                self._session.close()
                self._session = Session(self.state.engine)

    def _telemetry(
        self, park: str, gateway: str, payload: bytes, received: float | None = None
    ) -> None:
        counters = self.state.counters
        session = self._session
        if not self.state.gateway_known(session, park, gateway):
            counters.add(batches_rejected=1)
            log.warning(
                "telemetry from unregistered gateway %.64s/%.64s: not stored, not acked",
                park,
                gateway,
            )
            return
        park_meters = self.state.park_meters(session, park)
        try:
            body = parse_batch(payload)
            result = ingest_batch(
                session,
                body,
                park=park_meters,
                gateway_id=gateway,
                max_future_s=self.state.settings.max_future_seconds,
                max_past_days=self.state.settings.max_past_days,
                max_samples=self.state.settings.max_batch_samples,
            )
        except BatchError as exc:
            session.rollback()
            counters.add(batches_rejected=1)
            # a batch no server will ever take is acknowledged, or the gateway would resend it
            # forever; one another server could take (exc.retry) stays in the gateway's buffer
            ack = exc.batch is not None and not exc.retry
            log.warning(
                "batch %s from %s/%s refused (%d bytes, %s): %s",
                exc.batch,
                park,
                gateway,
                len(payload),
                "acked" if ack else "not acked",
                exc,
            )
            if ack:
                self.publish(park, gateway, "ack", {"batch": exc.batch})
            return
        counters.add(
            batches=1,
            samples_accepted=result.accepted,
            samples_duplicate=result.duplicates,
            samples_rejected=len(result.rejected),
        )
        counters.note_rejects(result.rejected)
        if result.rejected:
            log.warning(
                "batch %s from %s/%s: %d samples rejected, first: %s",
                result.batch,
                park,
                gateway,
                len(result.rejected),
                result.rejected[0]["reason"],
            )
        if self.state.note_meters(park, gateway, body.get("samples"), park_meters.meters):
            # a gateway (re)appeared with meters: give it the setpoints in force at once
            publish_in_force(self.state, park, gateway)
        if result.batch is not None:
            self.publish(park, gateway, "ack", {"batch": result.batch})
            if received is not None:
                self.state.ack_latency.observe(time.monotonic() - received)
        # after the ack, so that a slow clock check never delays it
        received_ms = now_ms() - (
            int((time.monotonic() - received) * 1000) if received is not None else 0
        )
        offset_s = self.clock.observe(
            session, park, gateway, result.batch, body.get("samples"), received_ms
        )
        if offset_s is not None:  # one line when a gateway's clock goes off, not one per batch
            off, key = abs(offset_s) > CLOCK_OFFSET_LIMIT_S, (park, gateway)
            if off and key not in self._clock_warned:
                self._clock_warned.add(key)  # bounded: only registered gateways get here
                log.warning(
                    "gateway %s/%s: clock %+.0f s off the server's (newest sample of batch %s); "
                    "samples stored as stamped",
                    park,
                    gateway,
                    offset_s,
                    result.batch,
                )
            elif not off:
                self._clock_warned.discard(key)

    def _status(self, park: str, gateway: str, payload: bytes) -> None:
        if len(payload) > STATUS_MAX_BYTES:  # a status is a few hundred bytes: not stored
            log.warning(
                "status from %.64s/%.64s is %d bytes (at most %d): ignored",
                park,
                gateway,
                len(payload),
                STATUS_MAX_BYTES,
            )
            return
        try:
            status = json.loads(payload) if payload else {}
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
            log.warning("status from %.64s/%.64s is not usable JSON: ignored", park, gateway)
            return
        if not isinstance(status, dict):
            return
        with Session(self.state.engine) as session:
            row = session.get(GatewayRow, (park, gateway))
            if row is None:
                return
            dropped = status.get("dropped_samples")
            session.connection().execute(
                text(
                    "UPDATE gateway SET online = :o, status_json = :s, last_status_ms = :t, "
                    "dropped_samples = COALESCE(CAST(:d AS BIGINT), dropped_samples) "
                    "WHERE park_id = :p AND id = :g"
                ),
                {
                    "o": bool(status.get("online", False)),
                    "s": json.dumps(status),
                    "t": now_ms(),
                    "d": dropped
                    if type(dropped) is int and 0 <= dropped < 2**63  # not bool, inf or 2**64
                    else None,
                    "p": park,
                    "g": gateway,
                },
            )
            session.commit()
