"""The embedded amqtt broker, checked with real paho-mqtt 2 clients."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("amqtt", reason="amqtt not installed (pip install -e '.[server]')")

from central_server.embedded_broker import (  # noqa: E402
    EmbeddedBroker,
    EmbeddedBrokerError,
    mqtt_handshake,
)
from tests.fixtures.brokers import MqttTestClient, free_port  # noqa: E402

# A device that sets a retained last will, says it is ready, then waits to be killed.
DYING_DEVICE = """
import sys, threading
import paho.mqtt.client as mqtt
ready = threading.Event()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-dying")
client.will_set("tw/v1/dev-dying/status", b"offline", qos=1, retain=True)
client.on_connect = lambda *args: ready.set()
client.connect(sys.argv[1], int(sys.argv[2]), keepalive=60)
client.loop_start()
ready.wait(10)
print("ready", flush=True)
threading.Event().wait()
"""


@pytest.fixture
def embedded() -> Iterator[EmbeddedBroker]:
    """An embedded broker on a free port, stopped after the test."""
    with EmbeddedBroker(port=0) as broker:
        yield broker


def client(broker: EmbeddedBroker, client_id: str, clean_session: bool = True) -> MqttTestClient:
    """A paho test client for the broker (not yet connected)."""
    return MqttTestClient(broker.host, broker.port, client_id, clean_session=clean_session)


def test_qos1_round_trip(embedded: EmbeddedBroker) -> None:
    with client(embedded, "ingest") as ingest, client(embedded, "dev1") as device:
        assert not ingest.connect().is_failure
        ingest.subscribe("tw/v1/+/evidence")
        assert not device.connect().is_failure
        device.publish("tw/v1/dev1/evidence", b"\x00\xffpacket").wait_for_publish(10)
        message = ingest.next_message()
        assert (message.topic, message.payload, message.qos) == (
            "tw/v1/dev1/evidence",
            b"\x00\xffpacket",
            1,
        )


def test_retained_message_reaches_a_later_subscriber(embedded: EmbeddedBroker) -> None:
    with client(embedded, "server") as server:
        server.connect()
        server.publish("tw/v1/dev1/config", b"signed-config", retain=True).wait_for_publish(10)
    with client(embedded, "dev1") as device:
        device.connect()
        device.subscribe("tw/v1/dev1/config")
        message = device.next_message()
        assert (message.payload, message.retain) == (b"signed-config", True)


def test_last_will_is_published_when_a_client_dies(embedded: EmbeddedBroker) -> None:
    with client(embedded, "monitor") as monitor:
        monitor.connect()
        monitor.subscribe("tw/v1/+/status")
        dying = subprocess.Popen(
            [sys.executable, "-c", DYING_DEVICE, embedded.host, str(embedded.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert dying.stdout is not None and dying.stdout.readline().strip() == "ready"
        finally:
            dying.kill()  # SIGKILL: no DISCONNECT is sent, as when a box loses power
            dying.communicate()
        message = monitor.next_message()
        assert (message.topic, message.payload) == ("tw/v1/dev-dying/status", b"offline")


def test_shared_subscription_group_of_one_gets_every_message(embedded: EmbeddedBroker) -> None:
    with client(embedded, "ingest-1") as ingest, client(embedded, "dev1") as device:
        ingest.connect()
        ingest.subscribe("$share/ingest/tw/v1/+/evidence")
        device.connect()
        for payload in (b"one", b"two"):
            device.publish("tw/v1/dev1/evidence", payload).wait_for_publish(10)
        assert [ingest.next_message().payload for _ in range(2)] == [b"one", b"two"]


def test_persistent_session_keeps_qos1_messages_while_offline(embedded: EmbeddedBroker) -> None:
    with client(embedded, "dev1", clean_session=False) as device:
        device.connect()
        device.subscribe("tw/v1/dev1/ack")
    with client(embedded, "server") as server:
        server.connect()
        server.publish("tw/v1/dev1/ack", b"stored").wait_for_publish(10)
    with client(embedded, "dev1", clean_session=False) as device:
        device.connect()
        assert device.next_message().payload == b"stored"


def test_taken_port_gives_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        broker = EmbeddedBroker(port=int(taken.getsockname()[1]))
        with pytest.raises(EmbeddedBrokerError, match="already in use"):
            broker.start()
    assert not broker.is_running()


def test_stop_ends_the_thread_and_closes_the_port() -> None:
    threads_before = set(threading.enumerate())
    broker = EmbeddedBroker(port=0)
    broker.start()
    assert broker.is_running() and mqtt_handshake(broker.host, broker.port)
    with client(broker, "left-connected") as device:
        device.connect()
        broker.stop()
        assert device.disconnects.get(timeout=10) is not None
    assert not broker.is_running()
    assert not mqtt_handshake(broker.host, broker.port, timeout=1.0)
    assert set(threading.enumerate()) <= threads_before


def test_can_start_again_after_stop_on_a_fixed_port() -> None:
    broker = EmbeddedBroker(port=free_port())
    for _ in range(2):
        with broker:
            assert mqtt_handshake(broker.host, broker.port)
