"""A box for the fault suite: the real outbox and publisher, fed by a builder that keeps the oracle.

`Box` runs in the test process (when the test needs to look inside, e.g. at the publisher's
counters) or in a process of its own (`box_proc`, so that `kill -9` is real). Packets are small
(a few KB of media) so that a run of dozens takes seconds, and chunked small (4 KiB by default)
so that most of them travel as several chunks.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from edge_agent.outbox import Outbox, OutboxFullError
from edge_agent.publisher import Publisher, PublisherSettings
from protocol.enums import MediaRole
from protocol.envelope import decode_packet, packet_sha256
from protocol.evidence import EvidenceHeader
from protocol.ids import new_packet_id
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from tests.factories import make_packet, violation_dict
from tests.reliability.oracle import BoxPaths, OracleLog, Record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoxConfig:
    """One box's identity, broker and timings (short ones: the tests wait for retries)."""

    device_id: str
    host: str
    port: int
    prefix: str
    chunk_size: int = 4096
    ack_timeout: float = 2.0
    max_backoff: float = 4.0
    keepalive: int = 5
    max_in_flight: int = 4
    puback_timeout: float = 10.0
    max_bytes: int = 10**9
    min_free_bytes: int | None = None
    reserve_bytes: int = 0
    clip: int = 8_000
    still: int = 2_000

    def publisher_settings(self) -> PublisherSettings:
        """The publisher's settings for this box."""
        return PublisherSettings(
            device_id=self.device_id,
            host=self.host,
            port=self.port,
            topic_prefix=self.prefix,
            keepalive=self.keepalive,
            chunk_size=self.chunk_size,
            max_in_flight=self.max_in_flight,
            puback_timeout=self.puback_timeout,
            reconnect_min=0.1,
            reconnect_max=1.0,
            poll_interval=0.05,
            shutdown_timeout=3.0,
        )


def media(clip: int, still: int) -> dict[MediaRole, bytes]:
    """Random media framed as JPEG stills and an MP4 clip (0 bytes: no clip)."""
    parts = {
        role: b"\xff\xd8" + os.urandom(still) + b"\xff\xd9"
        for role in (MediaRole.scene_at, MediaRole.plate_crop)
    }
    if clip:
        parts[MediaRole.clip] = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1" + os.urandom(
            clip
        )
    return parts


def build_packet(
    key: Ed25519PrivateKey, device_id: str, seq: int, *, clip: int = 8_000, still: int = 2_000
) -> tuple[EvidenceHeader, bytes]:
    """A signed packet as a box's evidence stage would make it now."""
    now = datetime.now(timezone.utc)
    return make_packet(
        media(clip, still),
        key,
        packet_id=new_packet_id(),
        seq=seq,
        device_id=device_id,
        created_at=now,
        violation=violation_dict(now),
    )


def record_of(data: bytes) -> Record:
    """The oracle's record of a packet."""
    packet = decode_packet(data)
    header = packet.header
    return Record(str(header.packet_id), packet_sha256(data), header.seq, packet.signature.hex())


class Box:
    """A box: builder (recording the oracle) → outbox → publisher → broker."""

    def __init__(
        self,
        log_dir: Path,
        config: BoxConfig,
        key: Ed25519PrivateKey,
        server_public_key: Ed25519PublicKey,
        outbox_path: Path | None = None,
    ) -> None:
        self.config = config
        self.key = key
        self.oracle = OracleLog(log_dir)
        self.paths = BoxPaths(log_dir, outbox_path or log_dir / "outbox.db")
        self.outbox = Outbox(
            self.paths.outbox_path,
            max_bytes=config.max_bytes,
            min_free_bytes=config.min_free_bytes,
            reserve_bytes=config.reserve_bytes,
            ack_timeout=config.ack_timeout,
            max_backoff=config.max_backoff,
        )
        self.publisher = Publisher(config.publisher_settings(), self.outbox, server_public_key)
        self.lost: list[str] = []

    def start(self) -> None:
        """Start publishing what the outbox holds."""
        self.publisher.start()

    def produce(self, seq: int) -> Record:
        """Build a packet and hand it to the outbox, recording it before and after."""
        _, data = build_packet(
            self.key, self.config.device_id, seq, clip=self.config.clip, still=self.config.still
        )
        record = record_of(data)
        self.oracle.intend(record)
        try:
            self.outbox.put(uuid.UUID(record.packet_id), seq, data)
        except OutboxFullError:
            logger.warning("box %s lost packet seq %d (recorded)", self.config.device_id, seq)
            self.lost.append(record.packet_id)
        self.oracle.handed(record)
        return record

    def depth(self) -> int:
        """Packets in the outbox still waiting for an ack."""
        return self.outbox.stats().depth

    def stop(self) -> None:
        """Stop the publisher cleanly, then close the outbox."""
        self.publisher.stop()
        self.outbox.close()
