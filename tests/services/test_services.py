"""The service fixtures reach real servers: messages through Mosquitto, rows into PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion


def _roundtrip(host: str, port: int) -> bytes:
    topic = f"zcpark-test/{uuid.uuid4().hex}"
    got: list[bytes] = []
    subscribed = threading.Event()
    arrived = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        client.subscribe(topic, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):  # type: ignore[no-untyped-def]
        subscribed.set()

    def on_message(client, userdata, msg):  # type: ignore[no-untyped-def]
        got.append(msg.payload)
        arrived.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_connect, sub.on_subscribe, sub.on_message = on_connect, on_subscribe, on_message
    sub.connect(host, port)
    sub.loop_start()
    try:
        assert subscribed.wait(5), "no SUBACK from the broker"
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(host, port)
        pub.loop_start()
        pub.publish(topic, b'{"batch": 7}', qos=1).wait_for_publish(5)
        pub.loop_stop()
        pub.disconnect()
        assert arrived.wait(5), "message did not come back through the broker"
    finally:
        sub.loop_stop()
        sub.disconnect()
    return got[0]


@pytest.mark.mqtt
def test_message_goes_through_the_shared_broker(mqtt_broker) -> None:  # type: ignore[no-untyped-def]
    assert _roundtrip(mqtt_broker.host, mqtt_broker.port) == b'{"batch": 7}'


@pytest.mark.mqtt
def test_private_broker_can_be_stopped_and_started(private_broker) -> None:  # type: ignore[no-untyped-def]
    assert _roundtrip(private_broker.host, private_broker.port) == b'{"batch": 7}'
    private_broker.stop()
    assert not private_broker.is_up()
    private_broker.start()
    assert _roundtrip(private_broker.host, private_broker.port) == b'{"batch": 7}'


@pytest.mark.postgres
def test_postgres_schema_is_private_to_the_session(pg) -> None:  # type: ignore[no-untyped-def]
    import psycopg
    from sqlalchemy import create_engine, text

    engine = create_engine(pg.url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id int primary key, v double precision)"))
        conn.execute(text("INSERT INTO probe VALUES (1, 2.5), (2, 3.5)"))
        total = conn.execute(text("SELECT sum(v) FROM probe")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    assert total == pytest.approx(6.0)
    assert schema == pg.schema
    with psycopg.connect(pg.conninfo) as conn:  # the default search path does not see it
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'probe' "
            "AND table_schema = %s",
            (pg.schema,),
        ).fetchone()
        assert row is not None and row[0] == 1
        public = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'probe' "
            "AND table_schema = 'public'"
        ).fetchone()
        assert public is not None and public[0] == 0
    engine.dispose()
