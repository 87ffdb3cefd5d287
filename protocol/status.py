"""The status heartbeat: a retained JSON message a person can read with mosquitto_sub.

The box publishes it every `health.heartbeat_s`; its MQTT last will is `offline_status(...)`, so
the retained message turns to `offline` when the box disappears without saying goodbye.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from pydantic import Field, ValidationError, model_validator

from protocol.enums import CameraProblem, DeviceState
from protocol.errors import MalformedError, SizeError, VersionError, describe_validation
from protocol.evidence import ClockState
from protocol.fields import DeviceId, Sha256Hex, ShortText, UtcDatetime, WireModel
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR

__all__ = [
    "Alarm",
    "DiskStatus",
    "DroppedEvidence",
    "OutboxStatus",
    "PipelineStatus",
    "StatusHeartbeat",
    "StatusMetrics",
    "decode_status",
    "encode_status",
    "offline_status",
]

MAX_STATUS_BYTES = 64 * 1024
_CODE = r"^[a-z][a-z0-9_]{0,63}$"


class Alarm(WireModel):
    """A condition that needs a person: disk full, evidence dropped, clock unsynchronised…"""

    code: str = Field(pattern=_CODE, description="Stable alarm code, e.g. 'disk_full'.")
    message: str = Field(max_length=500, description="Vietnamese first, then English.")
    since: UtcDatetime = Field(description="When the condition began (UTC).")


class PipelineStatus(WireModel):
    """Throughput and latency of the capture → detect → rules pipeline."""

    fps_in: float = Field(ge=0, description="Frames per second read from the camera.")
    fps_processed: float = Field(ge=0, description="Frames per second that went through detection.")
    detection_latency_ms: float | None = Field(
        default=None, ge=0, description="Median detection latency, milliseconds."
    )
    cpu_ms_per_frame: dict[str, float] = Field(
        default_factory=dict, description="CPU milliseconds per frame, by stage name."
    )
    queue_depths: dict[str, int] = Field(
        default_factory=dict, description="Items waiting between stages, by queue name."
    )
    dropped_frames: int = Field(default=0, ge=0, description="Frames dropped since start.")


class DroppedEvidence(WireModel):
    """Evidence the outbox had to drop for lack of disk, by kind (clips go first)."""

    clip: int = Field(default=0, ge=0, description="Clips dropped.")
    still: int = Field(default=0, ge=0, description="Stills dropped.")
    metadata: int = Field(default=0, ge=0, description="Whole packets (metadata) dropped.")


class OutboxStatus(WireModel):
    """The on-disk queue of packets waiting for a server ack."""

    depth: int = Field(ge=0, description="Packets waiting.")
    bytes: int = Field(ge=0, description="Bytes waiting.")
    in_flight: int = Field(default=0, ge=0, description="Packets sent and not yet acknowledged.")
    oldest_at: UtcDatetime | None = Field(default=None, description="Oldest waiting packet (UTC).")
    dead_letters: int = Field(default=0, ge=0, description="Packets the server rejected, kept.")
    dropped: DroppedEvidence = Field(
        default_factory=DroppedEvidence, description="Evidence dropped for lack of disk."
    )


class DiskStatus(WireModel):
    """The evidence disk."""

    free_bytes: int = Field(ge=0, description="Free bytes.")
    total_bytes: int = Field(ge=0, description="Total bytes.")


class StatusMetrics(WireModel):
    """What a running box measures about itself."""

    uptime_s: float = Field(ge=0, description="Seconds since the agent started.")
    pipeline: PipelineStatus = Field(description="Pipeline throughput and latency.")
    outbox: OutboxStatus = Field(description="Outbox depth, bytes, dead letters and drops.")
    disk: DiskStatus = Field(description="Evidence disk space.")
    temperature_c: float | None = Field(default=None, description="SoC temperature, °C.")
    clock: ClockState = Field(description="Clock synchronisation state and offset.")
    camera_problems: list[CameraProblem] = Field(
        default_factory=list, description="Camera faults seen now."
    )
    alarms: list[Alarm] = Field(default_factory=list, description="Active alarms.")
    last_seq: int | None = Field(
        default=None, ge=0, description="Last packet sequence number used."
    )
    config_sha256: Sha256Hex | None = Field(default=None, description="Config in force.")


class StatusHeartbeat(WireModel):
    """The retained status message; `metrics` is absent only when the box is offline."""

    schema_major: int = Field(default=PROTOCOL_MAJOR, ge=0, le=255, description="Major version.")
    schema_minor: int = Field(default=PROTOCOL_MINOR, ge=0, le=255, description="Minor version.")
    device_id: DeviceId = Field(description="Box reporting.")
    state: DeviceState = Field(description="online, degraded or offline.")
    sent_at: UtcDatetime = Field(description="When the message was made (UTC).")
    software_version: ShortText | None = Field(default=None, description="Edge agent version.")
    metrics: StatusMetrics | None = Field(default=None, description="Measurements; None offline.")

    @model_validator(mode="after")
    def _metrics_unless_offline(self) -> StatusHeartbeat:
        if self.state is not DeviceState.offline and self.metrics is None:
            raise ValueError("metrics are required unless the state is offline")
        return self


def encode_status(status: StatusHeartbeat) -> bytes:
    """Encode a heartbeat as UTF-8 JSON."""
    return status.model_dump_json().encode("utf-8")


def decode_status(data: bytes | str) -> StatusHeartbeat:
    """Decode a heartbeat; a foreign major version raises `VersionError`."""
    if len(data) > MAX_STATUS_BYTES:
        raise SizeError(f"status is {len(data)} bytes; the limit is {MAX_STATUS_BYTES}")
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise MalformedError(f"status is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedError("status is not a JSON object")
    major = value.get("schema_major", PROTOCOL_MAJOR)
    if major != PROTOCOL_MAJOR:
        raise VersionError(f"unsupported major version {major!r} of a status message")
    try:
        return StatusHeartbeat.model_validate(value)
    except ValidationError as exc:
        raise MalformedError(f"status: {describe_validation(exc)}") from exc


def offline_status(device_id: str, at: datetime | None = None) -> bytes:
    """The last-will payload: the box is offline (set at connect, published by the broker)."""
    heartbeat = StatusHeartbeat(
        device_id=device_id,
        state=DeviceState.offline,
        sent_at=at or datetime.now(timezone.utc),
    )
    return encode_status(heartbeat)
