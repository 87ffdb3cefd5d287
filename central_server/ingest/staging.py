"""Durable chunk staging: chunks wait in `chunk_stage` until one worker holds a complete set.

With a shared subscription each chunk of a packet may reach a different ingest worker (or a
different process), so a chunk is committed here before its PUBACK; whichever worker then finds
the set complete assembles it. Idempotent on (packet id, index); bounded per device by bytes;
sets that stop making progress expire (the purge is audited by the caller as a possible loss).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import delete, func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from central_server.models import ChunkStage
from protocol.chunks import Chunk
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR


class StageStatus(str, Enum):
    """What staging one chunk did."""

    staged = "staged"  # new chunk committed
    duplicate = "duplicate"  # the identical chunk was already staged (QoS 1 redelivery)
    conflict = "conflict"  # same packet, index and hash but other bytes: the set is corrupt
    foreign = "foreign"  # another device is staging a packet with this id
    over_bound = "over_bound"  # the device's staged bytes would exceed the bound


@dataclass(frozen=True)
class ExpiredSet:
    """An incomplete chunk set the purge removed."""

    packet_id: uuid.UUID
    device_id: str
    chunks: int
    count: int
    size: int
    first_received_at: datetime
    last_received_at: datetime


def lock_packet(session: Session, packet_id: uuid.UUID) -> None:
    """Serialise staging and storing of one packet across workers (PostgreSQL).

    Without it a chunk could be staged by one worker just after another worker stored the packet
    and cleared its chunks, leaving a stray row. SQLite needs nothing: its write transactions
    begin IMMEDIATE and so already run one at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(packet_id.bytes[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def stage_chunk(
    session: Session, device_id: str, chunk: Chunk, *, now: datetime, max_device_bytes: int
) -> StageStatus:
    """Stage one chunk in the caller's transaction (checked against the device's byte bound)."""
    existing = session.get(ChunkStage, (chunk.packet_id, chunk.index))
    if existing is not None and existing.device_id != device_id:
        return StageStatus.foreign
    if existing is not None and existing.packet_sha256 == chunk.packet_sha256:
        return StageStatus.duplicate if existing.data == chunk.data else StageStatus.conflict
    if _other_device_stages(session, chunk.packet_id, device_id):
        return StageStatus.foreign
    # Same packet id, another whole-packet hash: the box re-encoded it (e.g. dropped a part
    # after signing when its disk filled) and sent it again. The newer version replaces the old.
    session.execute(
        delete(ChunkStage).where(
            col(ChunkStage.packet_id) == chunk.packet_id,
            col(ChunkStage.packet_sha256) != chunk.packet_sha256,
        )
    )
    if staged_bytes(session, device_id) + len(chunk.data) > max_device_bytes:
        return StageStatus.over_bound
    session.add(
        ChunkStage(
            packet_id=chunk.packet_id,
            index=chunk.index,
            device_id=device_id,
            count=chunk.count,
            total_size=chunk.total_size,
            packet_sha256=chunk.packet_sha256,
            data=chunk.data,
            received_at=now,
        )
    )
    session.flush()
    return StageStatus.staged


def _other_device_stages(session: Session, packet_id: uuid.UUID, device_id: str) -> bool:
    statement = select(func.count()).where(
        col(ChunkStage.packet_id) == packet_id, col(ChunkStage.device_id) != device_id
    )
    return bool(session.exec(statement).one())


def staged_bytes(session: Session, device_id: str) -> int:
    """Bytes of chunk data a device has staged."""
    statement = select(func.coalesce(func.sum(func.length(ChunkStage.data)), 0)).where(
        col(ChunkStage.device_id) == device_id
    )
    return int(session.exec(statement).one())


def staged_chunks(session: Session, packet_id: uuid.UUID, packet_sha256: str) -> list[Chunk]:
    """The staged chunks of one packet version, in index order."""
    statement = (
        select(ChunkStage)
        .where(
            col(ChunkStage.packet_id) == packet_id,
            col(ChunkStage.packet_sha256) == packet_sha256,
        )
        .order_by(col(ChunkStage.index))
    )
    return [
        # The table keeps only what reassembly compares; the framing version was checked on
        # arrival (decode_chunk refuses another major).
        Chunk(
            major=PROTOCOL_MAJOR,
            minor=PROTOCOL_MINOR,
            packet_id=row.packet_id,
            index=row.index,
            count=row.count,
            total_size=row.total_size,
            packet_sha256=row.packet_sha256,
            data=row.data,
        )
        for row in session.exec(statement)
    ]


def staged_indexes(session: Session, packet_id: uuid.UUID, packet_sha256: str) -> set[int]:
    """The indexes of one packet version that are staged (without reading their bytes)."""
    statement = select(ChunkStage.index).where(
        col(ChunkStage.packet_id) == packet_id, col(ChunkStage.packet_sha256) == packet_sha256
    )
    return set(session.exec(statement).all())


def staged_count(session: Session, packet_id: uuid.UUID, packet_sha256: str) -> int:
    """How many chunks of one packet version are staged."""
    statement = select(func.count()).where(
        col(ChunkStage.packet_id) == packet_id, col(ChunkStage.packet_sha256) == packet_sha256
    )
    return int(session.exec(statement).one())


def discard(session: Session, packet_id: uuid.UUID) -> None:
    """Delete every staged chunk of a packet (stored, quarantined or superseded)."""
    session.execute(delete(ChunkStage).where(col(ChunkStage.packet_id) == packet_id))


def purge_expired(session: Session, cutoff: datetime) -> list[ExpiredSet]:
    """Remove chunk sets that received nothing since `cutoff`; return what was removed."""
    last = func.max(ChunkStage.received_at)
    statement = (
        sa_select(
            col(ChunkStage.packet_id),
            col(ChunkStage.device_id),
            func.count(),
            func.max(ChunkStage.count),
            func.coalesce(func.sum(func.length(ChunkStage.data)), 0),
            func.min(ChunkStage.received_at),
            last,
        )
        .group_by(col(ChunkStage.packet_id), col(ChunkStage.device_id))
        .having(last < cutoff)
    )
    expired = [
        ExpiredSet(
            packet_id=row[0],
            device_id=row[1],
            chunks=int(row[2]),
            count=int(row[3]),
            size=int(row[4]),
            first_received_at=row[5],
            last_received_at=row[6],
        )
        for row in session.execute(statement).all()
    ]
    for item in expired:
        discard(session, item.packet_id)
    return expired
