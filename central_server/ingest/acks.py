"""Signed application acks: made and recorded in the ingest's transaction, re-sent from the table.

The bytes in `sent_ack` are exactly what was published, so a duplicate delivery gets an identical
ack and the evidence bundle can include the server's signed word.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from central_server.models import SentAck, utcnow
from protocol.ack import Ack, seal_ack
from protocol.enums import AckStatus, RejectReason
from protocol.keys import Ed25519PrivateKey

MAX_DETAIL = 500  # Ack.detail's limit on the wire


def issue_ack(
    session: Session,
    server_key: Ed25519PrivateKey,
    *,
    packet_id: uuid.UUID,
    packet_sha256: str,
    device_id: str,
    status: AckStatus,
    seq: int | None = None,
    reason: RejectReason | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> bytes:
    """Sign an ack and record it in `sent_ack` within the caller's transaction."""
    ack = Ack(
        packet_id=packet_id,
        packet_sha256=packet_sha256,
        device_id=device_id,
        seq=seq,
        status=status,
        reason=reason,
        detail=detail[:MAX_DETAIL],
        acked_at=now or utcnow(),
    )
    data = seal_ack(ack, server_key)
    session.add(
        SentAck(
            packet_id=packet_id,
            device_id=device_id,
            status=status,
            reason=reason,
            ack_bytes=data,
            sent_at=ack.acked_at,
        )
    )
    return data


def sent_ack(session: Session, packet_id: uuid.UUID, status: AckStatus) -> bytes | None:
    """The first ack with `status` sent for a packet (what a duplicate delivery gets again)."""
    statement = (
        select(SentAck)
        .where(col(SentAck.packet_id) == packet_id, col(SentAck.status) == status)
        .order_by(col(SentAck.id))
        .limit(1)
    )
    row = session.exec(statement).first()
    return None if row is None else row.ack_bytes
