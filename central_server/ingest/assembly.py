"""In-memory assembly of chunk sets, with the chunks' PUBACKs deferred until the set is durable.

Why this is as safe as durable staging: a chunk's PUBACK is what lets the broker forget it. A
chunk held here is not PUBACKed, so if the process dies the broker still has it in the persistent
session and delivers it again. A set complete in memory is stored in one transaction, acked, and
only then are all its messages PUBACKed; nothing touches `chunk_stage`.

A set is released to durable staging (`chunk_stage`, then PUBACKed chunk by chunk) when it stays
incomplete longer than `hold_s`, when holding it would exceed `max_bytes` or `max_messages`, or
when something about it needs the staging path's checks (a conflicting duplicate chunk). That is
the case of a set split across processes on a `$share` group: each process holds its part, gives
up after `hold_s`, and whichever stages last (or finds the rest staged) assembles it.

The broker's in-flight window: Mosquitto sends a QoS 1 client at most `max_inflight_messages`
(default 20) un-PUBACKed messages and queues the rest. Held chunks occupy that window, so if it
filled with incomplete sets the missing chunks could never arrive. Two things prevent a deadlock:
`max_messages` (default 12) keeps part of the window free for the messages still on their way
through the queue and the workers, and `hold_s` releases whatever is held, so delivery always
resumes within `hold_s` even when the broker's window is smaller than assumed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from central_server.ingest.schemas import InboundMessage
from protocol.chunks import Chunk

DEFAULT_HOLD_S = 2.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Below Mosquitto's default in-flight window of 20 (see the module docstring).
DEFAULT_MAX_MESSAGES = 12

SetKey = tuple[str, uuid.UUID, str]  # topic, packet id, whole-packet sha256


@dataclass
class HeldSet:
    """The chunks of one packet version held in memory, with every message that carried one."""

    topic: str
    device_id: str
    packet_id: uuid.UUID
    packet_sha256: str
    count: int
    total_size: int
    since: float  # monotonic time of the first chunk
    chunks: dict[int, Chunk] = field(default_factory=dict)
    messages: list[InboundMessage] = field(default_factory=list)
    size: int = 0

    @property
    def key(self) -> SetKey:
        """The set's identity in the buffer."""
        return (self.topic, self.packet_id, self.packet_sha256)

    @property
    def complete(self) -> bool:
        """Whether every index of the set is held."""
        return len(self.chunks) == self.count

    def ordered(self) -> list[Chunk]:
        """The held chunks in index order."""
        return [self.chunks[i] for i in sorted(self.chunks)]

    def fits(self, chunk: Chunk) -> bool:
        """Whether `chunk` agrees with the set (else the staging path judges the conflict)."""
        if chunk.count != self.count or chunk.total_size != self.total_size:
            return False
        held = self.chunks.get(chunk.index)
        return held is None or held.data == chunk.data


@dataclass
class Release:
    """What a worker must do after adding a chunk: store a complete set, stage spilled ones."""

    complete: HeldSet | None = None
    spilled: list[HeldSet] = field(default_factory=list)


class ChunkBuffer:
    """A process-wide, lock-protected buffer of incomplete chunk sets, bounded in bytes and
    messages; shared by the worker threads (a set's chunks reach different threads)."""

    def __init__(
        self,
        *,
        hold_s: float = DEFAULT_HOLD_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hold_s = hold_s
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[SetKey, HeldSet] = {}  # insertion order: oldest first
        self._bytes = 0
        self._messages = 0

    def add(self, message: InboundMessage, device_id: str, chunk: Chunk) -> Release:
        """Hold one chunk; returns the set it completed and any sets to stage durably."""
        release = Release()
        with self._lock:
            key = (message.topic, chunk.packet_id, chunk.packet_sha256)
            held = self._sets.get(key)
            if held is not None and not held.fits(chunk):
                # A conflicting copy: the staging path records the conflict as today.
                self._remove(held)
                held.messages.append(message)
                release.spilled.append(held)
                return release
            if held is None:
                held = HeldSet(
                    message.topic,
                    device_id,
                    chunk.packet_id,
                    chunk.packet_sha256,
                    chunk.count,
                    chunk.total_size,
                    self._clock(),
                )
                self._sets[key] = held
            self._hold(held, message, chunk)
            if held.complete:
                self._remove(held)
                release.complete = held
            release.spilled.extend(self._over_bounds())
        return release

    def take_due(self) -> list[HeldSet]:
        """Remove and return the sets held longer than `hold_s` (to be staged durably)."""
        cutoff = self._clock() - self.hold_s
        with self._lock:
            due = [held for held in self._sets.values() if held.since <= cutoff]
            for held in due:
                self._remove(held)
        return due

    def held(self) -> tuple[int, int, int]:
        """(sets, messages, bytes) held now."""
        with self._lock:
            return len(self._sets), self._messages, self._bytes

    def _hold(self, held: HeldSet, message: InboundMessage, chunk: Chunk) -> None:
        if chunk.index not in held.chunks:
            held.chunks[chunk.index] = chunk
            held.size += len(chunk.data)
            self._bytes += len(chunk.data)
        held.messages.append(message)  # a redelivered copy is PUBACKed with the set
        self._messages += 1

    def _remove(self, held: HeldSet) -> None:
        del self._sets[held.key]
        self._bytes -= held.size
        self._messages -= len(held.messages)

    def _over_bounds(self) -> list[HeldSet]:
        spilled: list[HeldSet] = []
        while self._sets and (self._bytes > self.max_bytes or self._messages > self.max_messages):
            oldest = next(iter(self._sets.values()))
            self._remove(oldest)
            spilled.append(oldest)
        return spilled
