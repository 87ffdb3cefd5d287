"""Plain factories for protocol objects, shared by every test suite.

The keys here come from FIXED seeds and are TEST-ONLY: they are public in this repository, so
anything they sign proves nothing. Never provision a box or a server with them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from protocol.ack import Ack
from protocol.config import DeviceConfig
from protocol.enums import AckStatus, MediaRole
from protocol.envelope import encode_packet
from protocol.evidence import EvidenceHeader, make_part
from protocol.ids import uuid7_from_parts
from protocol.keys import Ed25519PrivateKey, key_id, private_key_from_seed
from protocol.status import StatusHeartbeat

TEST_DEVICE_SEED = bytes(range(32))
TEST_SERVER_SEED = bytes(range(32, 64))
FIXED_TIME = datetime(2025, 3, 1, 1, 30, 15, 250000, tzinfo=timezone.utc)
FIXED_PACKET_ID = uuid7_from_parts(int(FIXED_TIME.timestamp() * 1000), 0x123, 0x0123_4567_89AB_CDEF)
DEVICE_ID = "dh-cam-001"


def fixed_device_key() -> Ed25519PrivateKey:
    """The fixed TEST-ONLY device key."""
    return private_key_from_seed(TEST_DEVICE_SEED)


def fixed_server_key() -> Ed25519PrivateKey:
    """The fixed TEST-ONLY server key."""
    return private_key_from_seed(TEST_SERVER_SEED)


# Older names, kept for callers; `__test__ = False` stops pytest collecting them as tests when a
# test module imports them.
test_device_key = fixed_device_key
test_server_key = fixed_server_key
test_device_key.__test__ = False  # type: ignore[attr-defined]
test_server_key.__test__ = False  # type: ignore[attr-defined]


def fake_jpeg(size: int, tag: int = 0) -> bytes:
    """JPEG framing (SOI ... EOI) around deterministic filler: transport tests only."""
    body_len = max(size - 4, 0)
    seed = hashlib.sha256(f"jpeg-{tag}".encode()).digest()
    body = (seed * (body_len // 32 + 1))[:body_len]
    return b"\xff\xd8" + body + b"\xff\xd9"


def fake_mp4(size: int) -> bytes:
    """An `ftyp` box followed by deterministic filler: transport tests only."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1"
    body_len = max(size - len(ftyp), 0)
    seed = hashlib.sha256(b"mp4").digest()
    return ftyp + (seed * (body_len // 32 + 1))[:body_len]


def make_parts(
    roles: Iterable[MediaRole] = (MediaRole.scene_at, MediaRole.plate_crop, MediaRole.clip),
    size: int = 64,
) -> dict[MediaRole, bytes]:
    """Tiny media parts by role, in the given order."""
    return {
        role: fake_mp4(size) if role is MediaRole.clip else fake_jpeg(size, tag=i)
        for i, role in enumerate(roles)
    }


def violation_dict(at: datetime = FIXED_TIME) -> dict[str, Any]:
    """A red-light violation with signal facts, as plain data."""
    return {
        "behaviour": "red_light",
        "experimental": False,
        "rule_version": "red_light/1.0",
        "occurred_at": at,
        "vehicle_class": "motorbike",
        "track_id": 42,
        "confidence": 0.875,
        "track": [
            {
                "t": at - timedelta(milliseconds=80),
                "frame_seq": 1001,
                "box": [100, 400, 160, 520],
                "score": 0.75,
            },
            {"t": at, "frame_seq": 1003, "box": [104, 380, 164, 500], "score": 0.8125},
        ],
        "signal": {
            "phase": "red",
            "source": "classifier",
            "red_onset_at": at - timedelta(seconds=2),
            "amber_duration_s": 3.0,
            "time_into_red_s": 2.0,
            "grace_s": 0.5,
        },
    }


def header_dict(parts: Mapping[MediaRole, bytes], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Every header field, as plain data, describing `parts`."""
    return {
        "packet_id": FIXED_PACKET_ID,
        "seq": 7,
        "device_id": DEVICE_ID,
        "site_id": "dong-hoi-01",
        "camera_id": "north",
        "key_id": key_id(key),
        "software_version": "0.1.0",
        "created_at": FIXED_TIME + timedelta(seconds=4),
        "location": {"lat": 17.4689, "lon": 106.6223, "accuracy_m": 5.0, "heading_deg": 180.0},
        "clock": {
            "synced": True,
            "source": "ntp",
            "offset_ms": 1.5,
            "last_sync_at": FIXED_TIME - timedelta(minutes=5),
        },
        "model": {"name": "ssd_mobilenet_v2", "version": "1", "sha256": "ab" * 32},
        "config_sha256": "cd" * 32,
        "calibration_sha256": "ef" * 32,
        "frame": {"width": 1920, "height": 1080, "fps": 25.0},
        "violation": violation_dict(),
        "plate_candidates": [
            {
                "text": "73AA12345",
                "printed": "73-AA 123.45",
                "lines": 2,
                "colour": "white",
                "confidence": 0.5,
                "box": [120, 470, 150, 500],
                "reader_name": "edge-ocr",
                "reader_version": "0.1",
            },
        ],
        "parts": [make_part(role, role.mime, data) for role, data in parts.items()],
    }


def make_header(
    parts: Mapping[MediaRole, bytes] | None = None,
    key: Ed25519PrivateKey | None = None,
    **overrides: Any,
) -> EvidenceHeader:
    """A valid header for `parts` (default: tiny parts) signed-for by `key` (default: test key)."""
    data = header_dict(make_parts() if parts is None else parts, key or fixed_device_key())
    data.update(overrides)
    return EvidenceHeader.model_validate(data)


def make_packet(
    parts: Mapping[MediaRole, bytes] | None = None,
    key: Ed25519PrivateKey | None = None,
    dropped: Iterable[MediaRole] = (),
    **overrides: Any,
) -> tuple[EvidenceHeader, bytes]:
    """A header and its encoded, signed packet; `dropped` roles travel without bytes."""
    parts = make_parts() if parts is None else parts
    key = key or fixed_device_key()
    header = make_header(parts, key, **overrides)
    gone = set(dropped)
    payload = [None if role in gone else data for role, data in parts.items()]
    return header, encode_packet(header, payload, key)


def make_ack(**overrides: Any) -> Ack:
    """A `stored` ack for the default packet."""
    data: dict[str, Any] = {
        "packet_id": FIXED_PACKET_ID,
        "packet_sha256": "12" * 32,
        "device_id": DEVICE_ID,
        "seq": 7,
        "status": AckStatus.stored,
        "acked_at": FIXED_TIME + timedelta(seconds=6),
    }
    data.update(overrides)
    return Ack.model_validate(data)


def status_metrics_dict() -> dict[str, Any]:
    """Metrics of a healthy box, as plain data."""
    return {
        "uptime_s": 3600.0,
        "pipeline": {
            "fps_in": 25.0,
            "fps_processed": 12.5,
            "detection_latency_ms": 38.0,
            "cpu_ms_per_frame": {"detect": 31.0, "track": 1.5},
            "queue_depths": {"frames": 2},
            "dropped_frames": 0,
        },
        "outbox": {
            "depth": 3,
            "bytes": 2_900_000,
            "dead_letters": 0,
            "dropped": {"clip": 1, "still": 0, "metadata": 0},
        },
        "disk": {"free_bytes": 20 * 1024**3, "total_bytes": 32 * 1024**3},
        "temperature_c": 61.5,
        "clock": {"synced": True, "source": "ntp", "offset_ms": 1.5},
        "camera_problems": [],
        "alarms": [
            {
                "code": "evidence_dropped",
                "since": FIXED_TIME,
                "message": "Đã bỏ clip vì hết dung lượng đĩa (clip dropped: disk full)",
            }
        ],
        "last_seq": 7,
    }


def make_status(**overrides: Any) -> StatusHeartbeat:
    """An `online` heartbeat with plausible metrics."""
    data: dict[str, Any] = {
        "device_id": DEVICE_ID,
        "state": "online",
        "sent_at": FIXED_TIME,
        "software_version": "0.1.0",
        "metrics": status_metrics_dict(),
    }
    data.update(overrides)
    return StatusHeartbeat.model_validate(data)


def minimal_config_dict(device_id: str = DEVICE_ID) -> dict[str, Any]:
    """The smallest YAML-shaped config that validates (red light by the colour classifier)."""
    return {
        "device": {
            "id": device_id,
            "site_id": "dong-hoi-01",
            "camera_id": "north",
            "location": {"lat": 17.4689, "lon": 106.6223},
        },
        "camera": {"source": "rtsp://192.0.2.10/stream1"},
        "calibration": {
            "stop_line": [[100, 600], [1800, 640]],
            "light_region": {"box": [900, 40, 940, 140]},
        },
    }


def make_device_config(**sections: Any) -> DeviceConfig:
    """A valid config; keyword arguments replace whole top-level sections."""
    data = minimal_config_dict()
    data.update(sections)
    return DeviceConfig.model_validate(data)


def new_uuid() -> uuid.UUID:
    """A random UUID for ids that need not be v7."""
    return uuid.uuid4()
