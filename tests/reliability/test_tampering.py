"""Hostile or mistaken traffic through the real broker: tampered bytes, an unknown device, a revoked
key, a replay, a forged ack, a packet on another device's topic.

Each bad packet must be quarantined with its reason and audited, answered with a signed
`rejected` ack (which a real box files as a dead letter), and leave no violation behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlmodel import col, select

from central_server.db import session_scope
from central_server.devices.service import revoke_key
from central_server.models import AuditEvent, Packet, Quarantine, Violation
from edge_agent.dead_letter import DeadLetterStore
from protocol.ack import Ack, seal_ack
from protocol.chunks import CHUNK_HEADER_LEN, split_packet
from protocol.enums import AckStatus, RejectReason
from protocol.envelope import decode_packet
from protocol.keys import Ed25519PrivateKey, generate_private_key, key_id
from protocol.topics import Topics
from tests.fixtures.brokers import MqttTestClient
from tests.reliability.box import Box, build_packet, record_of
from tests.reliability.harness import CHUNK, WAIT_S, Rig, Sender, wait_until


@pytest.fixture
def sender(rig: Rig) -> Iterator[Sender]:
    """The rig's ingest running, and a sender listening to the acks of cam-a and cam-b."""
    rig.ingest()
    client = Sender(rig, "cam-a", "cam-b")
    yield client
    client.mqtt.close()


def _assert_refused(rig: Rig, packet_id: uuid.UUID, reason: RejectReason, ack: Ack) -> None:
    """Rejected with `reason`, quarantined, audited, and nothing of it stored."""
    assert (ack.status, ack.reason, ack.packet_id) == (AckStatus.rejected, reason, packet_id)
    assert rig.count(Quarantine, col(Quarantine.packet_id) == packet_id) == 1
    assert rig.count(Violation, col(Violation.packet_id) == packet_id) == 0
    assert rig.count(Packet, col(Packet.packet_id) == packet_id) == 0
    with session_scope(rig.database.engine, read_only=True) as session:
        audited = session.exec(
            select(AuditEvent.entity_id).where(col(AuditEvent.action) == "packet.quarantined")
        ).all()
    assert audited, "the quarantine was not audited"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _tampered(key: Ed25519PrivateKey, how: str) -> tuple[uuid.UUID, list[bytes], RejectReason]:
    """A cam-a packet with one bit flipped, as chunks; and the reason it must be refused for."""
    header, data = build_packet(key, "cam-a", 1)
    packet_id = header.packet_id
    if how == "media":  # flipped before chunking: the chunks agree with the tampered bytes
        tampered = _flip(data, len(data) - 100)
        return packet_id, split_packet(packet_id, tampered, CHUNK), RejectReason.part_hash_mismatch
    if how == "header":  # a signed fact changed: still canonical CBOR, the signature fails
        tampered = _flip(data, data.index(b"north") + 4)  # "north" -> "norti"
        return packet_id, split_packet(packet_id, tampered, CHUNK), RejectReason.bad_signature
    chunks = split_packet(packet_id, data, CHUNK)  # in transit: after chunking
    chunks[1] = _flip(chunks[1], CHUNK_HEADER_LEN + 10)
    return packet_id, chunks, RejectReason.chunk_error


@pytest.mark.parametrize("how", ["media", "header", "transit"])
def test_a_flipped_bit_is_quarantined_and_rejected(rig: Rig, sender: Sender, how: str) -> None:
    key = rig.enrol("cam-a")
    packet_id, chunks, reason = _tampered(key, how)
    sender.send("cam-a", chunks)
    topic, ack = sender.ack()
    assert topic == sender.topics.ack("cam-a")
    _assert_refused(rig, packet_id, reason, ack)


def test_a_packet_on_another_devices_topic_is_rejected(rig: Rig, sender: Sender) -> None:
    key_a = rig.enrol("cam-a")
    rig.enrol("cam-b")
    header, data = build_packet(key_a, "cam-a", 1)
    sender.send("cam-b", split_packet(header.packet_id, data, CHUNK))  # cam-b's credentials
    topic, ack = sender.ack()
    assert topic == sender.topics.ack("cam-b")  # answered to the sender, not to cam-a
    _assert_refused(rig, header.packet_id, RejectReason.device_topic_mismatch, ack)


def _dead_letter_of(box: Box, packet_id: str) -> str:
    """Wait until the box filed the packet as a dead letter; return the reason."""
    store = DeadLetterStore(box.outbox)
    wait_until(
        lambda: any(str(d.packet_id) == packet_id for d in store.list()), what="a dead letter"
    )
    assert box.depth() == 0
    return next(d.reason for d in store.list() if str(d.packet_id) == packet_id)


def test_an_unknown_device_gets_its_packet_dead_lettered_and_can_resend_once_enrolled(
    rig: Rig,
) -> None:
    dev = rig.device("cam-stranger")
    rig.ingest()
    key = generate_private_key()
    box = rig.box(dev, key)
    record = box.produce(1)
    assert _dead_letter_of(box, record.packet_id) == RejectReason.unknown_device.value
    assert rig.count(Quarantine, col(Quarantine.reason) == "unknown_device") == 1

    rig.enrol(dev, key)  # the technician enrols it, then resends the dead letters
    DeadLetterStore(box.outbox).resend()
    wait_until(lambda: rig.is_stored(record.packet_id), what="the resent packet")
    box.stop()
    assert rig.check(box.paths).stored == 1


def test_a_revoked_key_gets_its_packets_rejected(rig: Rig) -> None:
    dev = rig.device("cam-revoked")
    key = rig.enrol(dev)
    with rig.database.session() as session:
        revoke_key(session, key_id_=key_id(key), actor="test:admin", reason="box stolen")
    rig.ingest()
    box = rig.box(dev, key)
    record = box.produce(1)
    assert _dead_letter_of(box, record.packet_id) == RejectReason.revoked_key.value
    assert rig.count(Violation, col(Violation.device_id) == dev) == 0


def test_a_replay_is_rejected_and_the_stored_evidence_is_untouched(rig: Rig) -> None:
    dev = rig.device("cam-replay")
    key = rig.enrol(dev)
    rig.ingest()
    box = rig.box(dev, key)
    original = box.produce(7)
    wait_until(lambda: box.depth() == 0, what="the original packet")
    # Other evidence signed under the same sequence number (a cloned key replaying, or a box
    # that reused a number after losing its counter).
    _, other = build_packet(key, dev, 7)
    replay = record_of(other)
    box.outbox.put(decode_packet(other).header.packet_id, 7, other)
    assert _dead_letter_of(box, replay.packet_id) == RejectReason.replay.value
    with session_scope(rig.database.engine, read_only=True) as session:
        stored = session.exec(select(Packet.sha256).where(col(Packet.device_id) == dev))
        assert list(stored) == [original.sha256]
    assert rig.count(Violation, col(Violation.device_id) == dev) == 1


def test_a_forged_ack_does_not_release_the_packet(rig: Rig) -> None:
    dev = rig.device("cam-forged")
    key = rig.enrol(dev)
    box = rig.box(dev, key)  # no ingest yet: only the forger answers
    record = box.produce(1)
    forger = MqttTestClient(rig.endpoint.host, rig.endpoint.port, rig.endpoint.client_id("forger"))
    assert not forger.connect().is_failure
    topic = Topics(rig.endpoint.topic_prefix).ack(dev)
    claim = Ack(
        packet_id=uuid.UUID(record.packet_id),
        packet_sha256=record.sha256,
        device_id=dev,
        seq=1,
        status=AckStatus.stored,
        acked_at=datetime.now(timezone.utc),
    )
    forger.publish(topic, seal_ack(claim, generate_private_key())).wait_for_publish(WAIT_S)
    # The server's real signature, but for another device's packet: replayed onto our topic.
    elsewhere = claim.model_copy(update={"device_id": "cam-other"})
    forger.publish(topic, seal_ack(elsewhere, rig.server_key)).wait_for_publish(WAIT_S)
    forger.close()
    wait_until(lambda: box.publisher.counters().forged_acks == 2, what="both forgeries")
    assert box.depth() == 1  # kept: only the server's word for this packet releases it

    rig.ingest()
    wait_until(lambda: box.depth() == 0, what="the real ack")
    box.stop()
    assert rig.check(box.paths).stored == 1
