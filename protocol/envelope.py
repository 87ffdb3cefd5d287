"""The evidence packet envelope (`TWEP`): canonical header, Ed25519 signature, media parts.

Byte layout (documented in docs/protocol.md):

    0      4  magic b"TWEP"
    4      1  major version
    5      1  minor version
    6      4  H = header length, u32 big-endian
    10     H  header: canonical CBOR of EvidenceHeader
    10+H   64 Ed25519 signature over bytes [0, 10+H)
    74+H   1  N = number of parts (= len(header.parts))
    then N times, in header order: flags u8 (0 present, 1 dropped), length u32 BE, bytes

The signature covers only the prefix and the header; the header pins every part's sha256 and size,
so a part the box drops after signing (a full disk) keeps the packet verifiable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from protocol.canonical import loads_canonical, model_cbor
from protocol.enums import MediaRole
from protocol.errors import (
    MalformedError,
    PartHashError,
    SignatureError,
    SizeError,
    VersionError,
    describe_validation,
)
from protocol.evidence import EvidenceHeader, PartDescriptor
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id
from protocol.limits import MAX_HEADER_BYTES, MAX_PACKET_BYTES, MAX_PARTS
from protocol.version import PROTOCOL_MAJOR

__all__ = [
    "MAGIC",
    "MAX_PACKET_BYTES",
    "MAX_PARTS",
    "EvidencePacket",
    "VerifyReport",
    "decode_packet",
    "drop_parts",
    "encode_packet",
    "open_packet",
    "packet_sha256",
    "verify_packet",
]

MAGIC = b"TWEP"
PREFIX_LEN = 10
SIGNATURE_LEN = 64
FLAG_PRESENT = 0
FLAG_DROPPED = 1
_DROPPED_HEAD = bytes((FLAG_DROPPED, 0, 0, 0, 0))

PartBytes = bytes | bytearray | memoryview


@dataclass(frozen=True)
class EvidencePacket:
    """A decoded packet. Parts are zero-copy views into the input, None where dropped."""

    major: int
    minor: int
    header: EvidenceHeader
    signed: memoryview
    signature: bytes
    parts: tuple[memoryview | None, ...]
    size: int

    def part(self, role: MediaRole) -> memoryview | None:
        """The bytes of the part with `role`; None if dropped or absent."""
        for descriptor, data in zip(self.header.parts, self.parts, strict=True):
            if descriptor.role is role:
                return data
        return None

    @property
    def dropped(self) -> tuple[MediaRole, ...]:
        """Roles the box dropped after signing (their hashes stay in the header)."""
        return tuple(
            d.role for d, data in zip(self.header.parts, self.parts, strict=True) if data is None
        )


@dataclass(frozen=True)
class VerifyReport:
    """What verification established: parts checked against their hash, parts dropped."""

    present: tuple[MediaRole, ...]
    dropped: tuple[MediaRole, ...]


def _check_part(descriptor: PartDescriptor, data: PartBytes) -> None:
    role = descriptor.role
    if len(data) != descriptor.size:
        raise PartHashError(
            role, f"part {role.value} is {len(data)} bytes; the header says {descriptor.size}"
        )
    if hashlib.sha256(data).hexdigest() != descriptor.sha256:
        raise PartHashError(role, f"part {role.value} does not match its sha256 in the header")


def _signed_prefix(header: EvidenceHeader) -> bytes:
    header_bytes = model_cbor(header)
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise SizeError(f"header is {len(header_bytes)} bytes; the limit is {MAX_HEADER_BYTES}")
    version = bytes((header.schema_major, header.schema_minor))
    return b"".join((MAGIC, version, len(header_bytes).to_bytes(4, "big"), header_bytes))


def encode_packet(
    header: EvidenceHeader, parts: Sequence[PartBytes | None], key: Ed25519PrivateKey
) -> bytes:
    """Sign and encode a packet; `parts` follow header.parts, None marks a dropped part."""
    if header.schema_major != PROTOCOL_MAJOR:
        raise VersionError(f"cannot encode major version {header.schema_major}")
    if len(parts) != len(header.parts):
        raise MalformedError(f"{len(parts)} parts given for {len(header.parts)} descriptors")
    if header.key_id != key_id(key):
        raise SignatureError(f"header names key {header.key_id}; the signing key is {key_id(key)}")
    signed = _signed_prefix(header)
    total = len(signed) + SIGNATURE_LEN + 1 + sum(5 + len(p or b"") for p in parts)
    if total > MAX_PACKET_BYTES:
        raise SizeError(f"packet would be {total} bytes; the limit is {MAX_PACKET_BYTES}")
    for descriptor, data in zip(header.parts, parts, strict=True):
        if data is not None:  # refuse to sign what the server would reject
            _check_part(descriptor, data)
    pieces: list[PartBytes] = [signed, key.sign(signed), bytes((len(parts),))]
    for data in parts:
        if data is None:
            pieces.append(_DROPPED_HEAD)
        else:
            pieces += (bytes((FLAG_PRESENT,)) + len(data).to_bytes(4, "big"), data)
    return b"".join(pieces)


def _parse_header(raw: bytes, major: int, minor: int) -> EvidenceHeader:
    value = loads_canonical(raw, "header", require_canonical=False)
    if not isinstance(value, dict):
        raise MalformedError("header is not a CBOR map")
    try:
        header = EvidenceHeader.model_validate(value)
    except ValidationError as exc:
        raise MalformedError(f"header: {describe_validation(exc)}") from exc
    # One header, one encoding: the signed bytes must be exactly the canonical form of the facts.
    if model_cbor(header) != raw:
        raise MalformedError("header is not in canonical form")
    if (header.schema_major, header.schema_minor) != (major, minor):
        raise MalformedError("header version differs from the envelope's")
    return header


def _parse_parts(
    view: memoryview, pos: int, header: EvidenceHeader
) -> tuple[memoryview | None, ...]:
    size = len(view)
    count = view[pos]
    if count > MAX_PARTS or count != len(header.parts):
        raise MalformedError(f"part count {count} differs from the header's {len(header.parts)}")
    pos += 1
    parts: list[memoryview | None] = []
    for descriptor in header.parts:
        role = descriptor.role.value
        if pos + 5 > size:
            raise MalformedError(f"truncated before part {role}")
        flags, length = view[pos], int.from_bytes(view[pos + 1 : pos + 5], "big")
        pos += 5
        if flags == FLAG_DROPPED and length == 0:
            parts.append(None)
        elif flags == FLAG_PRESENT:
            if pos + length > size:
                raise MalformedError(f"truncated inside part {role}")
            parts.append(view[pos : pos + length])
            pos += length
        else:
            raise MalformedError(f"bad flags {flags} or length {length} for part {role}")
    if pos != size:
        raise MalformedError(f"{size - pos} trailing bytes after the last part")
    return tuple(parts)


def decode_packet(data: PartBytes) -> EvidencePacket:
    """Parse a packet's structure and header; checks no signature or hash (see verify_packet)."""
    view = memoryview(data).cast("B")
    size = len(view)
    if size > MAX_PACKET_BYTES:
        raise SizeError(f"packet is {size} bytes; the limit is {MAX_PACKET_BYTES}")
    if size < PREFIX_LEN:
        raise MalformedError(f"truncated: {size} bytes")
    if view[:4] != MAGIC:
        raise MalformedError("not an evidence packet (bad magic)")
    major, minor = view[4], view[5]
    if major != PROTOCOL_MAJOR:
        raise VersionError(f"unsupported major version {major} (this side speaks {PROTOCOL_MAJOR})")
    header_len = int.from_bytes(view[6:10], "big")
    signature_end = PREFIX_LEN + header_len + SIGNATURE_LEN
    if header_len > MAX_HEADER_BYTES or signature_end + 1 > size:
        raise MalformedError(f"truncated: header length {header_len} in a {size}-byte packet")
    header = _parse_header(bytes(view[PREFIX_LEN : PREFIX_LEN + header_len]), major, minor)
    return EvidencePacket(
        major=major,
        minor=minor,
        header=header,
        signed=view[: PREFIX_LEN + header_len],
        signature=bytes(view[PREFIX_LEN + header_len : signature_end]),
        parts=_parse_parts(view, signature_end, header),
        size=size,
    )


def verify_packet(packet: EvidencePacket, public_key: Ed25519PublicKey) -> VerifyReport:
    """Check the signature, then every present part against its hash; name what failed."""
    expected = key_id(public_key)
    if packet.header.key_id != expected:
        raise SignatureError(f"packet is signed by key {packet.header.key_id}, not {expected}")
    try:
        public_key.verify(packet.signature, packet.signed)
    except InvalidSignature as exc:
        raise SignatureError("chữ ký không hợp lệ (signature does not verify)") from exc
    present: list[MediaRole] = []
    for descriptor, data in zip(packet.header.parts, packet.parts, strict=True):
        if data is not None:
            _check_part(descriptor, data)
            present.append(descriptor.role)
    return VerifyReport(present=tuple(present), dropped=packet.dropped)


def open_packet(data: PartBytes, public_key: Ed25519PublicKey) -> EvidencePacket:
    """Decode and verify a packet in one step."""
    packet = decode_packet(data)
    verify_packet(packet, public_key)
    return packet


def drop_parts(data: PartBytes, roles: Collection[MediaRole]) -> bytes:
    """Re-encode a packet with `roles` marked dropped; the signature stays valid.

    Roles the packet does not carry, or already dropped, are ignored.
    """
    packet = decode_packet(data)
    pieces: list[PartBytes] = [packet.signed, packet.signature, bytes((len(packet.parts),))]
    for descriptor, part in zip(packet.header.parts, packet.parts, strict=True):
        if part is None or descriptor.role in roles:
            pieces.append(_DROPPED_HEAD)
        else:
            pieces += (bytes((FLAG_PRESENT,)) + len(part).to_bytes(4, "big"), part)
    return b"".join(pieces)


def packet_sha256(data: PartBytes) -> str:
    """Hex sha256 of a whole encoded packet (what chunks and acks name)."""
    return hashlib.sha256(data).hexdigest()
