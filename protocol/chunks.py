"""Chunks (`TWEC`): every message on the evidence topic is one chunk of a packet.

Brokers cap message sizes (Mosquitto 2.1 at 2 MB, EMQX at 1 MB, AWS IoT at 128 KB), so a packet
travels in chunks of a configurable size. Each chunk repeats the packet id, count, total size and
whole-packet sha256, so any ingest worker holding a complete set can reassemble and check it.

    0   4  magic b"TWEC"        4  1  major        5  1  minor
    6  16  packet id (UUID)     22 2  index u16 BE 24 2  count u16 BE (1..4096)
    26  2  reserved, zero       28 4  total size u32 BE    32 32 packet sha256 (raw)
    64 ..  chunk data (non-empty)
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from protocol.errors import ChunkError, MalformedError, SizeError, VersionError
from protocol.limits import DEFAULT_CHUNK_SIZE, MAX_CHUNKS, MAX_PACKET_BYTES
from protocol.version import PROTOCOL_MAJOR, PROTOCOL_MINOR

__all__ = [
    "CHUNK_HEADER_LEN",
    "CHUNK_MAGIC",
    "DEFAULT_CHUNK_SIZE",
    "Chunk",
    "decode_chunk",
    "reassemble",
    "split_packet",
]

CHUNK_MAGIC = b"TWEC"
_HEADER = struct.Struct(">4sBB16sHHHI32s")
CHUNK_HEADER_LEN = _HEADER.size


@dataclass(frozen=True)
class Chunk:
    """One decoded chunk."""

    major: int
    minor: int
    packet_id: uuid.UUID
    index: int
    count: int
    total_size: int
    packet_sha256: str
    data: bytes

    @property
    def set_key(self) -> tuple[uuid.UUID, int, int, str]:
        """What every chunk of one packet must agree on."""
        return (self.packet_id, self.count, self.total_size, self.packet_sha256)


def split_packet(
    packet_id: uuid.UUID,
    data: bytes | bytearray | memoryview,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[bytes]:
    """Cut an encoded packet into chunk messages (a small packet is one chunk of one)."""
    view = memoryview(data).cast("B")
    size = len(view)
    if size > MAX_PACKET_BYTES:
        raise SizeError(f"packet is {size} bytes; the limit is {MAX_PACKET_BYTES}")
    if size == 0 or chunk_size < 1:
        raise ChunkError(f"cannot split {size} bytes into chunks of {chunk_size}")
    count = -(-size // chunk_size)
    if count > MAX_CHUNKS:
        raise ChunkError(f"{count} chunks of {chunk_size} bytes; at most {MAX_CHUNKS} allowed")
    digest = hashlib.sha256(view).digest()
    chunks = []
    for index in range(count):
        head = _HEADER.pack(
            CHUNK_MAGIC,
            PROTOCOL_MAJOR,
            PROTOCOL_MINOR,
            packet_id.bytes,
            index,
            count,
            0,
            size,
            digest,
        )
        chunks.append(b"".join((head, view[index * chunk_size : (index + 1) * chunk_size])))
    return chunks


def decode_chunk(data: bytes | bytearray | memoryview) -> Chunk:
    """Parse one chunk message; checks its framing, not the packet it belongs to."""
    view = memoryview(data).cast("B")
    if len(view) <= CHUNK_HEADER_LEN:
        raise MalformedError(f"chunk truncated: {len(view)} bytes")
    magic, major, minor, raw_id, index, count, reserved, total, digest = _HEADER.unpack_from(view)
    if magic != CHUNK_MAGIC:
        raise MalformedError("not a chunk (bad magic)")
    if major != PROTOCOL_MAJOR:
        raise VersionError(f"unsupported major version {major} (this side speaks {PROTOCOL_MAJOR})")
    if reserved != 0:
        raise MalformedError("chunk header's reserved bytes are not zero")
    if not 1 <= count <= MAX_CHUNKS or index >= count:
        raise ChunkError(f"chunk index {index} of {count} is out of range")
    if total > MAX_PACKET_BYTES:
        raise SizeError(f"packet is {total} bytes; the limit is {MAX_PACKET_BYTES}")
    if len(view) - CHUNK_HEADER_LEN > total:
        raise ChunkError(f"chunk {index} holds more than the packet's {total} bytes")
    return Chunk(
        major=major,
        minor=minor,
        packet_id=uuid.UUID(bytes=raw_id),
        index=index,
        count=count,
        total_size=total,
        packet_sha256=digest.hex(),
        data=bytes(view[CHUNK_HEADER_LEN:]),
    )


def _index_chunks(chunks: list[Chunk]) -> dict[int, bytes]:
    by_index: dict[int, bytes] = {}
    conflicting = set()
    for chunk in chunks:
        if chunk.set_key != chunks[0].set_key:
            raise ChunkError(f"chunk {chunk.index} belongs to another packet or disagrees on it")
        if by_index.setdefault(chunk.index, chunk.data) != chunk.data:
            conflicting.add(chunk.index)
    if conflicting:
        found = tuple(sorted(conflicting))
        raise ChunkError(f"conflicting duplicates of chunks {list(found)}", conflicting=found)
    return by_index


def reassemble(chunks: Iterable[Chunk | bytes | bytearray | memoryview]) -> bytes:
    """Join a complete chunk set in index order and check the whole-packet sha256.

    Order does not matter and identical duplicates are harmless (QoS 1 delivers twice);
    conflicting duplicates or missing indexes raise `ChunkError` naming them.
    """
    decoded = [c if isinstance(c, Chunk) else decode_chunk(c) for c in chunks]
    if not decoded:
        raise ChunkError("no chunks")
    by_index = _index_chunks(decoded)
    first = decoded[0]
    missing = tuple(i for i in range(first.count) if i not in by_index)
    if missing:
        shown = list(missing[:20])
        raise ChunkError(f"missing chunks {shown} of {first.count}", missing=missing)
    data = b"".join(by_index[i] for i in range(first.count))
    if len(data) != first.total_size:
        raise ChunkError(f"chunks add up to {len(data)} bytes, not {first.total_size}")
    if hashlib.sha256(data).hexdigest() != first.packet_sha256:
        raise ChunkError("reassembled packet does not match its sha256")
    return data
