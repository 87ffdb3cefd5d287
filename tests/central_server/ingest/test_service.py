"""The ingest's database logic: a good packet is stored once, acked, audited; repeats are dupes."""

from __future__ import annotations

from sqlmodel import col, select

from central_server.ingest import OutcomeKind
from central_server.models import (
    Device,
    EvidencePart,
    Packet,
    SentAck,
    Violation,
    ViolationStatus,
)
from protocol.ack import open_ack
from protocol.chunks import split_packet
from protocol.enums import AckStatus, MediaRole
from protocol.envelope import drop_parts, packet_sha256
from tests.central_server.ingest.conftest import RECEIVED_AT, SITE_ID, IngestEnv
from tests.factories import DEVICE_ID


def test_a_good_packet_is_stored_with_its_rows_media_audit_and_a_signed_ack(
    ingest_env: IngestEnv,
) -> None:
    header, data = ingest_env.packet()
    [outcome] = ingest_env.send(data, packet_id=header.packet_id)

    assert outcome.kind is OutcomeKind.stored
    assert outcome.ack is not None
    ack = open_ack(outcome.ack, ingest_env.server_key.public_key())
    assert (ack.status, ack.packet_id, ack.seq) == (AckStatus.stored, header.packet_id, header.seq)
    assert ack.packet_sha256 == packet_sha256(data) and ack.device_id == DEVICE_ID
    with ingest_env.db.session() as session:
        packet = session.get(Packet, header.packet_id)
        assert packet is not None and packet.sha256 == packet_sha256(data)
        violation = session.exec(select(Violation)).one()
        assert violation.packet_id == header.packet_id
        assert violation.status is ViolationStatus.pending_review
        assert violation.site_id == SITE_ID and violation.behaviour.value == "red_light"
        assert violation.facts["violation"]["signal"]["time_into_red_s"] == 2.0
        assert violation.plate_text == "73AA12345" and violation.plate_candidates
        assert not violation.clock_flagged
        parts = session.exec(select(EvidencePart)).all()
        assert {p.role for p in parts} == {d.role for d in header.parts}
        device = session.get(Device, DEVICE_ID)
        assert device is not None and device.last_seq == header.seq
        assert device.last_seen_at == RECEIVED_AT
        sent = session.exec(select(SentAck)).one()
        assert sent.ack_bytes == outcome.ack
    # The media and the original signed bytes are in the content-addressed store.
    assert ingest_env.store.get(packet_sha256(data)) == data
    assert all(ingest_env.store.exists(d.sha256) for d in header.parts)
    [event] = ingest_env.audits("violation.ingested")
    assert event.actor == f"device:{DEVICE_ID}" and event.entity_id == str(violation.id)


def test_the_same_packet_again_is_a_duplicate_with_the_identical_ack(
    ingest_env: IngestEnv,
) -> None:
    header, data = ingest_env.packet()
    [first] = ingest_env.send(data, packet_id=header.packet_id)
    [again] = ingest_env.send(data, packet_id=header.packet_id)

    assert again.kind is OutcomeKind.duplicate
    assert again.ack == first.ack
    assert ingest_env.count(Packet) == 1 and ingest_env.count(Violation) == 1
    assert len(ingest_env.audits("violation.ingested")) == 1


def test_chunks_out_of_order_and_duplicated_are_assembled_once(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet()
    chunks = split_packet(header.packet_id, data, chunk_size=100)
    assert len(chunks) >= 4
    order = [2, 0, 2, *range(3, len(chunks)), 0, 1]
    outcomes = [ingest_env.send_chunk(chunks[i]) for i in order]

    kinds = [o.kind for o in outcomes]
    assert kinds[:-1] == [OutcomeKind.staged] * (len(order) - 1)
    assert kinds[-1] is OutcomeKind.stored
    assert ingest_env.count(Packet) == 1
    # Staged chunks are gone with the commit; a late copy of a middle chunk is just dropped, a
    # late copy of the last one gets the stored ack again.
    from central_server.models import ChunkStage

    assert ingest_env.count(ChunkStage) == 0
    assert ingest_env.send_chunk(chunks[1]).kind is OutcomeKind.ignored
    late = ingest_env.send_chunk(chunks[-1])
    assert late.kind is OutcomeKind.duplicate and late.ack == outcomes[-1].ack
    assert ingest_env.count(ChunkStage) == 0


def test_chunks_split_between_two_workers_are_assembled_exactly_once(
    ingest_env: IngestEnv,
) -> None:
    other = ingest_env.second_ingestor()
    header, data = ingest_env.packet()
    chunks = split_packet(header.packet_id, data, chunk_size=100)
    outcomes = [
        ingest_env.send_chunk(chunk, ingestor=other if i % 2 else None)
        for i, chunk in enumerate(chunks)
    ]

    assert [o.kind for o in outcomes].count(OutcomeKind.stored) == 1
    assert ingest_env.count(Packet) == 1 and ingest_env.count(Violation) == 1


def test_a_part_dropped_by_the_box_is_recorded_dropped(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet(dropped=[MediaRole.clip])
    [outcome] = ingest_env.send(data, packet_id=header.packet_id)

    assert outcome.kind is OutcomeKind.stored
    with ingest_env.db.session() as session:
        parts = {p.role: p for p in session.exec(select(EvidencePart)).all()}
    clip = header.part(MediaRole.clip)
    assert clip is not None and parts[MediaRole.clip].dropped
    assert parts[MediaRole.clip].sha256 == clip.sha256  # the signed hash is kept
    assert not ingest_env.store.exists(clip.sha256)
    assert not parts[MediaRole.scene_at].dropped


def test_a_resend_with_a_part_dropped_after_storing_is_a_duplicate(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet()
    [first] = ingest_env.send(data, packet_id=header.packet_id)
    thinner = drop_parts(data, [MediaRole.clip])  # same signature, other bytes
    [again] = ingest_env.send(thinner, packet_id=header.packet_id)

    assert again.kind is OutcomeKind.duplicate and again.ack == first.ack
    assert ingest_env.count(Packet) == 1
    with ingest_env.db.session() as session:
        clip = session.exec(
            select(EvidencePart).where(col(EvidencePart.role) == MediaRole.clip)
        ).one()
    assert not clip.dropped


def test_a_packet_naming_an_unregistered_site_is_filed_under_the_devices_site(
    ingest_env: IngestEnv,
) -> None:
    _, data = ingest_env.packet(site_id="not-registered")
    assert ingest_env.send(data)[0].kind is OutcomeKind.stored

    with ingest_env.db.session() as session:
        violation = session.exec(select(Violation)).one()
    assert violation.site_id == SITE_ID
    assert violation.facts["site_id"] == "not-registered"  # the signed fact is kept as sent


def test_a_site_nobody_registered_is_created_rather_than_the_evidence_dropped(
    ingest_env: IngestEnv,
) -> None:
    with ingest_env.db.session() as session:
        device = session.get(Device, DEVICE_ID)
        assert device is not None
        device.site_id = None
        session.add(device)
    _, data = ingest_env.packet(site_id="new-site-7")
    assert ingest_env.send(data)[0].kind is OutcomeKind.stored

    with ingest_env.db.session() as session:
        assert session.exec(select(Violation)).one().site_id == "new-site-7"
    assert [e.entity_id for e in ingest_env.audits("site.registered")] == ["new-site-7"]
