"""The demo's stand-in for a box's evidence stage: signed red-light packets with synthetic media.

Until the edge runtime, rules and evidence issues (#4-#6) land, the demo box cannot yet watch the
sample video; it makes packets with the same header, signature and transport as the real agent,
but whose images are placeholders (JPEG framing around filler bytes). The packets travel the real
path: outbox on disk → MQTT → ingest → database → signed ack.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from protocol.enums import MediaRole
from protocol.envelope import encode_packet
from protocol.evidence import EvidenceHeader, make_part, new_packet_id
from protocol.keys import Ed25519PrivateKey, key_id

SITE_ID = "dh-ltk-thd"
CAMERA_ID = "north"
STILLS = (MediaRole.scene_before, MediaRole.scene_at, MediaRole.scene_after, MediaRole.plate_crop)


def _placeholder(kind: str, seq: int, size: int) -> bytes:
    """Deterministic filler framed as JPEG or MP4: placeholders, not pictures."""
    seed = hashlib.sha256(f"{kind}-{seq}".encode()).digest()
    body = (seed * (size // 32 + 1))[:size]
    if kind == "clip":
        return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1" + body
    return b"\xff\xd8" + body + b"\xff\xd9"


class DemoBox:
    """Makes one signed packet per call, as a box at the demo intersection would."""

    def __init__(self, device_id: str, key: Ed25519PrivateKey) -> None:
        self.device_id = device_id
        self.key = key
        self.config_sha256 = hashlib.sha256(b"demo-config").hexdigest()

    def make_packet(self, seq: int, now: datetime | None = None) -> tuple[EvidenceHeader, bytes]:
        """A red-light violation observed just now, signed with the box's key."""
        at = (now or datetime.now(timezone.utc)) - timedelta(seconds=3)
        media = {role: _placeholder("still", seq * 8 + i, 20_000) for i, role in enumerate(STILLS)}
        media[MediaRole.clip] = _placeholder("clip", seq, 150_000)
        header = EvidenceHeader.model_validate(
            {
                "packet_id": new_packet_id(),
                "seq": seq,
                "device_id": self.device_id,
                "site_id": SITE_ID,
                "camera_id": CAMERA_ID,
                "key_id": key_id(self.key),
                "software_version": "trafficwatch-demo/0.1.0",
                "created_at": at + timedelta(seconds=3),
                "location": {"lat": 17.4683, "lon": 106.6229},
                "clock": {"synced": True, "source": "ntp", "offset_ms": 0.0},
                "model": {"name": "demo-placeholder", "version": "0", "sha256": "0" * 64},
                "config_sha256": self.config_sha256,
                "calibration_sha256": self.config_sha256,
                "frame": {"width": 1920, "height": 1080, "fps": 25.0},
                "violation": _red_light(at, seq),
                "parts": [make_part(role, role.mime, data) for role, data in media.items()],
            }
        )
        return header, encode_packet(header, list(media.values()), self.key)


def _red_light(at: datetime, seq: int) -> dict[str, object]:
    """Facts of a vehicle crossing the stop line 1.2 s into red."""
    track = [
        {
            "t": at + timedelta(milliseconds=40 * i),
            "frame_seq": seq * 100 + i,
            "box": [900.0, 700.0 - 12 * i, 1060.0, 860.0 - 12 * i],
            "score": 0.8,
        }
        for i in range(5)
    ]
    return {
        "behaviour": "red_light",
        "experimental": False,
        "rule_version": "demo/0",
        "occurred_at": at,
        "vehicle_class": "car",
        "track_id": seq,
        "confidence": 0.9,
        "track": track,
        "signal": {
            "phase": "red",
            "source": "fixed_plan",
            "red_onset_at": at - timedelta(seconds=1.2),
            "amber_duration_s": 3.0,
            "time_into_red_s": 1.2,
            "grace_s": 0.5,
        },
    }
