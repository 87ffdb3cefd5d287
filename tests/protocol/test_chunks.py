"""Chunking: any order, harmless duplicates, named gaps and conflicts, whole-packet hash."""

from __future__ import annotations

import hashlib
import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.chunks import CHUNK_HEADER_LEN, decode_chunk, reassemble, split_packet
from protocol.errors import ChunkError, MalformedError, SizeError, VersionError
from protocol.limits import DEFAULT_CHUNK_SIZE, MAX_CHUNKS, MAX_PACKET_BYTES
from tests.protocol.strategies import PROPERTY

PACKET_ID = uuid.UUID("01954f53-5152-7123-8123-456789abcdef")


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return split_packet(PACKET_ID, data, size)


@PROPERTY
@given(
    data=st.binary(min_size=1, max_size=5000),
    chunk_size=st.integers(1, 700),
    seed=st.integers(0, 2**32),
    duplicates=st.integers(0, 5),
)
def test_any_order_with_duplicates_reassembles(
    data: bytes, chunk_size: int, seed: int, duplicates: int
) -> None:
    chunks = chunks_of(data, chunk_size) if len(data) // chunk_size < MAX_CHUNKS else []
    if not chunks:
        return
    rng = random.Random(seed)
    delivered = chunks + [rng.choice(chunks) for _ in range(duplicates)]
    rng.shuffle(delivered)
    assert reassemble(delivered) == data


def test_chunk_layout_matches_the_documentation() -> None:
    data = bytes(range(256)) * 5
    first, *_ = chunks_of(data, 512)
    assert first[:4] == b"TWEC" and first[4:6] == b"\x01\x00"
    assert first[6:22] == PACKET_ID.bytes
    assert first[22:24] == (0).to_bytes(2, "big") and first[24:26] == (3).to_bytes(2, "big")
    assert first[26:28] == b"\x00\x00"
    assert first[28:32] == len(data).to_bytes(4, "big")
    assert first[32:64] == hashlib.sha256(data).digest()
    assert CHUNK_HEADER_LEN == 64 and first[64:] == data[:512]
    chunk = decode_chunk(first)
    assert (chunk.packet_id, chunk.index, chunk.count, chunk.total_size) == (PACKET_ID, 0, 3, 1280)


def test_a_small_packet_is_one_chunk_of_one() -> None:
    (only,) = split_packet(PACKET_ID, b"tiny", DEFAULT_CHUNK_SIZE)
    assert decode_chunk(only).count == 1


def test_missing_chunks_are_named() -> None:
    chunks = chunks_of(bytes(1000), 100)
    with pytest.raises(ChunkError, match=r"missing chunks \[3, 7\]") as caught:
        reassemble([c for i, c in enumerate(chunks) if i not in (3, 7)])
    assert caught.value.missing == (3, 7)


def test_conflicting_duplicates_are_named() -> None:
    chunks = chunks_of(bytes(1000), 100)
    forged = bytearray(chunks[4])
    forged[-1] ^= 1
    with pytest.raises(ChunkError, match="conflicting") as caught:
        reassemble([*chunks, bytes(forged)])
    assert caught.value.conflicting == (4,)


def test_chunks_of_another_packet_are_refused() -> None:
    mine = chunks_of(bytes(300), 100)
    theirs = split_packet(uuid.uuid4(), bytes(300), 100)
    with pytest.raises(ChunkError, match="another packet"):
        reassemble([mine[0], theirs[1], mine[2]])


def test_a_changed_chunk_fails_the_packet_hash() -> None:
    chunks = chunks_of(bytes(300), 100)
    changed = bytearray(chunks[1])
    changed[-1] ^= 1
    with pytest.raises(ChunkError, match="sha256"):
        reassemble([chunks[0], bytes(changed), chunks[2]])


def test_an_empty_set_is_refused() -> None:
    with pytest.raises(ChunkError, match="no chunks"):
        reassemble([])


@pytest.mark.parametrize(
    ("patch", "error"),
    [
        (lambda c: c[:40], MalformedError),
        (lambda c: b"XXXX" + c[4:], MalformedError),
        (lambda c: c[:4] + b"\x02" + c[5:], VersionError),
        (lambda c: c[:22] + (9).to_bytes(2, "big") + c[24:], ChunkError),  # index >= count
        (lambda c: c[:24] + (0).to_bytes(2, "big") + c[26:], ChunkError),  # count 0
        (lambda c: c[:26] + b"\x00\x01" + c[28:], MalformedError),  # reserved not zero
        (lambda c: c[:28] + (MAX_PACKET_BYTES + 1).to_bytes(4, "big") + c[32:], SizeError),
        (lambda c: c[:28] + (1).to_bytes(4, "big") + c[32:], ChunkError),  # holds more than total
    ],
)
def test_bad_chunk_framing_is_refused(patch: object, error: type[Exception]) -> None:
    chunk = chunks_of(bytes(300), 100)[0]
    with pytest.raises(error):
        decode_chunk(patch(chunk))  # type: ignore[operator]


def test_split_refuses_what_cannot_travel() -> None:
    with pytest.raises(SizeError):
        split_packet(PACKET_ID, bytes(MAX_PACKET_BYTES + 1))
    with pytest.raises(ChunkError, match="at most"):
        split_packet(PACKET_ID, bytes(MAX_CHUNKS + 1), 1)
    with pytest.raises(ChunkError):
        split_packet(PACKET_ID, b"", 10)
