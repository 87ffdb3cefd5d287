"""What the outbox hands out and reports: items, ack outcomes, stats, drop and loss records."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from edge_agent.outbox_pending import KIND_CLIP, KIND_PACKET, KIND_STILL
from protocol.status import DroppedEvidence, OutboxStatus


class AckOutcome(str, enum.Enum):
    """What `Outbox.acked` did with an ack."""

    deleted = "deleted"
    dead_lettered = "dead_lettered"
    unknown = "unknown"  # no such packet (already acked: QoS 1 delivers twice)
    mismatch = "mismatch"  # the ack names a hash this packet never had


@dataclass(frozen=True)
class OutboxItem:
    """A packet due for (re)publication."""

    packet_id: uuid.UUID
    seq: int
    data: bytes
    sha256: str
    attempts: int
    created_at: float


@dataclass(frozen=True)
class OutboxStats:
    """The outbox's health, for the heartbeat and the alarm."""

    depth: int
    bytes: int
    oldest_at: float | None
    oldest_age: float | None
    dropped: dict[str, int]
    losses: int
    dead_letters: int
    sha_mismatches: int
    reserve_ok: bool
    alarm: bool

    def to_status(self, in_flight: int = 0) -> OutboxStatus:
        """The heartbeat's view of these figures (`protocol.status.OutboxStatus`)."""
        oldest = None
        if self.oldest_at is not None:
            oldest = datetime.fromtimestamp(self.oldest_at, timezone.utc)
        return OutboxStatus(
            depth=self.depth,
            bytes=self.bytes,
            in_flight=in_flight,
            oldest_at=oldest,
            dead_letters=self.dead_letters,
            dropped=DroppedEvidence(
                clip=self.dropped[KIND_CLIP],
                still=self.dropped[KIND_STILL],
                metadata=self.dropped[KIND_PACKET],
            ),
        )


@dataclass(frozen=True)
class DropRecord:
    """One drop: a part (clip or still) or a whole packet, with why and when."""

    packet_id: str
    seq: int
    kind: str
    role: str | None
    bytes_freed: int
    reason: str
    dropped_at: float


@dataclass(frozen=True)
class LossRecord:
    """One packet that will never reach the server."""

    packet_id: str
    seq: int
    sha256: str
    reason: str
    lost_at: float
