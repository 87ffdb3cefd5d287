"""The ingest's database logic: one evidence message in, one outcome (and signed ack) out.

`Ingestor.handle()` is what a worker thread calls for each MQTT message, and what tests and the
benchmark call directly (`ingest_once`). It never talks to the broker: the caller publishes the
outcome's ack and only then PUBACKs the message. Database and filesystem errors propagate (the
worker retries them); everything about the message itself ends as an outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from central_server.db import session_scope
from central_server.evidence_store import EvidenceStore, FilesystemEvidenceStore
from central_server.ingest import jobs, staging
from central_server.ingest.acks import issue_ack, sent_ack
from central_server.ingest.gaps import fill_gap
from central_server.ingest.quarantine import Refusal, record_refusal
from central_server.ingest.records import (
    add_packet_rows,
    audit_ingested,
    check_clock,
    write_media,
)
from central_server.ingest.schemas import Outcome, OutcomeKind
from central_server.ingest.staging import ExpiredSet, StageStatus
from central_server.ingest.verify import Accepted, AlreadyStored, Rejected, judge
from central_server.models import ChunkStage, Packet, SequenceGap, utcnow
from central_server.server_keys import load_or_create_server_key, register_server_key
from central_server.settings import Settings
from protocol.chunks import Chunk, decode_chunk, reassemble
from protocol.enums import AckStatus, RejectReason
from protocol.errors import ProtocolError, TopicError
from protocol.keys import Ed25519PrivateKey
from protocol.topics import TopicKind, Topics

logger = logging.getLogger(__name__)

# A concurrent worker storing the same packet makes our insert fail; judging again then sees it.
_STORE_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestLimits:
    """The settings the ingest logic reads."""

    max_clock_skew_s: float
    chunk_stage_ttl_s: float
    chunk_stage_max_bytes_per_device: int
    sequence_gap_report_after_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        """Take the limits from the server settings."""
        return cls(
            max_clock_skew_s=settings.max_clock_skew_s,
            chunk_stage_ttl_s=settings.chunk_stage_ttl_s,
            chunk_stage_max_bytes_per_device=settings.chunk_stage_max_bytes_per_device,
            sequence_gap_report_after_s=settings.sequence_gap_report_after_s,
        )


class Ingestor:
    """Verifies, deduplicates, stores and acks evidence; safe to share between worker threads."""

    def __init__(
        self,
        engine: Engine,
        store: EvidenceStore,
        server_key: Ed25519PrivateKey,
        limits: IngestLimits,
        topics: Topics | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.server_key = server_key
        self.limits = limits
        self.topics = topics or Topics()

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> Ingestor:
        """Open the evidence store and the server key (created and registered on first start)."""
        key = load_or_create_server_key(settings.server_key_path)
        with session_scope(engine) as session:
            register_server_key(session, key)
        return cls(
            engine,
            FilesystemEvidenceStore(settings.evidence_dir),
            key,
            IngestLimits.from_settings(settings),
            Topics(settings.topic_prefix),
        )

    def handle(self, topic: str, payload: bytes, received_at: datetime | None = None) -> Outcome:
        """Handle one message from an evidence topic; returns what to ack (if anything)."""
        now = received_at or utcnow()
        try:
            device_id, kind = self.topics.parse(topic)
            if kind is not TopicKind.evidence:
                raise TopicError(f"topic {topic!r} is not an evidence topic")
        except TopicError as exc:
            return self._refuse(Refusal(topic, None, payload, exc.code, str(exc)), now)
        try:
            chunk = decode_chunk(payload)
        except ProtocolError as exc:
            return self._refuse(Refusal(topic, device_id, payload, exc.code, str(exc)), now)
        if chunk.count == 1:  # the common case: nothing to wait for, nothing to stage
            try:
                data = reassemble([chunk])
            except ProtocolError as exc:
                refusal = Refusal(topic, device_id, payload, exc.code, str(exc), chunk)
                return self._refuse(refusal, now)
            return self._complete(topic, device_id, chunk, data, now)
        return self._stage(topic, device_id, chunk, payload, now)

    def handle_set(
        self, topic: str, device_id: str, chunks: list[Chunk], received_at: datetime | None = None
    ) -> Outcome:
        """Store a chunk set held complete in memory: one transaction, no `chunk_stage` rows."""
        now = received_at or utcnow()
        first = chunks[0]
        try:
            data = reassemble(chunks)
        except ProtocolError as exc:
            data = b"".join(c.data for c in sorted(chunks, key=lambda c: c.index))
            return self._refuse(Refusal(topic, device_id, data, exc.code, str(exc), first), now)
        return self._complete(topic, device_id, first, data, now)

    def complete_from_stage(
        self, topic: str, device_id: str, chunks: list[Chunk], received_at: datetime | None = None
    ) -> Outcome | None:
        """Store a partial set held in memory if staged chunks (another process's) complete it.

        None when they don't: the caller then stages its chunks durably.
        """
        first = chunks[0]
        held = {c.index for c in chunks}
        with session_scope(self.engine, read_only=True) as session:
            staged = staging.staged_indexes(session, first.packet_id, first.packet_sha256)
            if len(held | staged) < first.count:
                return None
            rest = [
                c
                for c in staging.staged_chunks(session, first.packet_id, first.packet_sha256)
                if c.index not in held
            ]
        if len(held) + len(rest) < first.count:
            return None  # stored (or refused) by another worker since the first look
        return self.handle_set(topic, device_id, [*chunks, *rest], received_at)

    # ---------------------------------------------------------------- chunks

    def _stage(
        self, topic: str, device_id: str, chunk: Chunk, payload: bytes, now: datetime
    ) -> Outcome:
        for _ in range(_STORE_ATTEMPTS):
            try:
                with session_scope(self.engine) as session:
                    staging.lock_packet(session, chunk.packet_id)
                    # Looked up after the chunk's own row: if a worker stored the packet (and
                    # removed its chunks) in between, this later read sees that packet.
                    if session.get(ChunkStage, (chunk.packet_id, chunk.index)) is None:
                        late = self._late_duplicate(session, device_id, chunk)
                        if late is not None:
                            return late
                    status = staging.stage_chunk(
                        session,
                        device_id,
                        chunk,
                        now=now,
                        max_device_bytes=self.limits.chunk_stage_max_bytes_per_device,
                    )
                    held = self._held_bytes(session, chunk, status)
                break
            except IntegrityError:  # another worker staged the same chunk at the same moment
                continue
        else:
            raise RuntimeError(f"could not stage chunk {chunk.index} of {chunk.packet_id}")
        if status in (StageStatus.staged, StageStatus.duplicate):
            return self._assemble_if_complete(topic, device_id, chunk, now)
        refusal = self._stage_refusal(topic, device_id, chunk, payload, status, held)
        return self._refuse(refusal, now)

    def _late_duplicate(self, session: Session, device_id: str, chunk: Chunk) -> Outcome | None:
        """A chunk of a packet already stored (redelivery, or the box re-sent it)."""
        stored = session.get(Packet, chunk.packet_id)
        if stored is None or stored.sha256 != chunk.packet_sha256:
            return None
        # One ack per re-sent packet, not one per chunk: answer on its last chunk.
        if chunk.index != chunk.count - 1:
            return Outcome(OutcomeKind.ignored, device_id, chunk.packet_id)
        ack = sent_ack(session, chunk.packet_id, AckStatus.stored)
        return Outcome(OutcomeKind.duplicate, device_id, chunk.packet_id, ack)

    @staticmethod
    def _held_bytes(session: Session, chunk: Chunk, status: StageStatus) -> bytes:
        """What is staged of a packet being refused, for its quarantine record."""
        if status is not StageStatus.over_bound:
            return b""
        staged = staging.staged_chunks(session, chunk.packet_id, chunk.packet_sha256)
        return b"".join(c.data for c in staged)

    def _stage_refusal(
        self,
        topic: str,
        device_id: str,
        chunk: Chunk,
        payload: bytes,
        status: StageStatus,
        held: bytes,
    ) -> Refusal:
        if status is StageStatus.over_bound:
            bound = self.limits.chunk_stage_max_bytes_per_device
            detail = f"device {device_id} would stage more than {bound} bytes of chunks"
            data = held + chunk.data
            return Refusal(topic, device_id, data, RejectReason.too_large.value, detail, chunk)
        reason = RejectReason.chunk_error.value
        if status is StageStatus.conflict:
            detail = f"chunk {chunk.index} of {chunk.packet_id} arrived twice with other bytes"
            return Refusal(topic, device_id, payload, reason, detail, chunk)
        detail = f"packet id {chunk.packet_id} is being staged by another device"
        # The other device's set is left alone: this chunk alone is refused.
        return Refusal(topic, device_id, payload, reason, detail, chunk, discard_set=False)

    def _assemble_if_complete(
        self, topic: str, device_id: str, chunk: Chunk, now: datetime
    ) -> Outcome:
        # Counted after our own commit: of two workers staging a set's last chunks at once,
        # the later count sees both, so a complete set is always noticed (maybe twice; the
        # packet's unique id then settles who stores it).
        with session_scope(self.engine, read_only=True) as session:
            if staging.staged_count(session, chunk.packet_id, chunk.packet_sha256) < chunk.count:
                return Outcome(OutcomeKind.staged, device_id, chunk.packet_id)
            chunks = staging.staged_chunks(session, chunk.packet_id, chunk.packet_sha256)
            if len(chunks) < chunk.count:
                # Gone since the count: another worker stored (or refused) the set meanwhile.
                late = self._late_duplicate(session, device_id, chunk)
                return late or Outcome(OutcomeKind.ignored, device_id, chunk.packet_id)
        try:
            data = reassemble(chunks)
        except ProtocolError as exc:
            data = b"".join(c.data for c in chunks)
            return self._refuse(Refusal(topic, device_id, data, exc.code, str(exc), chunk), now)
        return self._complete(topic, device_id, chunk, data, now)

    # ---------------------------------------------------------------- packets

    def _complete(
        self, topic: str, device_id: str, chunk: Chunk, data: bytes, now: datetime
    ) -> Outcome:
        """Judge and store a reassembled packet (its sha256 is checked by `reassemble`)."""
        for _ in range(_STORE_ATTEMPTS):
            with session_scope(self.engine, read_only=True) as session:
                try:
                    verdict = judge(session, self.store, data, chunk, device_id)
                except Rejected as rejected:
                    refusal = Refusal(
                        topic,
                        device_id,
                        data,
                        rejected.reason.value,
                        rejected.detail,
                        chunk,
                        seq=rejected.seq,
                    )
                    return self._refuse(refusal, now)
            if isinstance(verdict, AlreadyStored):
                logger.info("packet %s from %s is a duplicate", verdict.packet_id, device_id)
                return Outcome(OutcomeKind.duplicate, device_id, verdict.packet_id, verdict.ack)
            # Files first: a crash before the commit leaves only content-named orphans.
            write_media(self.store, verdict, data)
            try:
                return self._store(verdict, now)
            except IntegrityError:
                logger.info("packet %s was stored concurrently; judging it again", chunk.packet_id)
        raise RuntimeError(f"packet {chunk.packet_id} could not be stored")

    def _store(self, accepted: Accepted, now: datetime) -> Outcome:
        header = accepted.packet.header
        clock = check_clock(header, now, self.limits.max_clock_skew_s)
        with session_scope(self.engine) as session:
            staging.lock_packet(session, header.packet_id)
            violation = add_packet_rows(session, accepted, received_at=now, clock=clock)
            fill_gap(session, header.device_id, header.seq, now)
            staging.discard(session, header.packet_id)
            ack = issue_ack(
                session,
                self.server_key,
                packet_id=header.packet_id,
                packet_sha256=accepted.sha256,
                device_id=header.device_id,
                seq=header.seq,
                status=AckStatus.stored,
                now=now,
            )
            # Last: appends serialise on the chain head, so hold it for as short as possible.
            audit_ingested(session, accepted, violation, clock)
        if clock.clock_flagged:
            logger.warning(
                "packet %s from %s stored with its clock flagged (skew %.1f s, synced %s)",
                header.packet_id,
                header.device_id,
                clock.skew_s,
                header.clock.synced,
            )
        logger.info("stored packet %s (%s seq %d)", header.packet_id, header.device_id, header.seq)
        return Outcome(OutcomeKind.stored, header.device_id, header.packet_id, ack)

    def _refuse(self, refusal: Refusal, now: datetime) -> Outcome:
        """Quarantine the bytes, audit, and ack `rejected` when the packet is known."""
        blob = self.store.put(refusal.data)  # before the commit, as for stored evidence
        with session_scope(self.engine) as session:
            ack = record_refusal(session, self.server_key, refusal, blob_sha256=blob, now=now)
        logger.warning(
            "quarantined a message on %s: %s (%s)", refusal.topic, refusal.reason, refusal.detail
        )
        packet_id = None if refusal.chunk is None else refusal.chunk.packet_id
        return Outcome(
            OutcomeKind.rejected,
            refusal.device_id,
            packet_id,
            ack,
            refusal.reject_reason,
            refusal.detail,
        )

    # ---------------------------------------------------------------- periodic jobs

    def purge_expired_chunks(self, now: datetime | None = None) -> list[ExpiredSet]:
        """Discard chunk sets idle for longer than the TTL, auditing each as a possible loss."""
        ttl_s = self.limits.chunk_stage_ttl_s
        return jobs.purge_expired_chunks(self.engine, ttl_s=ttl_s, now=now or utcnow())

    def report_gaps(self, now: datetime | None = None) -> list[SequenceGap]:
        """Record sequence gaps older than the reporting delay; return the newly found ones."""
        after_s = self.limits.sequence_gap_report_after_s
        return jobs.report_sequence_gaps(self.engine, after_s=after_s, now=now or utcnow())


def ingest_once(
    ingestor: Ingestor, topic: str, payload: bytes, *, received_at: datetime | None = None
) -> Outcome:
    """Handle one evidence message without MQTT (tests, benchmarks, replays from a file)."""
    return ingestor.handle(topic, payload, received_at)
