"""`Ingestor.handle_set` / `complete_from_stage`: sets held in memory by the worker threads."""

from __future__ import annotations

import dataclasses

from central_server.ingest import OutcomeKind
from central_server.models import ChunkStage, Packet, Quarantine
from protocol.chunks import Chunk, decode_chunk, split_packet
from protocol.enums import RejectReason
from tests.central_server.ingest.conftest import IngestEnv
from tests.factories import DEVICE_ID


def _raw_chunks(env: IngestEnv) -> list[bytes]:
    header, data = env.packet()
    return split_packet(header.packet_id, data, 600)


def _chunks(env: IngestEnv) -> list[Chunk]:
    return [decode_chunk(raw) for raw in _raw_chunks(env)]


def test_a_set_whole_in_memory_is_stored_and_acked_without_staging(ingest_env: IngestEnv) -> None:
    chunks = _chunks(ingest_env)
    outcome = ingest_env.ingestor.handle_set(
        ingest_env.topics.evidence(DEVICE_ID), DEVICE_ID, chunks
    )

    assert outcome.kind is OutcomeKind.stored and outcome.ack is not None
    assert ingest_env.count(Packet) == 1 and ingest_env.count(ChunkStage) == 0


def test_staged_chunks_from_another_process_complete_a_held_set(ingest_env: IngestEnv) -> None:
    raw = _raw_chunks(ingest_env)
    half = len(raw) // 2
    other = ingest_env.second_ingestor()
    # Another process gave up holding the first half and staged it.
    staged = [ingest_env.send_chunk(chunk, ingestor=other) for chunk in raw[:half]]
    assert {o.kind for o in staged} == {OutcomeKind.staged}
    held = [decode_chunk(chunk) for chunk in raw[half:]]

    topic = ingest_env.topics.evidence(DEVICE_ID)
    outcome = ingest_env.ingestor.complete_from_stage(topic, DEVICE_ID, held)

    assert outcome is not None and outcome.kind is OutcomeKind.stored
    assert ingest_env.count(Packet) == 1 and ingest_env.count(ChunkStage) == 0


def test_a_held_set_the_stage_cannot_complete_is_left_to_the_caller(ingest_env: IngestEnv) -> None:
    chunks = _chunks(ingest_env)
    topic = ingest_env.topics.evidence(DEVICE_ID)

    assert ingest_env.ingestor.complete_from_stage(topic, DEVICE_ID, chunks[:1]) is None
    assert ingest_env.count(Packet) == 0


def test_a_held_set_that_does_not_hash_to_its_packet_is_quarantined(ingest_env: IngestEnv) -> None:
    chunks = _chunks(ingest_env)
    chunks[1] = dataclasses.replace(chunks[1], data=bytes(len(chunks[1].data)))
    outcome = ingest_env.ingestor.handle_set(
        ingest_env.topics.evidence(DEVICE_ID), DEVICE_ID, chunks
    )

    assert outcome.kind is OutcomeKind.rejected and outcome.ack is not None
    assert outcome.reason is RejectReason.chunk_error
    assert ingest_env.count(Packet) == 0 and ingest_env.count(Quarantine) == 1
