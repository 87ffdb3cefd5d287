"""Judging a reassembled packet: decode, device and key registry, signature, duplicates, replays.

Read-only: the caller stores what is accepted (and re-judges if a concurrent worker won the race
to store the same packet).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from central_server.evidence_store import EvidenceStore, EvidenceStoreError
from central_server.ingest.acks import sent_ack
from central_server.models import Device, DeviceKey, Packet
from protocol.chunks import Chunk
from protocol.enums import AckStatus, RejectReason
from protocol.envelope import EvidencePacket, decode_packet, verify_packet
from protocol.errors import ProtocolError
from protocol.keys import public_key_from_raw

logger = logging.getLogger(__name__)


class Rejected(Exception):
    """The packet is refused: quarantine it and ack `rejected` with `reason`."""

    def __init__(self, reason: RejectReason, detail: str, *, seq: int | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.seq = seq

    @classmethod
    def from_protocol(cls, exc: ProtocolError, seq: int | None = None) -> Rejected:
        """Turn a wire error into a rejection with the error's code as the reason."""
        return cls(RejectReason(exc.code), str(exc), seq=seq)


@dataclass(frozen=True)
class Accepted:
    """A verified packet, new to the database."""

    packet: EvidencePacket
    sha256: str
    # Plain values, not rows: the judging session is closed by the time they are used.
    device_site_id: str | None


@dataclass(frozen=True)
class AlreadyStored:
    """The packet (or the same signed evidence) is stored: answer with the stored ack."""

    packet_id: uuid.UUID
    seq: int
    ack: bytes | None


def judge(
    session: Session, store: EvidenceStore, data: bytes, chunk: Chunk, topic_device: str
) -> Accepted | AlreadyStored:
    """Decide what a complete packet is; raise `Rejected` for anything that must not be stored."""
    packet = _decode(data, chunk)
    header = packet.header
    sha256 = chunk.packet_sha256  # checked against the bytes by reassemble()
    stored, same_seq = _stored_rows(session, packet)
    if stored is not None and stored.sha256 == sha256:
        return _already(session, stored)
    if header.device_id != topic_device:
        raise Rejected(
            RejectReason.device_topic_mismatch,
            f"packet of device {header.device_id} arrived on the topic of {topic_device}",
            seq=header.seq,
        )
    device, key = _registered_key(session, packet)
    try:
        verify_packet(packet, public_key_from_raw(key.public_key))
    except ProtocolError as exc:
        raise Rejected.from_protocol(exc, header.seq) from exc
    if stored is not None and _same_signed_evidence(store, stored, packet):
        return _already(session, stored)
    other = stored or same_seq
    if other is not None:
        raise Rejected(
            RejectReason.replay,
            f"packet {header.packet_id} (sequence {header.seq}) conflicts with stored packet "
            f"{other.packet_id} (sequence {other.seq}, sha256 {other.sha256})",
            seq=header.seq,
        )
    return Accepted(packet=packet, sha256=sha256, device_site_id=device.site_id)


def _decode(data: bytes, chunk: Chunk) -> EvidencePacket:
    try:
        packet = decode_packet(data)
    except ProtocolError as exc:
        raise Rejected.from_protocol(exc) from exc
    header = packet.header
    if header.packet_id != chunk.packet_id:
        # Chunks are staged and acked by their packet id: it must be the signed one.
        raise Rejected(
            RejectReason.chunk_error,
            f"chunks name packet {chunk.packet_id}, the header {header.packet_id}",
            seq=header.seq,
        )
    return packet


def _already(session: Session, stored: Packet) -> AlreadyStored:
    ack = sent_ack(session, stored.packet_id, AckStatus.stored)
    return AlreadyStored(stored.packet_id, stored.seq, ack)


def _registered_key(session: Session, packet: EvidencePacket) -> tuple[Device, DeviceKey]:
    header = packet.header
    device = session.get(Device, header.device_id)
    if device is None:
        raise Rejected(
            RejectReason.unknown_device,
            f"device {header.device_id} is not enrolled",
            seq=header.seq,
        )
    if device.revoked_at is not None:
        raise Rejected(RejectReason.revoked_key, f"device {device.id} is revoked", seq=header.seq)
    key = session.exec(
        select(DeviceKey).where(
            col(DeviceKey.device_id) == device.id, col(DeviceKey.key_id) == header.key_id
        )
    ).first()
    if key is None:
        raise Rejected(
            RejectReason.bad_signature,
            f"key {header.key_id} is not registered for device {device.id}",
            seq=header.seq,
        )
    if key.revoked_at is not None:
        raise Rejected(RejectReason.revoked_key, f"key {key.key_id} is revoked", seq=header.seq)
    if header.seq < key.valid_from_seq or (
        key.valid_to_seq is not None and header.seq > key.valid_to_seq
    ):
        upper = "∞" if key.valid_to_seq is None else str(key.valid_to_seq)
        raise Rejected(
            RejectReason.key_not_valid_for_sequence,
            f"key {key.key_id} signs sequences {key.valid_from_seq}..{upper}, not {header.seq}",
            seq=header.seq,
        )
    return device, key


def _same_signed_evidence(store: EvidenceStore, stored: Packet, packet: EvidencePacket) -> bool:
    """Same signed header and signature as the stored packet: the box re-sent it after
    dropping a part (disk full), which changes the bytes but not the evidence."""
    try:
        original = decode_packet(store.get(stored.blob_sha256))
    except (EvidenceStoreError, ProtocolError):
        logger.exception("stored packet %s cannot be read back", stored.packet_id)
        return False
    return bytes(original.signed) == bytes(packet.signed) and (
        original.signature == packet.signature
    )


def _stored_rows(session: Session, packet: EvidencePacket) -> tuple[Packet | None, Packet | None]:
    """The stored packet with this id, and another stored under this (device, seq).

    One statement, so both come from the same snapshot: a packet another worker commits in
    between is seen as itself, never as a replay of its own sequence number.
    """
    header = packet.header
    rows = session.exec(
        select(Packet).where(
            or_(
                col(Packet.packet_id) == header.packet_id,
                and_(col(Packet.device_id) == header.device_id, col(Packet.seq) == header.seq),
            )
        )
    ).all()
    by_id = next((row for row in rows if row.packet_id == header.packet_id), None)
    by_seq = next((row for row in rows if row.packet_id != header.packet_id), None)
    return by_id, by_seq
