"""Enumerations both sides of the wire share. Values are the wire strings; never rename one.

They are `(str, Enum)` rather than `StrEnum` because the box runs Python 3.10. Use `.value` when
formatting: `str()` and f-strings of a mixed-in enum differ between Python versions.
"""

from __future__ import annotations

from enum import Enum


class BehaviourCode(str, Enum):
    """A violation as the box measured it; the server maps it to the legal clause in force."""

    red_light = "red_light"
    solid_line = "solid_line"
    wrong_lane = "wrong_lane"
    wrong_way = "wrong_way"
    illegal_lane_change = "illegal_lane_change"
    no_helmet = "no_helmet"
    passenger_no_helmet = "passenger_no_helmet"


class VehicleClass(str, Enum):
    """Vehicle class as the detector maps it (a traffic light or a person is not a vehicle)."""

    car = "car"
    motorbike = "motorbike"
    bus = "bus"
    truck = "truck"
    bicycle = "bicycle"
    other = "other"


class MediaRole(str, Enum):
    """What a media part shows; a packet holds each role at most once."""

    scene_before = "scene_before"
    scene_at = "scene_at"
    scene_after = "scene_after"
    plate_crop = "plate_crop"
    rider_crop = "rider_crop"
    clip = "clip"

    @property
    def is_still(self) -> bool:
        """True for JPEG stills, False for the MP4 clip."""
        return self is not MediaRole.clip

    @property
    def mime(self) -> str:
        """The only mime type the role may carry."""
        return "video/mp4" if self is MediaRole.clip else "image/jpeg"


class AckStatus(str, Enum):
    """The server's answer to an evidence packet, sent only after its database commit."""

    stored = "stored"
    duplicate = "duplicate"
    rejected = "rejected"


class RejectReason(str, Enum):
    """Why the server rejected a packet (the box keeps it as a dead letter)."""

    malformed = "malformed"
    unsupported_version = "unsupported_version"
    bad_signature = "bad_signature"
    part_hash_mismatch = "part_hash_mismatch"
    unknown_device = "unknown_device"
    revoked_key = "revoked_key"
    key_not_valid_for_sequence = "key_not_valid_for_sequence"
    device_topic_mismatch = "device_topic_mismatch"
    replay = "replay"
    too_large = "too_large"
    chunk_error = "chunk_error"


class ClockSource(str, Enum):
    """Where the box's wall clock was last synchronised from."""

    ntp = "ntp"
    gps = "gps"
    rtc = "rtc"
    none = "none"


class SignalPhase(str, Enum):
    """Traffic-light phase facing the approach."""

    red = "red"
    amber = "amber"
    green = "green"
    unknown = "unknown"


class SignalSource(str, Enum):
    """How the box knows the signal phase."""

    classifier = "classifier"
    controller = "controller"
    fixed_plan = "fixed_plan"


class PlateColour(str, Enum):
    """Background colour of a Vietnamese plate."""

    white = "white"
    yellow = "yellow"
    blue = "blue"
    red = "red"


class CameraProblem(str, Enum):
    """A camera fault the box reports in its heartbeat."""

    no_frames = "no_frames"
    frozen = "frozen"
    dark = "dark"
    disconnected = "disconnected"


class CommandName(str, Enum):
    """Commands the server may send to a box; `config` names only the box's report on a push."""

    snapshot = "snapshot"
    restart = "restart"
    log_upload = "log_upload"
    dead_letter_resend = "dead_letter_resend"
    config = "config"


class CommandResult(str, Enum):
    """Outcome of a command, in the box's reply."""

    ok = "ok"
    failed = "failed"
    expired = "expired"
    unsupported = "unsupported"
    # Not run at all: not signed by the server, addressed to another box, or a replay.
    refused = "refused"


class ConfigApplyState(str, Enum):
    """What a box did with a config the server pushed."""

    applied = "applied"  # runs it now
    rolled_back = "rolled_back"  # tried it, it failed to start; the previous config runs again
    refused = "refused"  # never tried: bad signature, another box, not newer, or invalid


class DeviceState(str, Enum):
    """A box's state in its status heartbeat; `offline` is the last will."""

    online = "online"
    degraded = "degraded"
    offline = "offline"


class RiderPosition(str, Enum):
    """Where a rider sits on a motorbike."""

    driver = "driver"
    passenger = "passenger"


class CameraKind(str, Enum):
    """How the box reads its camera."""

    file = "file"
    rtsp = "rtsp"
    usb = "usb"
    picamera2 = "picamera2"


class LampLayout(str, Enum):
    """Arrangement of the lamps in the calibrated traffic-light region."""

    vertical = "vertical"
    horizontal = "horizontal"


class ControllerKind(str, Enum):
    """How a signal controller's red output reaches the box."""

    gpio = "gpio"
    serial = "serial"
