"""What the ingest passes between its stages: an inbound MQTT message and a handling outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from protocol.enums import RejectReason


class OutcomeKind(str, Enum):
    """What became of one evidence message."""

    staged = "staged"  # a chunk is durably staged; its set is not complete yet
    stored = "stored"  # the packet is committed and a `stored` ack made
    duplicate = "duplicate"  # already stored: the stored ack is sent again
    rejected = "rejected"  # quarantined; a signed `rejected` ack made when a packet id is known
    ignored = "ignored"  # nothing to store and nobody to answer (e.g. a late duplicate chunk)


@dataclass(frozen=True)
class InboundMessage:
    """One MQTT message as `on_message` hands it to a worker (no database work on paho's thread)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # the connection it arrived on: a PUBACK is only valid on that one
    received_at: datetime
    retained: bool = False  # a retained message the broker delivered on subscribing


@dataclass(frozen=True)
class Outcome:
    """The result of handling one message: what to publish on the device's ack topic, if any."""

    kind: OutcomeKind
    device_id: str | None = None
    packet_id: uuid.UUID | None = None
    ack: bytes | None = None  # signed ack bytes (exactly as stored in `sent_ack`)
    reason: RejectReason | None = None
    detail: str = ""


INGEST_ACTOR = "system:ingest"  # audit actor of what the ingest itself decides


def device_actor(device_id: str) -> str:
    """Audit actor for what a device's signed packet did."""
    return f"device:{device_id}"
