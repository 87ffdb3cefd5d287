"""The ingest's periodic jobs: expire idle chunk sets, report sequence gaps (possible losses)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine

from central_server import audit
from central_server.db import session_scope
from central_server.ingest import staging
from central_server.ingest.gaps import report_gaps
from central_server.ingest.schemas import INGEST_ACTOR
from central_server.ingest.staging import ExpiredSet
from central_server.models import Packet, SequenceGap

logger = logging.getLogger(__name__)


def purge_expired_chunks(engine: Engine, *, ttl_s: float, now: datetime) -> list[ExpiredSet]:
    """Discard chunk sets idle for longer than `ttl_s`, auditing each as a possible loss."""
    with session_scope(engine) as session:
        expired = staging.purge_expired(session, now - timedelta(seconds=ttl_s))
        # Leftover copies of a packet that was stored after all are no loss.
        lost = [item for item in expired if session.get(Packet, item.packet_id) is None]
        for item in lost:
            logger.warning(
                "possible evidence loss: %d of %d chunks of packet %s from %s expired",
                item.chunks,
                item.count,
                item.packet_id,
                item.device_id,
            )
            audit.append(
                session,
                actor=INGEST_ACTOR,
                action="chunks.expired",
                entity_type="packet",
                entity_id=item.packet_id,
                after={
                    "device_id": item.device_id,
                    "chunks": item.chunks,
                    "count": item.count,
                    "bytes": item.size,
                    "first_received_at": item.first_received_at,
                    "last_received_at": item.last_received_at,
                },
            )
    return lost


def report_sequence_gaps(engine: Engine, *, after_s: float, now: datetime) -> list[SequenceGap]:
    """Record sequence gaps whose neighbours are older than `after_s`; return the new ones."""
    with session_scope(engine) as session:
        return report_gaps(session, now=now, cutoff=now - timedelta(seconds=after_s))
