"""The application acknowledgement: the server's signed word that a packet is (or is not) stored.

The broker's PUBACK says nothing about durability; the box deletes a packet from its outbox only
on a valid `stored` or `duplicate` ack, which the server sends after its database commit.
"""

from __future__ import annotations

import uuid

from pydantic import Field, model_validator

from protocol.enums import AckStatus, RejectReason
from protocol.fields import DeviceId, Sha256Hex, UtcDatetime, WireModel
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey
from protocol.sealed import KIND_ACK, seal, unseal

__all__ = ["Ack", "open_ack", "seal_ack"]


class Ack(WireModel):
    """Server's answer to one evidence packet."""

    packet_id: uuid.UUID = Field(description="Packet the ack answers.")
    packet_sha256: Sha256Hex = Field(description="sha256 of the whole packet the server judged.")
    device_id: DeviceId = Field(description="Box the packet came from.")
    seq: int | None = Field(
        default=None, ge=0, description="Packet sequence number, when it could be read."
    )
    status: AckStatus = Field(description="stored, duplicate or rejected.")
    reason: RejectReason | None = Field(
        default=None, description="Why the packet was rejected; only with status rejected."
    )
    detail: str = Field(default="", max_length=500, description="Human-readable detail.")
    acked_at: UtcDatetime = Field(description="When the server decided (UTC).")

    @model_validator(mode="after")
    def _reason_iff_rejected(self) -> Ack:
        if (self.status is AckStatus.rejected) != (self.reason is not None):
            raise ValueError("a reason is required with status rejected, and only then")
        return self

    @property
    def releases_packet(self) -> bool:
        """True when the box may delete the packet from its outbox."""
        return self.status in (AckStatus.stored, AckStatus.duplicate)


def seal_ack(ack: Ack, server_key: Ed25519PrivateKey) -> bytes:
    """Sign an ack with the server key."""
    return seal(KIND_ACK, ack, server_key)


def open_ack(data: bytes | bytearray | memoryview, server_public_key: Ed25519PublicKey) -> Ack:
    """Verify and decode an ack; raises a `ProtocolError` on anything doubtful."""
    return unseal(KIND_ACK, data, Ack, server_public_key)
