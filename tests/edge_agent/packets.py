"""Real signed evidence packets for the outbox and publisher tests (`make_packet`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from protocol.enums import BehaviourCode, ClockSource, MediaRole, VehicleClass
from protocol.envelope import encode_packet
from protocol.evidence import (
    ClockState,
    EvidenceHeader,
    FrameInfo,
    Location,
    ModelInfo,
    make_part,
    new_packet_id,
)
from protocol.keys import Ed25519PrivateKey, key_id, private_key_from_seed
from protocol.violation import TrackPoint, Violation
from tests.factories import test_device_key, test_server_key

# TEST-ONLY keys (tests/factories.py); the forger's is one the box was never told about.
DEVICE_KEY = test_device_key()
SERVER_KEY = test_server_key()
FORGER_KEY = private_key_from_seed(b"\x33" * 32)
SMALL_STILLS: Mapping[MediaRole, int] = {MediaRole.scene_at: 3_000, MediaRole.plate_crop: 1_000}


@dataclass(frozen=True)
class Packet:
    """A packet as the evidence stage hands it to the outbox."""

    packet_id: uuid.UUID
    seq: int
    data: bytes


def _violation(now: datetime) -> Violation:
    point = TrackPoint(t=now, frame_seq=1, box=(10, 10, 50, 50), score=0.9)
    return Violation(
        behaviour=BehaviourCode.wrong_way,
        experimental=False,
        rule_version="test-1",
        occurred_at=now,
        vehicle_class=VehicleClass.car,
        track_id=1,
        confidence=0.9,
        track=[point],
    )


def make_packet(
    seq: int,
    *,
    device_id: str = "cam-test-01",
    clip: int = 0,
    stills: Mapping[MediaRole, int] = SMALL_STILLS,
    key: Ed25519PrivateKey = DEVICE_KEY,
) -> Packet:
    """A signed packet with a clip of `clip` bytes (0: none) and stills of the given sizes."""
    now = datetime.now(timezone.utc)
    sizes = {**stills, **({MediaRole.clip: clip} if clip else {})}
    bodies = {role: os.urandom(size) for role, size in sizes.items()}
    packet_id = new_packet_id()
    header = EvidenceHeader(
        packet_id=packet_id,
        seq=seq,
        device_id=device_id,
        site_id="site-1",
        camera_id="cam-1",
        key_id=key_id(key),
        software_version="test",
        created_at=now,
        location=Location(lat=10.77, lon=106.70),
        clock=ClockState(synced=True, source=ClockSource.ntp, offset_ms=1.0),
        model=ModelInfo(name="m", version="1", sha256="0" * 64),
        config_sha256="1" * 64,
        calibration_sha256="2" * 64,
        frame=FrameInfo(width=1920, height=1080, fps=25),
        violation=_violation(now),
        parts=[make_part(role, role.mime, body) for role, body in bodies.items()],
    )
    return Packet(packet_id, seq, encode_packet(header, list(bodies.values()), key))
