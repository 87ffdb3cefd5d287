"""The reference packet every transport benchmark uses: four 120 KB stills and a 500 KB clip.

About 980 KB, so at the default 256 KiB chunk size it travels as four chunks. The media bytes are
JPEG / MP4 framing around pseudo-random filler: they exercise transport, not decoders.

This folder also holds `protocol.py` (the protocol benchmark), which shadows the `protocol`
package for scripts run from here. Importing this module puts the project root first on
`sys.path`; a benchmark script should import it before anything from `protocol`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if sys.path[:1] != [str(ROOT)]:
    sys.path.insert(0, str(ROOT))
if "protocol" in sys.modules and not hasattr(sys.modules["protocol"], "__path__"):
    raise ImportError(
        "scripts/bench/protocol.py shadows the protocol package: import reference first"
    )

import random  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from functools import lru_cache  # noqa: E402

from protocol.enums import MediaRole  # noqa: E402
from protocol.envelope import encode_packet  # noqa: E402
from protocol.evidence import EvidenceHeader, make_part, new_packet_id  # noqa: E402
from protocol.keys import Ed25519PrivateKey, key_id  # noqa: E402

STILL_SIZE = 120_000
CLIP_SIZE = 500_000
STILL_ROLES = (
    MediaRole.scene_before,
    MediaRole.scene_at,
    MediaRole.scene_after,
    MediaRole.plate_crop,
)


def _filler(rng: random.Random, size: int) -> bytes:
    return rng.getrandbits(size * 8).to_bytes(size, "big") if size else b""


@lru_cache(maxsize=1)
def reference_parts() -> dict[MediaRole, bytes]:
    """The reference media, in packet order (deterministic, built once)."""
    rng = random.Random(704)
    parts = {
        role: b"\xff\xd8\xff\xe0" + _filler(rng, STILL_SIZE - 6) + b"\xff\xd9"
        for role in STILL_ROLES
    }
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1"
    parts[MediaRole.clip] = ftyp + _filler(rng, CLIP_SIZE - len(ftyp))
    return parts


def _track(at: datetime) -> list[dict[str, object]]:
    # One second at 25 fps: what a red-light track across the stop line typically holds.
    return [
        {
            "t": at - timedelta(milliseconds=40 * (24 - i)),
            "frame_seq": 5000 + i,
            "box": [600.0 + 4 * i, 700.0 - 12 * i, 780.0 + 4 * i, 860.0 - 12 * i],
            "score": 0.8,
        }
        for i in range(25)
    ]


def _violation(at: datetime) -> dict[str, object]:
    return {
        "behaviour": "red_light",
        "experimental": False,
        "rule_version": "red_light/1",
        "occurred_at": at,
        "vehicle_class": "car",
        "track_id": 4711,
        "confidence": 0.9,
        "track": _track(at),
        "signal": {
            "phase": "red",
            "source": "classifier",
            "grace_s": 0.5,
            "red_onset_at": at - timedelta(seconds=3),
            "amber_duration_s": 3.0,
            "time_into_red_s": 3.0,
        },
    }


def reference_header(
    key: Ed25519PrivateKey, seq: int, device_id: str = "bench-cam-01"
) -> EvidenceHeader:
    """A realistic red-light header describing `reference_parts()`."""
    now = datetime.now(timezone.utc)
    at = now - timedelta(seconds=4)
    return EvidenceHeader.model_validate(
        {
            "packet_id": new_packet_id(),
            "seq": seq,
            "device_id": device_id,
            "site_id": "dong-hoi-01",
            "camera_id": "north",
            "key_id": key_id(key),
            "software_version": "0.1.0",
            "created_at": now,
            "location": {"lat": 17.4689, "lon": 106.6223, "accuracy_m": 3.0},
            "clock": {"synced": True, "source": "ntp", "offset_ms": 0.8, "last_sync_at": now},
            "model": {"name": "ssd_mobilenet_v2", "version": "1", "sha256": "ab" * 32},
            "config_sha256": "cd" * 32,
            "calibration_sha256": "ef" * 32,
            "frame": {"width": 1920, "height": 1080, "fps": 25.0},
            "violation": _violation(at),
            "plate_candidates": [
                {
                    "text": "73A12345",
                    "printed": "73A-123.45",
                    "lines": 1,
                    "colour": "white",
                    "confidence": 0.93,
                    "box": [650.0, 800.0, 760.0, 830.0],
                    "reader_name": "edge-ocr",
                    "reader_version": "0.1",
                },
            ],
            "parts": [make_part(role, role.mime, data) for role, data in reference_parts().items()],
        }
    )


def reference_packet(
    key: Ed25519PrivateKey, seq: int, device_id: str = "bench-cam-01"
) -> tuple[EvidenceHeader, bytes]:
    """The reference header and its signed, encoded packet (~980 KB)."""
    header = reference_header(key, seq, device_id)
    return header, encode_packet(header, list(reference_parts().values()), key)
