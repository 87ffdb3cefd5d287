"""Quarantine: a refused message's reason, detail and bytes, kept for an investigator."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from central_server import audit
from central_server.ingest import staging
from central_server.ingest.acks import issue_ack
from central_server.ingest.schemas import INGEST_ACTOR
from central_server.models import Quarantine
from protocol.chunks import Chunk
from protocol.enums import AckStatus, RejectReason
from protocol.keys import Ed25519PrivateKey

logger = logging.getLogger(__name__)

TOPIC_MAX = 255  # the column's length; a longer topic is cut, the device id is kept separately
_REASONS = {reason.value: reason for reason in RejectReason}


@dataclass(frozen=True)
class Refusal:
    """A message the ingest refuses: where it came from, why, and the bytes to keep."""

    topic: str
    device_id: str | None
    data: bytes
    reason: str  # a RejectReason value, or `bad_topic` (nobody to answer)
    detail: str
    chunk: Chunk | None = None  # names the packet (id, declared sha256) when known
    seq: int | None = None
    discard_set: bool = True  # False when the staged chunks belong to someone else

    @property
    def reject_reason(self) -> RejectReason | None:
        """The reason as the ack carries it; None when there is nobody to answer."""
        if self.chunk is None or self.device_id is None:
            return None
        return _REASONS.get(self.reason)


def record_refusal(
    session: Session,
    server_key: Ed25519PrivateKey,
    refusal: Refusal,
    *,
    blob_sha256: str,
    now: datetime,
) -> bytes | None:
    """Quarantine (once per bytes and reason), audit, drop its staged chunks, sign the ack."""
    chunk = refusal.chunk
    packet_id = None if chunk is None else chunk.packet_id
    if packet_id is None or not _already_quarantined(
        session, packet_id, blob_sha256, refusal.reason
    ):
        _add(session, refusal, packet_id, blob_sha256, now)
    if packet_id is not None and refusal.discard_set:
        staging.discard(session, packet_id)
    reason = refusal.reject_reason
    if chunk is None or refusal.device_id is None or reason is None:
        return None
    return issue_ack(
        session,
        server_key,
        packet_id=chunk.packet_id,
        packet_sha256=chunk.packet_sha256,
        device_id=refusal.device_id,
        seq=refusal.seq,
        status=AckStatus.rejected,
        reason=reason,
        detail=refusal.detail,
        now=now,
    )


def _already_quarantined(session: Session, packet_id: uuid.UUID, sha256: str, reason: str) -> bool:
    """Whether these exact bytes were quarantined for this reason before (a redelivery)."""
    statement = select(func.count()).where(
        col(Quarantine.packet_id) == packet_id,
        col(Quarantine.sha256) == sha256,
        col(Quarantine.reason) == reason,
    )
    return bool(session.exec(statement).one())


def _add(
    session: Session,
    refusal: Refusal,
    packet_id: uuid.UUID | None,
    sha256: str,
    now: datetime,
) -> None:
    row = Quarantine(
        received_at=now,
        device_id=refusal.device_id,
        topic=refusal.topic[:TOPIC_MAX],
        reason=refusal.reason,
        detail=refusal.detail,
        sha256=sha256,
        blob_sha256=sha256,
        packet_id=packet_id,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=INGEST_ACTOR,
        action="packet.quarantined",
        entity_type="quarantine",
        entity_id=row.id or 0,
        after={
            "reason": refusal.reason,
            "detail": refusal.detail,
            "device_id": refusal.device_id,
            "topic": row.topic,
            "packet_id": None if packet_id is None else str(packet_id),
            "sha256": sha256,
        },
    )
