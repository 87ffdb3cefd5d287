"""Bad packets are quarantined, audited and acked `rejected` with the reason; never half-stored."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from central_server.ingest import OutcomeKind
from central_server.models import (
    ChunkStage,
    Device,
    DeviceKey,
    EvidencePart,
    Packet,
    Quarantine,
    Violation,
)
from protocol.ack import open_ack
from protocol.chunks import split_packet
from protocol.enums import AckStatus, RejectReason
from protocol.envelope import packet_sha256
from protocol.ids import new_packet_id
from protocol.keys import generate_private_key
from tests.central_server.ingest.conftest import IngestEnv
from tests.factories import DEVICE_ID
from tests.factories_db import make_device, make_device_key


def _assert_rejected(
    env: IngestEnv, data: bytes, reason: RejectReason, device: str = DEVICE_ID
) -> None:
    """Send `data`; it must be refused with `reason`, quarantined, audited, and nothing stored."""
    outcome = env.send(data, device_id=device)[-1]
    assert outcome.kind is OutcomeKind.rejected
    assert outcome.reason is reason
    assert outcome.ack is not None
    ack = open_ack(outcome.ack, env.server_key.public_key())
    assert (ack.status, ack.reason, ack.device_id) == (AckStatus.rejected, reason, device)
    assert ack.packet_sha256 == packet_sha256(data)
    with env.db.session() as session:
        quarantined = session.exec(select(Quarantine)).all()
    assert [q.reason for q in quarantined][-1] == reason.value
    assert quarantined[-1].device_id == device and quarantined[-1].blob_sha256 is not None
    assert env.store.get(quarantined[-1].blob_sha256) == data
    assert env.audits("packet.quarantined")[-1].actor == "system:ingest"


def _flip(data: bytes, needle: bytes, replacement: bytes) -> bytes:
    assert len(needle) == len(replacement) and data.count(needle) == 1
    return data.replace(needle, replacement)


def test_a_tampered_header_is_rejected_as_a_bad_signature(ingest_env: IngestEnv) -> None:
    _, data = ingest_env.packet()
    tampered = _flip(data, b"north", b"south")  # camera id: canonical CBOR, wrong signature

    _assert_rejected(ingest_env, tampered, RejectReason.bad_signature)
    assert ingest_env.count(Violation) == 0 and ingest_env.count(Packet) == 0


def test_a_tampered_part_is_rejected_as_a_hash_mismatch(ingest_env: IngestEnv) -> None:
    _, data = ingest_env.packet()
    tampered = data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:]  # inside the last part

    _assert_rejected(ingest_env, tampered, RejectReason.part_hash_mismatch)
    assert ingest_env.count(Violation) == 0 and ingest_env.count(EvidencePart) == 0


def test_garbage_is_rejected_as_malformed(ingest_env: IngestEnv) -> None:
    _assert_rejected(ingest_env, b"definitely not a packet", RejectReason.malformed)


def test_an_unreadable_chunk_is_quarantined_without_an_ack(ingest_env: IngestEnv) -> None:
    outcome = ingest_env.send_chunk(b"TWEC-truncated")

    assert outcome.kind is OutcomeKind.rejected and outcome.ack is None
    assert ingest_env.count(Quarantine) == 1


def test_a_packet_from_an_unknown_device_is_rejected(ingest_env: IngestEnv) -> None:
    _, data = ingest_env.packet(device_id="dh-cam-999")

    _assert_rejected(ingest_env, data, RejectReason.unknown_device, device="dh-cam-999")


def test_a_packet_on_another_devices_topic_is_rejected(ingest_env: IngestEnv) -> None:
    with ingest_env.db.session() as session:
        make_device(session, id="dh-cam-002")
    _, data = ingest_env.packet()  # signed by DEVICE_ID

    _assert_rejected(ingest_env, data, RejectReason.device_topic_mismatch, device="dh-cam-002")


def test_a_revoked_key_is_refused(ingest_env: IngestEnv) -> None:
    with ingest_env.db.session() as session:
        key = session.exec(select(DeviceKey)).one()
        key.revoked_at = datetime.now(timezone.utc)
        session.add(key)
    _, data = ingest_env.packet()

    _assert_rejected(ingest_env, data, RejectReason.revoked_key)


def test_a_key_registered_for_another_device_is_refused(ingest_env: IngestEnv) -> None:
    other_key = generate_private_key()
    with ingest_env.db.session() as session:
        make_device_key(session, private_key=other_key, device_id=make_device(session).id)
    _, data = ingest_env.packet(key=other_key)

    _assert_rejected(ingest_env, data, RejectReason.bad_signature)


@pytest.mark.parametrize(("valid_from", "valid_to"), [(500, None), (0, 50)])
def test_a_key_valid_only_for_other_sequences_is_refused(
    ingest_env: IngestEnv, valid_from: int, valid_to: int | None
) -> None:
    with ingest_env.db.session() as session:
        key = session.exec(select(DeviceKey)).one()
        key.valid_from_seq, key.valid_to_seq = valid_from, valid_to
        session.add(key)
    _, data = ingest_env.packet(seq=100)

    _assert_rejected(ingest_env, data, RejectReason.key_not_valid_for_sequence)


def test_the_same_packet_id_with_other_bytes_is_a_replay(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet()
    ingest_env.send(data)
    _, forged = ingest_env.packet(packet_id=header.packet_id, seq=header.seq + 1)

    _assert_rejected(ingest_env, forged, RejectReason.replay)
    assert ingest_env.count(Packet) == 1


def test_the_same_sequence_under_another_packet_id_is_a_replay(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet()
    ingest_env.send(data)
    _, again = ingest_env.packet(seq=header.seq)

    _assert_rejected(ingest_env, again, RejectReason.replay)
    assert ingest_env.count(Packet) == 1


def test_a_lower_sequence_not_seen_before_is_accepted(ingest_env: IngestEnv) -> None:
    _, later = ingest_env.packet(seq=20)
    _, earlier = ingest_env.packet(seq=10)

    assert ingest_env.send(later)[0].kind is OutcomeKind.stored
    assert ingest_env.send(earlier)[0].kind is OutcomeKind.stored


def test_a_device_over_its_staging_bound_has_the_packet_refused(ingest_env: IngestEnv) -> None:
    small = ingest_env.second_ingestor(chunk_stage_max_bytes_per_device=250)
    header, data = ingest_env.packet()
    chunks = split_packet(header.packet_id, data, chunk_size=100)
    outcomes = [ingest_env.send_chunk(c, ingestor=small) for c in chunks[:3]]

    assert [o.kind for o in outcomes[:2]] == [OutcomeKind.staged] * 2
    assert outcomes[2].kind is OutcomeKind.rejected
    assert outcomes[2].reason is RejectReason.too_large and outcomes[2].ack is not None
    assert ingest_env.count(ChunkStage) == 0
    with ingest_env.db.session() as session:
        quarantined = session.exec(select(Quarantine)).one()
    assert quarantined.packet_id == header.packet_id and quarantined.reason == "too_large"


def test_a_redelivered_bad_packet_is_quarantined_once_and_answered_again(
    ingest_env: IngestEnv,
) -> None:
    _, data = ingest_env.packet(device_id="dh-cam-999")
    first = ingest_env.send(data, device_id="dh-cam-999")[-1]
    again = ingest_env.send(data, device_id="dh-cam-999")[-1]

    assert first.kind is again.kind is OutcomeKind.rejected
    assert again.ack is not None and again.reason is RejectReason.unknown_device
    assert ingest_env.count(Quarantine) == 1
    assert len(ingest_env.audits("packet.quarantined")) == 1


def test_chunks_naming_another_packet_id_than_the_header_are_refused(
    ingest_env: IngestEnv,
) -> None:
    _, data = ingest_env.packet()
    outcome = ingest_env.send(data, packet_id=new_packet_id())[-1]

    assert outcome.kind is OutcomeKind.rejected and outcome.reason is RejectReason.chunk_error
    assert ingest_env.count(Packet) == 0


def test_a_revoked_device_is_refused(ingest_env: IngestEnv) -> None:
    with ingest_env.db.session() as session:
        device = session.get(Device, DEVICE_ID)
        assert device is not None
        device.revoked_at = datetime.now(timezone.utc)
        session.add(device)
    _, data = ingest_env.packet()

    _assert_rejected(ingest_env, data, RejectReason.revoked_key)
