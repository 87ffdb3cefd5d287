"""The in-memory chunk buffer: complete sets come out whole, everything else goes to staging."""

from __future__ import annotations

import dataclasses
import itertools
import uuid

from central_server.ingest.assembly import ChunkBuffer
from central_server.ingest.schemas import InboundMessage
from protocol.chunks import Chunk, decode_chunk, split_packet
from protocol.ids import new_packet_id
from protocol.topics import Topics
from tests.central_server.ingest.conftest import RECEIVED_AT
from tests.factories import DEVICE_ID

TOPIC = Topics().evidence(DEVICE_ID)
_mids = itertools.count(1)


class FakeClock:
    """A monotonic clock the test moves by hand (no sleeping, no timing assertions)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _chunks(size: int = 1000, chunk_size: int = 250) -> list[Chunk]:
    packet_id = new_packet_id()
    data = uuid.uuid4().bytes * (size // 16)
    return [decode_chunk(raw) for raw in split_packet(packet_id, data, chunk_size)]


def _message(chunk: Chunk) -> InboundMessage:
    return InboundMessage(TOPIC, b"", next(_mids), 1, 1, RECEIVED_AT)


def test_a_set_completed_in_memory_comes_out_whole_with_every_message() -> None:
    buffer = ChunkBuffer()
    chunks = _chunks()
    releases = [buffer.add(_message(c), DEVICE_ID, c) for c in reversed(chunks)]

    assert all(r.complete is None and not r.spilled for r in releases[:-1])
    done = releases[-1].complete
    assert done is not None and done.ordered() == chunks
    assert len(done.messages) == len(chunks)
    assert buffer.held() == (0, 0, 0)


def test_a_redelivered_chunk_is_held_with_its_set_and_acked_with_it() -> None:
    buffer = ChunkBuffer()
    first, *rest = _chunks()
    buffer.add(_message(first), DEVICE_ID, first)
    buffer.add(_message(first), DEVICE_ID, first)
    assert buffer.held()[:2] == (1, 2)
    releases = [buffer.add(_message(c), DEVICE_ID, c) for c in rest]

    done = releases[-1].complete
    assert done is not None and len(done.messages) == len(rest) + 2


def test_a_conflicting_copy_sends_the_set_to_staging_with_it() -> None:
    buffer = ChunkBuffer()
    first, second, *_ = _chunks()
    buffer.add(_message(first), DEVICE_ID, first)
    forged = dataclasses.replace(first, data=b"x" * len(first.data))
    release = buffer.add(_message(forged), DEVICE_ID, forged)

    [spilled] = release.spilled
    assert spilled.packet_id == first.packet_id and len(spilled.messages) == 2
    assert buffer.held() == (0, 0, 0)


def test_the_oldest_set_is_staged_when_the_message_bound_is_reached() -> None:
    buffer = ChunkBuffer(max_messages=3)
    sets = [_chunks() for _ in range(4)]
    releases = [buffer.add(_message(s[0]), DEVICE_ID, s[0]) for s in sets]

    assert [len(r.spilled) for r in releases] == [0, 0, 0, 1]
    assert releases[3].spilled[0].packet_id == sets[0][0].packet_id
    assert buffer.held()[:2] == (3, 3)


def test_the_byte_bound_stages_the_oldest_sets() -> None:
    buffer = ChunkBuffer(max_bytes=600)
    old, new = _chunks(), _chunks()
    buffer.add(_message(old[0]), DEVICE_ID, old[0])
    buffer.add(_message(old[1]), DEVICE_ID, old[1])
    release = buffer.add(_message(new[0]), DEVICE_ID, new[0])

    assert [s.packet_id for s in release.spilled] == [old[0].packet_id]
    assert buffer.held()[2] <= 600


def test_a_set_held_past_its_hold_time_is_released_for_staging() -> None:
    clock = FakeClock()
    buffer = ChunkBuffer(hold_s=2.0, clock=clock)
    waiting, fresh = _chunks(), _chunks()
    buffer.add(_message(waiting[0]), DEVICE_ID, waiting[0])
    clock.now += 1.5
    buffer.add(_message(fresh[0]), DEVICE_ID, fresh[0])
    assert buffer.take_due() == []
    clock.now += 1.0

    [due] = buffer.take_due()
    assert due.packet_id == waiting[0].packet_id
    assert buffer.held()[0] == 1  # the younger set waits on
