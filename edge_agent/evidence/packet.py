"""A violation and its media as a signed packet: the header's facts, the sequence, the signature.

Sequence numbers are reserved in the outbox's own database (its `meta` table, one fsynced
transaction) before a packet is made: a crash may skip a number, never reuse one (a reused
number with other bytes is a replay to the server). The counter never falls below a number the
outbox or its dead letters still hold, so an outbox from before the counter existed is safe too.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from edge_agent.evidence.clip import Clip
from edge_agent.evidence.stills import Still
from edge_agent.outbox import Outbox
from protocol.config import DeviceConfig, calibration_sha256, config_sha256
from protocol.enums import MediaRole
from protocol.envelope import encode_packet
from protocol.errors import SizeError
from protocol.evidence import (
    ClockState,
    EvidenceHeader,
    FrameInfo,
    Location,
    ModelInfo,
    PartDescriptor,
    Violation,
    make_part,
    new_packet_id,
)
from protocol.keys import Ed25519PrivateKey, key_id

logger = logging.getLogger(__name__)

ROLE_ORDER = (
    MediaRole.scene_before,
    MediaRole.scene_at,
    MediaRole.scene_after,
    MediaRole.plate_crop,
    MediaRole.rider_crop,
    MediaRole.clip,
)


@dataclass(frozen=True)
class BoxFacts:
    """What every packet of this box carries besides the violation: who, where, which config."""

    device_id: str
    site_id: str
    camera_id: str
    location: Location
    key: Ed25519PrivateKey
    software_version: str
    config_sha256: str
    calibration_sha256: str

    @classmethod
    def from_config(
        cls, config: DeviceConfig, key: Ed25519PrivateKey, software_version: str
    ) -> BoxFacts:
        """The facts a box's config gives."""
        device = config.device
        return cls(
            device_id=device.id,
            site_id=device.site_id,
            camera_id=device.camera_id,
            location=Location(lat=device.location.lat, lon=device.location.lon),
            key=key,
            software_version=software_version,
            config_sha256=config_sha256(config),
            calibration_sha256=calibration_sha256(config.calibration),
        )


@dataclass(frozen=True)
class Capture:
    """What the box knew about its camera and clock when the packet was made."""

    model: ModelInfo
    clock: ClockState
    frame: FrameInfo


def _part(media: Still | Clip) -> tuple[PartDescriptor, bytes]:
    if isinstance(media, Clip):
        part = make_part(
            MediaRole.clip,
            MediaRole.clip.mime,
            media.data,
            width=media.width,
            height=media.height,
            start_at=media.start,
            end_at=media.end,
        )
        return part, media.data
    part = make_part(
        media.role,
        media.role.mime,
        media.data,
        width=media.width,
        height=media.height,
        captured_at=media.captured_at,
    )
    return part, media.data


def sign_packet(
    facts: BoxFacts,
    *,
    seq: int,
    violation: Violation,
    media: Sequence[Still | Clip],
    capture: Capture,
) -> tuple[EvidenceHeader, bytes]:
    """The signed header and the encoded packet; the clip is left out if the whole is too big."""
    parts = sorted((_part(m) for m in media), key=lambda p: ROLE_ORDER.index(p[0].role))
    try:
        return _encode(facts, seq, violation, parts, capture)
    except SizeError as exc:
        if not any(p.role is MediaRole.clip for p, _ in parts):
            raise
        logger.error("packet %d too large with its clip (%s): sent without the clip", seq, exc)
        kept = [(p, d) for p, d in parts if p.role is not MediaRole.clip]
        return _encode(facts, seq, violation, kept, capture)


def _encode(
    facts: BoxFacts,
    seq: int,
    violation: Violation,
    parts: Sequence[tuple[PartDescriptor, bytes]],
    capture: Capture,
) -> tuple[EvidenceHeader, bytes]:
    header = EvidenceHeader(
        packet_id=new_packet_id(),
        seq=seq,
        device_id=facts.device_id,
        site_id=facts.site_id,
        camera_id=facts.camera_id,
        key_id=key_id(facts.key),
        software_version=facts.software_version,
        created_at=datetime.now(timezone.utc),
        location=facts.location,
        clock=capture.clock,
        model=capture.model,
        config_sha256=facts.config_sha256,
        calibration_sha256=facts.calibration_sha256,
        frame=capture.frame,
        violation=violation,
        parts=[p for p, _ in parts],
    )
    return header, encode_packet(header, [d for _, d in parts], facts.key)


class SequenceCounter:
    """The box's packet sequence numbers, reserved durably in the outbox database."""

    KEY = "next_seq"

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.last: int | None = None

    def reserve(self) -> int:
        """The next number, committed as used before it is returned."""
        with self.outbox.transaction() as conn:
            seq = self._next(conn)
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (self.KEY, seq + 1))
        self.last = seq
        return seq

    def ensure_above(self, seq: int) -> None:
        """Never hand out `seq` or a lower number (the server already holds them)."""
        with self.outbox.transaction() as conn:
            if self._next(conn) <= seq:
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (self.KEY, seq + 1))

    def peek(self) -> int:
        """The number `reserve` would give now."""
        with self.outbox.transaction() as conn:
            return self._next(conn)

    def _next(self, conn: sqlite3.Connection) -> int:
        execute = conn.execute
        row = execute("SELECT value FROM meta WHERE key = ?", (self.KEY,)).fetchone()
        held = execute(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM outbox"
            " UNION ALL SELECT MAX(seq) FROM dead_letter)"
        ).fetchone()[0]
        floor = 0 if held is None else int(held) + 1
        return max(int(row[0]) if row else 0, floor)
