"""Golden vectors that pin the wire format; `python -m tests.golden.vectors` rewrites them.

Every vector is made with the fixed TEST-ONLY keys of tests/factories.py. Ed25519 is deterministic,
so rebuilding must reproduce each file byte for byte; a difference means the wire format changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from protocol.ack import seal_ack
from protocol.chunks import split_packet
from protocol.enums import MediaRole
from protocol.envelope import PREFIX_LEN, SIGNATURE_LEN, drop_parts, packet_sha256
from protocol.keys import public_key_to_raw
from tests.factories import (
    fake_jpeg,
    fake_mp4,
    fixed_device_key,
    fixed_server_key,
    make_ack,
    make_packet,
)

GOLDEN_DIR = Path(__file__).resolve().parent
CHUNK_SIZE = 512  # small, so the small packet becomes a set of several chunks


def to_hex(data: bytes) -> str:
    """Hex, 32 bytes a line, for readable diffs."""
    text = data.hex()
    return "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))


def from_hex(text: str) -> bytes:
    """Inverse of `to_hex` (whitespace ignored)."""
    return bytes.fromhex("".join(text.split()))


def golden_parts() -> dict[MediaRole, bytes]:
    """The small packet's parts: two tiny stills and a tiny clip."""
    return {
        MediaRole.scene_at: fake_jpeg(24, tag=1),
        MediaRole.plate_crop: fake_jpeg(16, tag=2),
        MediaRole.clip: fake_mp4(40),
    }


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def build_vectors() -> dict[str, str]:
    """Every golden file's name and exact text."""
    device_key, server_key = fixed_device_key(), fixed_server_key()
    header, packet = make_packet(golden_parts(), device_key)
    header_len = int.from_bytes(packet[6:10], "big")
    header_end = PREFIX_LEN + header_len
    ack = make_ack(packet_id=header.packet_id, packet_sha256=packet_sha256(packet))
    chunks = split_packet(header.packet_id, packet, CHUNK_SIZE)
    return {
        "device_public_key.hex": to_hex(public_key_to_raw(device_key.public_key())),
        "server_public_key.hex": to_hex(public_key_to_raw(server_key.public_key())),
        "evidence_small.packet.hex": to_hex(packet),
        "evidence_small.header.cbor.hex": to_hex(packet[PREFIX_LEN:header_end]),
        "evidence_small.signature.hex": to_hex(packet[header_end : header_end + SIGNATURE_LEN]),
        "evidence_small.header.json": _json(header.model_dump(mode="json")),
        "evidence_small.dropped_clip.packet.hex": to_hex(drop_parts(packet, {MediaRole.clip})),
        "evidence_small.chunks.hex": "".join(chunk.hex() + "\n" for chunk in chunks),
        "ack_stored.sealed.hex": to_hex(seal_ack(ack, server_key)),
        "ack_stored.json": _json(ack.model_dump(mode="json")),
    }


def read_vector(name: str) -> str:
    """The committed text of one golden file."""
    return (GOLDEN_DIR / name).read_text(encoding="utf-8")


def write_vectors() -> list[str]:
    """Rewrite every golden file; returns the names that changed."""
    changed = []
    for name, text in build_vectors().items():
        path = GOLDEN_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(name)
    return changed


if __name__ == "__main__":
    for changed_name in write_vectors():
        print(f"rewrote tests/golden/{changed_name}")
    sys.exit(0)
