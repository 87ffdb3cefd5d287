"""Golden vectors: the wire format, pinned byte for byte.

Set TW_REGEN_GOLDEN=1 to rewrite the files after an intended format change, then review the diff.
"""

from __future__ import annotations

import json
import os

import pytest

from protocol.ack import open_ack
from protocol.chunks import reassemble
from protocol.enums import MediaRole
from protocol.envelope import open_packet, packet_sha256
from protocol.keys import Ed25519PublicKey, public_key_from_raw
from tests.golden.vectors import build_vectors, from_hex, read_vector, write_vectors

REGEN = os.environ.get("TW_REGEN_GOLDEN") == "1"


def public_key(name: str) -> Ed25519PublicKey:
    return public_key_from_raw(from_hex(read_vector(name)))


@pytest.fixture(scope="module")
def built() -> dict[str, str]:
    if REGEN:
        write_vectors()
    return build_vectors()


def test_rebuilding_reproduces_every_file(built: dict[str, str]) -> None:
    different = [name for name, text in built.items() if read_vector(name) != text]
    assert different == [], "wire format changed; see tests/golden/README.md"


def test_golden_packet_decodes_to_the_golden_header() -> None:
    data = from_hex(read_vector("evidence_small.packet.hex"))
    packet = open_packet(data, public_key("device_public_key.hex"))
    assert packet.header.model_dump(mode="json") == json.loads(
        read_vector("evidence_small.header.json")
    )
    header_len = int.from_bytes(data[6:10], "big")
    assert data[10 : 10 + header_len] == from_hex(read_vector("evidence_small.header.cbor.hex"))
    signature = data[10 + header_len : 74 + header_len]
    assert signature == from_hex(read_vector("evidence_small.signature.hex"))


def test_golden_dropped_packet_verifies_with_the_same_signature() -> None:
    data = from_hex(read_vector("evidence_small.dropped_clip.packet.hex"))
    packet = open_packet(data, public_key("device_public_key.hex"))
    assert packet.dropped == (MediaRole.clip,)
    assert bytes(packet.signature) == from_hex(read_vector("evidence_small.signature.hex"))


def test_golden_chunks_reassemble_to_the_golden_packet() -> None:
    chunks = [bytes.fromhex(line) for line in read_vector("evidence_small.chunks.hex").split()]
    assert len(chunks) > 1
    expected = from_hex(read_vector("evidence_small.packet.hex"))
    assert reassemble(reversed(chunks)) == expected


def test_golden_ack_opens_with_the_server_key() -> None:
    ack = open_ack(
        from_hex(read_vector("ack_stored.sealed.hex")), public_key("server_public_key.hex")
    )
    assert ack.model_dump(mode="json") == json.loads(read_vector("ack_stored.json"))
    assert ack.packet_sha256 == packet_sha256(from_hex(read_vector("evidence_small.packet.hex")))
