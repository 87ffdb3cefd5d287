"""The evidence packet envelope: round trips, tampering, truncation, versions, sizes, drops."""

from __future__ import annotations

import random
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.enums import MediaRole
from protocol.envelope import (
    MAX_PACKET_BYTES,
    decode_packet,
    drop_parts,
    encode_packet,
    open_packet,
    packet_sha256,
    verify_packet,
)
from protocol.errors import (
    MalformedError,
    PartHashError,
    ProtocolError,
    SignatureError,
    SizeError,
    VersionError,
)
from protocol.evidence import EvidenceHeader
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id
from tests.factories import fixed_device_key, header_dict, make_header, make_packet, make_parts
from tests.golden.vectors import from_hex, read_vector
from tests.protocol.strategies import PROPERTY, headers_for, media_parts


def forge(header: dict[str, Any], parts: list[bytes], key: Ed25519PrivateKey, **cbor: Any) -> bytes:
    """Build a packet by hand from the documented layout, bypassing the encoder's checks."""
    raw = cbor2.dumps(header, **({"canonical": True} | cbor))
    signed = b"TWEP\x01\x00" + len(raw).to_bytes(4, "big") + raw
    body = b"".join(b"\x00" + len(p).to_bytes(4, "big") + p for p in parts)
    return signed + key.sign(signed) + bytes((len(parts),)) + body


def plain_header(**overrides: Any) -> tuple[dict[str, Any], list[bytes]]:
    parts = make_parts()
    return make_header(parts, **overrides).model_dump(mode="json"), list(parts.values())


def test_round_trip_keeps_every_fact_and_byte(
    device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    parts = make_parts()
    header, data = make_packet(parts, device_key)
    packet = open_packet(data, device_public_key)
    assert packet.header == header
    assert [bytes(p) for p in packet.parts if p is not None] == list(parts.values())
    plate = packet.part(MediaRole.plate_crop)
    assert plate is not None and bytes(plate) == parts[MediaRole.plate_crop]
    assert packet.dropped == ()


def test_layout_matches_the_documentation(device_key: Ed25519PrivateKey) -> None:
    header, data = make_packet(make_parts(), device_key)
    header_len = int.from_bytes(data[6:10], "big")
    assert data[:6] == b"TWEP\x01\x00"
    assert data[10 : 10 + header_len] == cbor2.dumps(header.model_dump(mode="json"), canonical=True)
    assert data[74 + header_len] == len(header.parts)
    assert forge(header.model_dump(mode="json"), list(make_parts().values()), device_key) == data


def test_encoding_is_deterministic(device_key: Ed25519PrivateKey) -> None:
    assert make_packet(key=device_key)[1] == make_packet(key=device_key)[1]


def test_decoded_parts_are_views_into_the_input(small_packet: bytes) -> None:
    packet = decode_packet(small_packet)
    assert all(isinstance(p, memoryview) and p.obj is small_packet for p in packet.parts)


@PROPERTY
@given(st.data())
def test_random_packets_round_trip(data: st.DataObject) -> None:
    key = fixed_device_key()
    parts = data.draw(media_parts())
    header = EvidenceHeader.model_validate(data.draw(headers_for(parts, key_id(key))))
    dropped = data.draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    payload = [None if gone else body for gone, body in zip(dropped, parts.values(), strict=True)]
    packet = open_packet(encode_packet(header, payload, key), key.public_key())
    assert packet.header == header
    assert packet.minor == header.schema_minor
    assert [None if p is None else bytes(p) for p in packet.parts] == payload
    report = verify_packet(packet, key.public_key())
    assert set(report.dropped) == {role for role, gone in zip(parts, dropped, strict=True) if gone}


def test_dropped_part_keeps_the_signature_and_reads_as_dropped(
    small_packet: bytes, device_public_key: Ed25519PublicKey
) -> None:
    smaller = drop_parts(small_packet, {MediaRole.clip, MediaRole.rider_crop})
    assert len(smaller) < len(small_packet)
    packet = open_packet(smaller, device_public_key)
    assert packet.dropped == (MediaRole.clip,)
    assert packet.part(MediaRole.clip) is None
    assert packet.header.part(MediaRole.clip) is not None  # its hash is still signed
    report = verify_packet(packet, device_public_key)
    assert report.dropped == (MediaRole.clip,)
    assert report.present == (MediaRole.scene_at, MediaRole.plate_crop)
    assert drop_parts(smaller, {MediaRole.clip}) == smaller


def test_a_part_whose_bytes_changed_is_named(
    small_packet: bytes, device_public_key: Ed25519PublicKey
) -> None:
    packet = decode_packet(small_packet)
    clip = packet.part(MediaRole.clip)
    assert clip is not None
    start = len(small_packet) - len(clip)
    tampered = bytearray(small_packet)
    tampered[start + 3] ^= 0xFF
    with pytest.raises(PartHashError, match="clip") as caught:
        open_packet(bytes(tampered), device_public_key)
    assert caught.value.role is MediaRole.clip
    assert caught.value.code == "part_hash_mismatch"


def test_encoder_refuses_parts_that_differ_from_their_descriptors(
    device_key: Ed25519PrivateKey,
) -> None:
    parts = make_parts()
    header = make_header(parts, device_key)
    wrong = [*list(parts.values())[:-1], b"not the clip"]
    with pytest.raises(PartHashError, match="clip"):
        encode_packet(header, wrong, device_key)
    with pytest.raises(MalformedError, match="parts given"):
        encode_packet(header, list(parts.values())[:2], device_key)


def test_another_key_is_refused_by_name(
    small_packet: bytes, server_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(SignatureError, match=key_id(server_key)):
        open_packet(small_packet, server_key.public_key())
    with pytest.raises(SignatureError, match="signing key"):
        encode_packet(make_header(key=device_key), list(make_parts().values()), server_key)


def test_a_forged_signature_is_refused(
    device_public_key: Ed25519PublicKey, server_key: Ed25519PrivateKey
) -> None:
    header, parts = plain_header()  # names the device key, signed by another
    with pytest.raises(SignatureError, match="chữ ký không hợp lệ"):
        open_packet(forge(header, parts, server_key), device_public_key)


def test_decode_checks_structure_only(small_packet: bytes) -> None:
    tampered = bytearray(small_packet)
    sig_at = 10 + int.from_bytes(small_packet[6:10], "big")
    tampered[sig_at] ^= 1
    packet = decode_packet(bytes(tampered))  # fine structurally
    with pytest.raises(SignatureError):
        verify_packet(packet, fixed_device_key().public_key())


def test_unknown_major_version_is_refused(small_packet: bytes) -> None:
    with pytest.raises(VersionError, match="major version 2"):
        decode_packet(small_packet[:4] + b"\x02" + small_packet[5:])


def test_higher_minor_version_is_accepted(
    device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    header, data = make_packet(key=device_key, schema_minor=3)
    packet = open_packet(data, device_public_key)
    assert (packet.major, packet.minor) == (1, 3)
    # The version bytes are signed and repeated in the header: a minor changed in transit fails.
    with pytest.raises(ProtocolError):
        open_packet(data[:5] + b"\x04" + data[6:], device_public_key)


@pytest.mark.parametrize("field", ["seq", "violation", "parts"])
def test_a_missing_header_field_is_named(
    field: str, device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    header, parts = plain_header()
    del header[field]
    with pytest.raises(MalformedError, match=field):
        open_packet(forge(header, parts, device_key), device_public_key)


def test_an_extra_header_field_is_named(
    device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    header, parts = plain_header()
    header["violation"]["colour_of_car"] = "red"
    with pytest.raises(MalformedError, match="violation.colour_of_car"):
        open_packet(forge(header, parts, device_key), device_public_key)


def test_a_non_canonical_header_is_refused(
    device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    header, parts = plain_header()
    with pytest.raises(MalformedError, match="canonical"):
        open_packet(forge(header, parts, device_key, canonical=False), device_public_key)
    header["frame"]["width"] = 1920.0  # same value, other type: still another encoding
    with pytest.raises(MalformedError, match="canonical"):
        open_packet(forge(header, parts, device_key), device_public_key)


def test_header_version_must_match_the_envelope(
    device_key: Ed25519PrivateKey, device_public_key: Ed25519PublicKey
) -> None:
    header, parts = plain_header(schema_minor=2)
    with pytest.raises(MalformedError, match="version"):
        open_packet(forge(header, parts, device_key), device_public_key)


def test_trailing_bytes_are_refused(small_packet: bytes) -> None:
    with pytest.raises(MalformedError, match="trailing"):
        decode_packet(small_packet + b"\x00")


def test_truncation_at_every_offset_is_refused(device_public_key: Ed25519PublicKey) -> None:
    data = from_hex(read_vector("evidence_small.packet.hex"))
    for end in range(len(data)):
        with pytest.raises(ProtocolError):
            open_packet(data[:end], device_public_key)


def test_every_single_bit_flip_is_detected(device_public_key: Ed25519PublicKey) -> None:
    data = from_hex(read_vector("evidence_small.packet.hex"))
    undetected = []
    for offset in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            try:
                open_packet(bytes(flipped), device_public_key)
            except ProtocolError:
                continue
            undetected.append((offset, bit))
    assert undetected == []


def test_random_bit_flips_in_the_reference_packet_name_the_part(
    reference_packet: bytes, reference_key: Ed25519PrivateKey
) -> None:
    public_key = reference_key.public_key()
    packet = decode_packet(reference_packet)
    regions = []  # (start, end, role) of each part's bytes
    for descriptor, view in zip(packet.header.parts, packet.parts, strict=True):
        assert view is not None
        start = _offset_in(reference_packet, view)
        regions.append((start, start + len(view), descriptor.role))
    rng = random.Random(20250301)
    for _ in range(200):
        offset, bit = rng.randrange(len(reference_packet)), rng.randrange(8)
        flipped = bytearray(reference_packet)
        flipped[offset] ^= 1 << bit
        with pytest.raises(ProtocolError) as caught:
            open_packet(flipped, public_key)
        inside = [role for start, end, role in regions if start <= offset < end]
        if inside:
            assert isinstance(caught.value, PartHashError)
            assert caught.value.role is inside[0]


def _offset_in(data: bytes, view: memoryview) -> int:
    # The views share the buffer; find where this one starts by its length from the end.
    tail = 0
    for later in reversed(decode_packet(data).parts):
        assert later is not None
        if later.nbytes == view.nbytes and bytes(later[:64]) == bytes(view[:64]):
            return len(data) - tail - later.nbytes
        tail += later.nbytes + 5
    raise AssertionError("part not found")


def test_packets_over_8_mib_are_refused(device_key: Ed25519PrivateKey) -> None:
    half = MAX_PACKET_BYTES // 2
    parts = {MediaRole.scene_at: b"\xff" * half, MediaRole.clip: b"\x00" * half}
    header = make_header(parts, device_key)  # the parts alone fit; the envelope does not
    with pytest.raises(SizeError, match="limit"):
        encode_packet(header, list(parts.values()), device_key)
    with pytest.raises(SizeError):
        decode_packet(b"TWEP\x01\x00" + bytes(MAX_PACKET_BYTES))


def test_too_many_parts_are_refused() -> None:
    data = header_dict(make_parts(list(MediaRole)), fixed_device_key())
    data["parts"] = data["parts"] + data["parts"][:1]
    with pytest.raises(ValueError, match="6"):
        EvidenceHeader.model_validate(data)


def test_packet_sha256_is_the_hash_of_the_bytes(small_packet: bytes) -> None:
    import hashlib

    assert packet_sha256(small_packet) == hashlib.sha256(small_packet).hexdigest()
