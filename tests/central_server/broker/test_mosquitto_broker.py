"""The generated Mosquitto files on a real broker: every box is fenced into its own topics."""

from __future__ import annotations

import queue
import socket
import ssl

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol.topics import Topics
from tests.central_server.broker.conftest import (
    BOX_A,
    BOX_B,
    REVOKED,
    WAIT_S,
    SecuredBroker,
)

T = Topics()
QUIET_S = 0.5  # how long a subscriber waits to show nothing else came (not a timing assertion)


def _publish(client: object, topic: str, payload: bytes, retain: bool = False) -> None:
    info = client.publish(topic, payload, qos=1, retain=retain)  # type: ignore[attr-defined]
    info.wait_for_publish(WAIT_S)


def _received(client: object) -> list[tuple[str, bytes]]:
    """Everything `client` received so far, after a short quiet period."""
    got: list[tuple[str, bytes]] = []
    while True:
        try:
            message = client.next_message(QUIET_S)  # type: ignore[attr-defined]
        except queue.Empty:
            return got
        got.append((message.topic, bytes(message.payload)))


def test_a_box_cannot_publish_evidence_or_status_as_another_box(secured: SecuredBroker) -> None:
    with secured.connected("ingest") as ingest, secured.connected(BOX_A) as box_a:
        ingest.subscribe("$share/ingest/tw/v1/+/evidence")
        ingest.subscribe("tw/v1/+/status")
        _publish(box_a, T.evidence(BOX_B), b"forged evidence")
        _publish(box_a, T.status(BOX_B), b"forged status")
        _publish(box_a, T.evidence(BOX_A), b"own evidence")
        _publish(box_a, T.status(BOX_A), b"own status")
        got = _received(ingest)
    assert sorted(got) == [(T.evidence(BOX_A), b"own evidence"), (T.status(BOX_A), b"own status")]


def test_a_box_cannot_read_another_box_ack_or_config(secured: SecuredBroker) -> None:
    with (
        secured.connected(BOX_A) as box_a,
        secured.connected("ingest") as ingest,
        secured.connected("control") as control,
    ):
        # Mosquitto 2.0 grants such subscriptions in the SUBACK and then delivers nothing.
        box_a.subscribe(T.ack(BOX_B))
        box_a.subscribe("tw/v1/+/ack")
        box_a.subscribe(T.ack(BOX_A))
        box_a.subscribe(T.config(BOX_A))
        _publish(ingest, T.ack(BOX_B), b"ack for B")
        _publish(ingest, T.ack(BOX_A), b"ack for A")
        _publish(control, T.config(BOX_A), b"config for A", retain=True)
        _publish(box_a, T.config(BOX_A), b"a box may not set its own config", retain=True)
        got = _received(box_a)
        _publish(control, T.config(BOX_A), b"", retain=True)  # clear the retained config
    assert sorted(got) == [(T.ack(BOX_A), b"ack for A"), (T.config(BOX_A), b"config for A")]


def test_control_writes_commands_and_reads_replies_and_the_ingest_may_not(
    secured: SecuredBroker,
) -> None:
    with (
        secured.connected(BOX_A) as box_a,
        secured.connected("control") as control,
        secured.connected("ingest") as ingest,
    ):
        box_a.subscribe(T.cmd(BOX_A))
        control.subscribe("tw/v1/+/reply")
        ingest.subscribe("tw/v1/+/reply")
        _publish(ingest, T.cmd(BOX_A), b"ingest pretending to command")
        _publish(control, T.cmd(BOX_A), b"snapshot")
        _publish(box_a, T.reply(BOX_A), b"here it is")
        assert _received(box_a) == [(T.cmd(BOX_A), b"snapshot")]
        assert _received(control) == [(T.reply(BOX_A), b"here it is")]
        assert _received(ingest) == []


@pytest.mark.parametrize(
    ("username", "password"),
    [(BOX_A, "not-the-password"), (None, None), (REVOKED, None), ("dh-cam-999", "anything")],
    ids=["wrong-password", "anonymous", "revoked-box", "unknown-box"],
)
def test_logins_that_must_fail_are_refused_not_authorised(
    secured: SecuredBroker, username: str | None, password: str | None
) -> None:
    client = secured.client("refused", username, password)
    try:
        code = client.connect(timeout=WAIT_S)
    finally:
        client.close()
    assert code.is_failure and code == "Not authorized"


def test_boxes_connect_over_tls_with_the_deployment_ca(secured: SecuredBroker) -> None:
    ca = secured.out / "tls" / "ca.crt"
    trusted = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-tls")
    trusted.username_pw_set(BOX_A, "a-random-box-password-aaaaaaaaaaaa")
    trusted.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    assert secured.process.tls_port is not None
    trusted.connect(secured.process.host, secured.process.tls_port)
    try:
        info = trusted.publish(T.status(BOX_A), b"over tls", qos=1)
        trusted.loop_start()
        info.wait_for_publish(WAIT_S)
        assert info.is_published()
    finally:
        trusted.disconnect()
        trusted.loop_stop()
    # A client that trusts only the system's CAs refuses the broker's certificate.
    address = (secured.process.host, secured.process.tls_port)
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(address, timeout=WAIT_S) as raw,
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass
