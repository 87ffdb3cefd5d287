"""The signed header of an evidence packet: every fact about a violation and its media parts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from protocol.enums import ClockSource, MediaRole, PlateColour
from protocol.fields import (
    Box,
    Confidence,
    DeviceId,
    Identifier,
    KeyId,
    Sha256Hex,
    ShortText,
    UtcDatetime,
    WireModel,
)
from protocol.ids import new_packet_id
from protocol.limits import MAX_PACKET_BYTES, MAX_PARTS
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR
from protocol.violation import (
    HelmetFacts,
    LaneFacts,
    RiderFacts,
    SignalFacts,
    TrackPoint,
    Violation,
)

__all__ = [
    "ClockState",
    "EvidenceHeader",
    "FrameInfo",
    "HelmetFacts",
    "LaneFacts",
    "Location",
    "ModelInfo",
    "PartDescriptor",
    "PlateCandidate",
    "RiderFacts",
    "SignalFacts",
    "TrackPoint",
    "Violation",
    "make_part",
    "new_packet_id",
]

Mime = Literal["image/jpeg", "video/mp4"]


class Location(WireModel):
    """Where the camera stands (WGS 84)."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")
    accuracy_m: float | None = Field(default=None, ge=0, description="Position accuracy, metres.")
    heading_deg: float | None = Field(
        default=None, ge=0, lt=360, description="Camera heading, degrees from north."
    )


class ClockState(WireModel):
    """The box clock's synchronisation state, so the server can judge capture times."""

    synced: bool = Field(description="True when the clock is synchronised within its bound.")
    source: ClockSource = Field(description="Where the clock was last synchronised from.")
    offset_ms: float = Field(description="Last measured offset from the reference, milliseconds.")
    last_sync_at: UtcDatetime | None = Field(
        default=None, description="When the clock was last synchronised (UTC)."
    )


class ModelInfo(WireModel):
    """The detection model that made the decision (its hash pins the exact weights)."""

    name: ShortText = Field(description="Model name from its manifest.")
    version: ShortText = Field(description="Model version from its manifest.")
    sha256: Sha256Hex = Field(description="sha256 of the model file, lowercase hex.")


class FrameInfo(WireModel):
    """Geometry and rate of the camera frames the coordinates refer to."""

    width: int = Field(gt=0, description="Frame width, pixels.")
    height: int = Field(gt=0, description="Frame height, pixels.")
    fps: float = Field(gt=0, description="Nominal frame rate, frames per second.")


class PlateCandidate(WireModel):
    """One plate reading made at the edge; the server reads the plate again."""

    text: str = Field(
        pattern=r"^[0-9A-ZĐ]{4,12}$",
        description="Compact plate text: upper case, no spaces, dashes or dots.",
    )
    printed: ShortText = Field(description="Plate as printed, e.g. '73A-123.45'.")
    lines: Literal[1, 2] = Field(description="Number of text lines on the plate.")
    colour: PlateColour | None = Field(default=None, description="Plate background colour.")
    confidence: Confidence = Field(description="Reader confidence, 0..1.")
    box: Box = Field(description="Plate box [x1, y1, x2, y2] in frame pixels.")
    reader_name: ShortText = Field(description="Name of the plate reader.")
    reader_version: ShortText = Field(description="Version of the plate reader.")


class PartDescriptor(WireModel):
    """A media part as the signed header pins it: role, type, hash and size."""

    role: MediaRole = Field(description="What the part shows.")
    mime: Mime = Field(description="image/jpeg for stills, video/mp4 (H.264, fast-start) for clip.")
    sha256: Sha256Hex = Field(description="sha256 of the part's bytes, lowercase hex.")
    size: int = Field(ge=1, le=MAX_PACKET_BYTES, description="Length of the part, bytes.")
    width: int | None = Field(default=None, gt=0, description="Image or video width, pixels.")
    height: int | None = Field(default=None, gt=0, description="Image or video height, pixels.")
    captured_at: UtcDatetime | None = Field(
        default=None, description="Capture time of a still (UTC)."
    )
    start_at: UtcDatetime | None = Field(default=None, description="First frame of the clip (UTC).")
    end_at: UtcDatetime | None = Field(default=None, description="Last frame of the clip (UTC).")

    @model_validator(mode="after")
    def _fits_role(self) -> PartDescriptor:
        if self.mime != self.role.mime:
            raise ValueError(f"role {self.role.value} must be {self.role.mime}, not {self.mime}")
        if self.role.is_still and (self.start_at or self.end_at):
            raise ValueError("start_at/end_at are for the clip only")
        if not self.role.is_still and self.captured_at:
            raise ValueError("captured_at is for stills only")
        if self.start_at and self.end_at and self.end_at < self.start_at:
            raise ValueError("clip end_at is before start_at")
        return self


class EvidenceHeader(WireModel):
    """The signed facts of one violation; carries every part's sha256."""

    schema_major: int = Field(default=PROTOCOL_MAJOR, ge=0, le=255, description="Major version.")
    schema_minor: int = Field(default=PROTOCOL_MINOR, ge=0, le=255, description="Minor version.")
    packet_id: uuid.UUID = Field(description="UUIDv7 naming this packet; the server's dedupe key.")
    seq: int = Field(ge=0, lt=2**63, description="Per-device monotonic sequence number.")
    device_id: DeviceId = Field(description="Box that made the packet.")
    site_id: Identifier = Field(description="Intersection (site) the camera watches.")
    camera_id: Identifier = Field(description="Camera (approach) on that site.")
    key_id: KeyId = Field(description="Key id of the device key that signs the packet.")
    software_version: ShortText = Field(description="Edge agent version.")
    created_at: UtcDatetime = Field(description="When the box built the packet (UTC).")
    location: Location = Field(description="Camera position.")
    clock: ClockState = Field(description="Clock synchronisation state at capture.")
    model: ModelInfo = Field(description="Detection model that made the decision.")
    config_sha256: Sha256Hex = Field(description="sha256 of the device config in force.")
    calibration_sha256: Sha256Hex = Field(description="sha256 of the calibration in force.")
    frame: FrameInfo = Field(description="Frame geometry the pixel coordinates refer to.")
    violation: Violation = Field(description="The violation and its measured facts.")
    plate_candidates: list[PlateCandidate] = Field(
        default_factory=list, max_length=10, description="Plate readings made at the edge."
    )
    parts: list[PartDescriptor] = Field(
        max_length=MAX_PARTS, description="Media parts, in the order they travel."
    )

    @field_validator("packet_id")
    @classmethod
    def _uuid7(cls, value: uuid.UUID) -> uuid.UUID:
        if value.version != 7:
            raise ValueError("packet_id must be a UUIDv7")
        return value

    @field_validator("parts")
    @classmethod
    def _unique_roles(cls, value: list[PartDescriptor]) -> list[PartDescriptor]:
        roles = [part.role for part in value]
        if len(set(roles)) != len(roles):
            raise ValueError("each media role may appear once")
        if sum(part.size for part in value) > MAX_PACKET_BYTES:
            raise ValueError(f"parts add up to more than {MAX_PACKET_BYTES} bytes")
        return value

    def part(self, role: MediaRole) -> PartDescriptor | None:
        """The descriptor for `role`, or None when the packet has no such part."""
        return next((part for part in self.parts if part.role is role), None)


def make_part(
    role: MediaRole,
    mime: str,
    data: bytes | bytearray | memoryview,
    *,
    width: int | None = None,
    height: int | None = None,
    captured_at: datetime | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> PartDescriptor:
    """Describe a media part: hashes `data` and checks the mime fits the role."""
    return PartDescriptor.model_validate(
        {
            "role": role,
            "mime": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "width": width,
            "height": height,
            "captured_at": captured_at,
            "start_at": start_at,
            "end_at": end_at,
        }
    )
