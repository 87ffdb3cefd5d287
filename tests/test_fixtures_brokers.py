"""The broker fixtures: `broker` works whatever it picked, `owned_broker` honours its options."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.brokers import (
    BrokerEndpoint,
    MqttTestClient,
    OwnedBrokerFactory,
    OwnedMosquitto,
    find_mosquitto,
    free_port,
    make_tls_files,
    probe_mqtt,
    start_broker_backend,
)


def assert_round_trip(host: str, port: int, prefix: str, tag: str) -> None:
    """A QoS 1 message published on host:port reaches a subscriber there."""
    topic = f"{prefix}/{tag}/evidence"
    with (
        MqttTestClient(host, port, f"sub-{tag}") as sub,
        MqttTestClient(host, port, f"pub-{tag}") as pub,
    ):
        assert not sub.connect().is_failure
        sub.subscribe(topic)
        assert not pub.connect().is_failure
        pub.publish(topic, b"\x00evidence").wait_for_publish(10)
        assert sub.next_message().payload == b"\x00evidence"


def test_broker_carries_qos1_messages(broker: BrokerEndpoint) -> None:
    assert broker.kind in ("system-mosquitto", "mosquitto", "amqtt")
    assert broker.username is None and broker.password is None
    assert_round_trip(broker.host, broker.port, broker.topic_prefix, broker.client_id("rt"))


def test_broker_prefix_and_client_ids_are_unique_to_the_test(broker: BrokerEndpoint) -> None:
    match = re.fullmatch(r"twtest/([0-9a-f]{8})/v1", broker.topic_prefix)
    assert match is not None
    assert broker.client_id("ingest") == f"ingest-{match.group(1)}"


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_fallback_brokers_work(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if kind == "mosquitto" and find_mosquitto() is None:
        pytest.skip("mosquitto binary not found: apt-get install mosquitto")
    monkeypatch.setenv("TW_TEST_BROKER", kind)
    with contextlib.ExitStack() as stack:
        host, port, chosen = start_broker_backend(stack, tmp_path)
        assert chosen == kind
        assert_round_trip(host, port, "twtest/fallback/v1", kind)
    assert not probe_mqtt(host, port, timeout=1.0)  # stopped with the stack


def test_unknown_broker_choice_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TW_TEST_BROKER", "emqx")
    with contextlib.ExitStack() as stack, pytest.raises(pytest.fail.Exception, match="emqx"):
        start_broker_backend(stack, tmp_path)


def test_probe_is_false_when_nothing_listens() -> None:
    assert not probe_mqtt("127.0.0.1", free_port(), timeout=1.0)


@pytest.fixture
def http_server() -> Iterator[int]:
    """A TCP server that answers anything with an HTTP error and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def answer() -> None:
        with contextlib.suppress(OSError), listener.accept()[0] as conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer, name="fake-http")
    thread.start()
    yield int(listener.getsockname()[1])
    thread.join(10)
    listener.close()


def test_probe_is_false_for_a_server_that_is_not_mqtt(http_server: int) -> None:
    assert not probe_mqtt("127.0.0.1", http_server, timeout=2.0)


@pytest.mark.mosquitto
def test_owned_broker_kill_and_start_keep_the_port(owned_broker: OwnedBrokerFactory) -> None:
    mosq = owned_broker()
    port = mosq.port
    assert mosq.is_running() and probe_mqtt(mosq.host, port)
    mosq.kill()
    assert not mosq.is_running()
    assert not probe_mqtt(mosq.host, port, timeout=1.0)
    mosq.start()
    assert mosq.port == port and probe_mqtt(mosq.host, port)
    mosq.restart()
    assert mosq.port == port and probe_mqtt(mosq.host, port)
    assert "mosquitto version" in mosq.log_text()


def retained_after_restart(mosq: OwnedMosquitto, topic: str) -> list[bytes]:
    """Retained payloads a new subscriber gets on topic, in the order received."""
    sentinel = f"{topic}/sentinel"
    with MqttTestClient(mosq.host, mosq.port, "reader") as reader:
        reader.connect()
        reader.subscribe(f"{topic}/#")
        reader.publish(sentinel, b"end").wait_for_publish(10)
        payloads: list[bytes] = []
        # Retained messages come right after SUBACK, so they precede the sentinel.
        while (message := reader.next_message()).topic != sentinel:
            payloads.append(bytes(message.payload))
        return payloads


@pytest.mark.mosquitto
@pytest.mark.parametrize("persistence", [True, False])
def test_owned_broker_persistence(owned_broker: OwnedBrokerFactory, persistence: bool) -> None:
    mosq = owned_broker(persistence=persistence)
    with MqttTestClient(mosq.host, mosq.port, "writer") as writer:
        writer.connect()
        writer.publish("tw/v1/dev1/status", b"online", retain=True).wait_for_publish(10)
    mosq.stop()  # SIGTERM: mosquitto writes its persistence file
    mosq.start()
    expected = [b"online"] if persistence else []
    assert retained_after_restart(mosq, "tw/v1/dev1/status") == expected


@pytest.mark.mosquitto
def test_owned_broker_max_packet_size_disconnects_the_sender(
    owned_broker: OwnedBrokerFactory,
) -> None:
    mosq = owned_broker(max_packet_size=1024)
    with MqttTestClient(mosq.host, mosq.port, "big-sender") as sender:
        sender.connect()
        sender.publish("tw/v1/dev1/evidence", b"s" * 100).wait_for_publish(10)
        sender.publish("tw/v1/dev1/evidence", b"x" * 4096)
        assert sender.disconnects.get(timeout=10).is_failure


@pytest.mark.mosquitto
def test_owned_broker_passwords_refuse_anonymous(owned_broker: OwnedBrokerFactory) -> None:
    mosq = owned_broker(password_file={"ingest": "mật-khẩu-1"}, allow_anonymous=False)
    assert not probe_mqtt(mosq.host, mosq.port)
    for password, refused in (("sai", True), ("mật-khẩu-1", False)):
        with MqttTestClient(mosq.host, mosq.port, "ingest-1") as client:
            client.paho.username_pw_set("ingest", password)
            assert client.connect().is_failure is refused


@pytest.mark.mosquitto
def test_owned_broker_acl_limits_what_a_device_may_publish(
    owned_broker: OwnedBrokerFactory,
) -> None:
    acl = "user dev1\ntopic write tw/v1/dev1/#\n\nuser ingest\ntopic read tw/v1/#\n"
    mosq = owned_broker(password_file={"dev1": "p1", "ingest": "p2"}, acl_file=acl)
    with (
        MqttTestClient(mosq.host, mosq.port, "ingest") as ingest,
        MqttTestClient(mosq.host, mosq.port, "dev1") as device,
    ):
        ingest.paho.username_pw_set("ingest", "p2")
        device.paho.username_pw_set("dev1", "p1")
        ingest.connect()
        ingest.subscribe("tw/v1/#")
        device.connect()
        # Mosquitto acknowledges a denied publish and drops it, so send it first and see the
        # permitted one arrive alone.
        device.publish("tw/v1/dev2/evidence", b"spoofed").wait_for_publish(10)
        device.publish("tw/v1/dev1/evidence", b"genuine").wait_for_publish(10)
        message = ingest.next_message()
        assert (message.topic, message.payload) == ("tw/v1/dev1/evidence", b"genuine")
        assert ingest.messages.empty()


@pytest.mark.mosquitto
def test_owned_broker_tls_listener(owned_broker: OwnedBrokerFactory, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    mosq = owned_broker(tls=tls, require_certificate=True)
    assert mosq.tls_port is not None and mosq.tls_port != mosq.port
    with MqttTestClient(mosq.host, mosq.tls_port, "tls-device") as client:
        client.paho.tls_set(
            ca_certs=str(tls.cafile),
            certfile=str(tls.client_certfile),
            keyfile=str(tls.client_keyfile),
        )
        assert not client.connect().is_failure
    with MqttTestClient(mosq.host, mosq.tls_port, "no-cert") as client:
        client.paho.tls_set(ca_certs=str(tls.cafile))
        try:
            client.paho.connect(mosq.host, mosq.tls_port)
        except (ssl.SSLError, OSError):
            pass  # refused inside the handshake (TLS 1.2)
        else:  # TLS 1.3: the client finishes its handshake first, then the broker hangs up
            client.paho.loop_start()
            assert client.disconnects.get(timeout=10).is_failure
        assert client.connacks.empty()
    assert probe_mqtt(mosq.host, mosq.port)  # the plain listener is still there


@pytest.mark.mosquitto
def test_owned_broker_extra_config_lines_reach_mosquitto(
    owned_broker: OwnedBrokerFactory,
) -> None:
    mosq = owned_broker(extra_config=["log_type all"])
    with MqttTestClient(mosq.host, mosq.port, "chatty") as client:
        assert not client.connect().is_failure
    assert "Sending CONNACK to chatty" in mosq.log_text()
