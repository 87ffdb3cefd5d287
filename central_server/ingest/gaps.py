"""Sequence gaps: numbers missing between a device's stored packets, reported as possible losses.

Packets overtake each other (a box republishes what lacked an ack), so a gap is reported only once
both packets around it are older than `sequence_gap_report_after_s`. A packet that arrives later
resolves its gap (or splits it) in the same transaction that stores it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from central_server.models import Packet, SequenceGap, UtcDateTime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gap:
    """Missing sequence numbers `from_seq`..`to_seq` (inclusive) of one device."""

    device_id: str
    from_seq: int
    to_seq: int


def fill_gap(session: Session, device_id: str, seq: int, now: datetime) -> None:
    """Resolve (or split) the open gaps containing `seq`, in the caller's transaction."""
    statement = select(SequenceGap).where(
        col(SequenceGap.device_id) == device_id,
        col(SequenceGap.resolved_at).is_(None),
        col(SequenceGap.from_seq) <= seq,
        col(SequenceGap.to_seq) >= seq,
    )
    for gap in session.exec(statement).all():
        gap.resolved_at = now
        session.add(gap)
        logger.info("sequence gap %s %d-%d: %d arrived", device_id, gap.from_seq, gap.to_seq, seq)
        for low, high in ((gap.from_seq, seq - 1), (seq + 1, gap.to_seq)):
            if low <= high:  # the rest of the range is still missing
                session.add(
                    SequenceGap(
                        device_id=device_id,
                        from_seq=low,
                        to_seq=high,
                        first_noticed_at=gap.first_noticed_at,
                    )
                )


def find_gaps(session: Session, cutoff: datetime) -> list[Gap]:
    """Gaps between stored packets of each device whose neighbours arrived before `cutoff`."""
    device, seq = col(Packet.device_id), col(Packet.seq)
    ordered = sa_select(
        device.label("device_id"),
        seq.label("seq"),
        col(Packet.received_at).label("received_at"),
        func.lag(seq).over(partition_by=device, order_by=seq).label("prev_seq"),
        # The type makes the comparison below bind `cutoff` as the column stores times.
        func.lag(col(Packet.received_at), type_=UtcDateTime)
        .over(partition_by=device, order_by=seq)
        .label("prev_at"),
    ).subquery()
    statement = (
        sa_select(ordered.c.device_id, ordered.c.prev_seq, ordered.c.seq)
        .where(
            ordered.c.seq - ordered.c.prev_seq > 1,
            ordered.c.received_at < cutoff,
            ordered.c.prev_at < cutoff,
        )
        .order_by(ordered.c.device_id, ordered.c.seq)
    )
    return [Gap(row[0], int(row[1]) + 1, int(row[2]) - 1) for row in session.execute(statement)]


def report_gaps(session: Session, *, now: datetime, cutoff: datetime) -> list[SequenceGap]:
    """Record gaps not yet open in `sequence_gap` and warn about each; return the new rows."""
    open_rows = session.exec(
        select(SequenceGap).where(col(SequenceGap.resolved_at).is_(None))
    ).all()
    known: dict[str, list[tuple[int, int]]] = {}
    for row in open_rows:
        known.setdefault(row.device_id, []).append((row.from_seq, row.to_seq))
    new_rows: list[SequenceGap] = []
    for gap in find_gaps(session, cutoff):
        ranges = known.get(gap.device_id, [])
        if any(low <= gap.to_seq and gap.from_seq <= high for low, high in ranges):
            continue  # already reported (or a split of a reported gap)
        row = SequenceGap(
            device_id=gap.device_id,
            from_seq=gap.from_seq,
            to_seq=gap.to_seq,
            first_noticed_at=now,
        )
        session.add(row)
        new_rows.append(row)
        logger.warning(
            "possible evidence loss: device %s is missing sequence %d-%d (%d packets)",
            gap.device_id,
            gap.from_seq,
            gap.to_seq,
            gap.to_seq - gap.from_seq + 1,
        )
    session.flush()
    return new_rows
