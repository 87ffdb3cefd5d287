"""A packet on its way into the outbox: its parts, the drop order, and how it is stored."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field

from protocol.enums import MediaRole
from protocol.envelope import decode_packet, drop_parts, packet_sha256

logger = logging.getLogger(__name__)

KIND_CLIP = "clip"
KIND_STILL = "still"
KIND_PACKET = "packet"

# Among stills, the reduced-size context frames go first, then the crops (they can be cut again
# from the full-resolution frame at the line), and the frame at the line, which proves the
# violation, goes last.
_STILL_ORDER = (
    MediaRole.scene_before,
    MediaRole.scene_after,
    MediaRole.rider_crop,
    MediaRole.plate_crop,
    MediaRole.scene_at,
)
RANK = {MediaRole.clip: 0, **{role: i + 1 for i, role in enumerate(_STILL_ORDER)}}


class OutboxFullError(RuntimeError):
    """Nothing is left to drop and the packet cannot be stored; its loss is in the loss log."""

    def __init__(self, packet_id: str, reason: str) -> None:
        super().__init__(f"outbox full ({reason}): packet {packet_id} lost and recorded")
        self.packet_id = packet_id
        self.reason = reason


def kind_of(role: MediaRole) -> str:
    """The drop kind of a media role: clip or still."""
    return KIND_STILL if role.is_still else KIND_CLIP


@dataclass
class PendingPacket:
    """A packet on its way in, with the drops made to it before it was stored."""

    packet_id: str
    seq: int
    data: bytes
    parts: dict[MediaRole, int]
    original_sha256: str
    drops: list[tuple[str, str, int, str, float]] = field(default_factory=list)
    earlier_sha256: list[str] = field(default_factory=list)

    @classmethod
    def from_data(cls, packet_id: str, seq: int, data: bytes) -> PendingPacket:
        """Decode the packet's structure to learn its present parts; refuse a mismatched id."""
        packet = decode_packet(data)
        if str(packet.header.packet_id) != packet_id or packet.header.seq != seq:
            raise ValueError(f"packet {packet_id} seq {seq} does not match its own header")
        parts = {
            desc.role: desc.size
            for desc, body in zip(packet.header.parts, packet.parts, strict=True)
            if body is not None
        }
        return cls(packet_id, seq, bytes(data), parts, packet_sha256(data))

    def drop(self, kind: str, reason: str, now: float) -> bool:
        """Drop this packet's next part of `kind` in memory; False if it has none."""
        roles = sorted((r for r in self.parts if kind_of(r) == kind), key=RANK.__getitem__)
        if not roles:
            return False
        role = roles[0]
        before = len(self.data)
        self.earlier_sha256.append(packet_sha256(self.data))
        self.data = drop_parts(self.data, [role])
        del self.parts[role]
        self.drops.append((kind, role.value, before - len(self.data), reason, now))
        logger.warning(
            "outbox: dropped %s of incoming packet %s (%s)", role.value, self.packet_id, reason
        )
        return True


def insert_pending(conn: sqlite3.Connection, pending: PendingPacket, now: float) -> None:
    """Insert a packet, its parts index and its own drop records (inside a transaction)."""
    conn.execute(
        "INSERT INTO outbox (packet_id, seq, size, sha256, earlier_sha256, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            pending.packet_id,
            pending.seq,
            len(pending.data),
            packet_sha256(pending.data),
            " ".join(pending.earlier_sha256),
            now,
        ),
    )
    conn.execute("INSERT INTO outbox_blob VALUES (?, ?)", (pending.packet_id, pending.data))
    conn.executemany(
        "INSERT INTO outbox_part VALUES (?, ?, ?, ?, ?)",
        [(pending.packet_id, r.value, kind_of(r), RANK[r], s) for r, s in pending.parts.items()],
    )
    conn.executemany(
        "INSERT INTO drop_log (packet_id, seq, kind, role, bytes_freed, reason, dropped_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(pending.packet_id, pending.seq, *drop) for drop in pending.drops],
    )
