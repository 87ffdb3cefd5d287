"""Periodic jobs: expired chunk sets are purged and audited; sequence gaps are reported."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from central_server.ingest import OutcomeKind
from central_server.models import ChunkStage, SequenceGap
from protocol.chunks import split_packet
from tests.central_server.ingest.conftest import LIMITS, RECEIVED_AT, IngestEnv
from tests.factories import DEVICE_ID

TTL = timedelta(seconds=LIMITS.chunk_stage_ttl_s)
GAP_AFTER = timedelta(seconds=LIMITS.sequence_gap_report_after_s)


def test_an_incomplete_chunk_set_expires_and_is_audited_as_a_possible_loss(
    ingest_env: IngestEnv,
) -> None:
    header, data = ingest_env.packet()
    chunks = split_packet(header.packet_id, data, chunk_size=100)
    assert ingest_env.send_chunk(chunks[0]).kind is OutcomeKind.staged

    assert ingest_env.ingestor.purge_expired_chunks(RECEIVED_AT + TTL / 2) == []
    assert ingest_env.count(ChunkStage) == 1
    [expired] = ingest_env.ingestor.purge_expired_chunks(RECEIVED_AT + TTL * 2)

    assert (expired.packet_id, expired.chunks, expired.count) == (header.packet_id, 1, len(chunks))
    assert ingest_env.count(ChunkStage) == 0
    [event] = ingest_env.audits("chunks.expired")
    assert event.actor == "system:ingest" and event.entity_id == str(header.packet_id)


def test_a_set_still_receiving_chunks_does_not_expire(ingest_env: IngestEnv) -> None:
    header, data = ingest_env.packet()
    chunks = split_packet(header.packet_id, data, chunk_size=100)
    ingest_env.send_chunk(chunks[0])
    ingest_env.send_chunk(chunks[1], received_at=RECEIVED_AT + TTL)

    assert ingest_env.ingestor.purge_expired_chunks(RECEIVED_AT + TTL * 1.5) == []
    assert ingest_env.count(ChunkStage) == 2


def _open_gaps(env: IngestEnv) -> list[tuple[int, int]]:
    with env.db.session() as session:
        rows = session.exec(
            select(SequenceGap)
            .where(col(SequenceGap.resolved_at).is_(None))
            .order_by(col(SequenceGap.from_seq))
        ).all()
    return [(r.from_seq, r.to_seq) for r in rows]


def test_sequence_gaps_are_reported_once_old_and_resolved_when_the_packet_arrives(
    ingest_env: IngestEnv,
) -> None:
    for seq in (1, 2, 6, 9):
        ingest_env.send(ingest_env.packet(seq=seq)[1])

    # Packets overtake each other: nothing is reported while the neighbours are recent.
    assert ingest_env.ingestor.report_gaps(RECEIVED_AT + GAP_AFTER / 2) == []
    later = RECEIVED_AT + GAP_AFTER * 2
    reported = ingest_env.ingestor.report_gaps(later)
    assert [(g.device_id, g.from_seq, g.to_seq) for g in reported] == [
        (DEVICE_ID, 3, 5),
        (DEVICE_ID, 7, 8),
    ]
    assert ingest_env.ingestor.report_gaps(later) == []  # reported once

    ingest_env.send(ingest_env.packet(seq=4)[1], received_at=later)
    ingest_env.send(ingest_env.packet(seq=7)[1], received_at=later)
    ingest_env.send(ingest_env.packet(seq=8)[1], received_at=later)

    assert _open_gaps(ingest_env) == [(3, 3), (5, 5)]
    assert ingest_env.ingestor.report_gaps(later + GAP_AFTER * 2) == []
