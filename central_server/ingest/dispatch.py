"""What an ingest worker thread does with each message: hold, store or stage, ack, PUBACK.

Chunks of a multi-chunk set wait in the process-wide `ChunkBuffer` (PUBACK deferred, see
`assembly`); a set completed there is stored in one transaction, its ack published, then every
message of it PUBACKed. Sets released from the buffer are staged durably (`chunk_stage`) unless
staged chunks from another process already complete them. Anything else (single-chunk packets,
bad messages, late copies of settled sets) is handled at once as before. Status messages go to
`on_status` (fleet health), then are PUBACKed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from central_server.ingest.assembly import ChunkBuffer, HeldSet
from central_server.ingest.consumer import EvidenceConsumer
from central_server.ingest.schemas import InboundMessage, Outcome, OutcomeKind
from central_server.ingest.service import Ingestor
from protocol.chunks import Chunk, decode_chunk
from protocol.errors import ProtocolError
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0
# Packets recently stored or refused: late copies of their chunks skip the in-memory hold.
SETTLED_REMEMBERED = 4096

_R = TypeVar("_R")
# Fleet health's handler of a status message: (topic, payload, received at, retained).
StatusSink = Callable[[str, bytes, datetime, bool], None]


def is_transient(exc: BaseException) -> bool:
    """Whether an error is the database or the disk being unavailable (worth retrying)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError | OSError
    )


class Dispatcher:
    """The per-message logic the worker threads share (one per ingest process)."""

    def __init__(
        self,
        ingestor: Ingestor,
        buffer: ChunkBuffer,
        *,
        stop: threading.Event,
        abandon: threading.Event,
        on_stored: Callable[[uuid.UUID], None] | None = None,
        on_status: StatusSink | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.on_status = on_status
        self.buffer = buffer
        self.on_stored = on_stored
        self.consumer: EvidenceConsumer | None = None  # set once connected (started last)
        self._stop = stop
        self._abandon = abandon
        self._settled: OrderedDict[tuple[uuid.UUID, str], None] = OrderedDict()
        self._settled_lock = threading.Lock()

    def process(self, item: InboundMessage) -> None:
        """Hold a chunk of a multi-chunk set in memory; handle anything else at once."""
        if self.on_status is not None and item.topic.endswith("/" + TopicKind.status.value):
            self._handle_status(item, self.on_status)
            return
        parsed = self._as_held_chunk(item)
        if parsed is None:
            self._handle_now(item)
            return
        release = self.buffer.add(item, *parsed)
        if release.complete is not None:
            self._store_held(release.complete)
        for held in release.spilled:
            self.spill(held)

    def _as_held_chunk(self, item: InboundMessage) -> tuple[str, Chunk] | None:
        """(device, chunk) when the message may wait in memory for the rest of its set."""
        try:
            device_id, kind = self.ingestor.topics.parse(item.topic)
            chunk = decode_chunk(item.payload)
        except ProtocolError:
            return None  # refused by the normal path, which quarantines it
        # A set larger than the buffer's message bound could never complete in it.
        if kind is not TopicKind.evidence or not 1 < chunk.count <= self.buffer.max_messages:
            return None
        with self._settled_lock:
            settled = (chunk.packet_id, chunk.packet_sha256) in self._settled
        if settled:
            return None  # a late copy of a settled set: answered from the database
        return device_id, chunk

    def _handle_now(self, item: InboundMessage) -> None:
        """Handle one message (staging it if it is a chunk), ack, then PUBACK it."""
        ingestor = self.ingestor
        outcome = self._until_durable(
            lambda: ingestor.handle(item.topic, item.payload, item.received_at), item.mid
        )
        if outcome is not None:
            self._finish(outcome, [item])

    def _handle_status(self, item: InboundMessage, apply: StatusSink) -> None:
        """Apply a status message to fleet health, then PUBACK it."""

        def attempt() -> bool:
            apply(item.topic, item.payload, item.received_at, item.retained)
            return True

        if self._until_durable(attempt, item.mid) and self.consumer is not None:
            self.consumer.puback(item)

    def _store_held(self, held: HeldSet) -> None:
        """Store a set completed in memory in one transaction, ack, then PUBACK its chunks."""
        ingestor = self.ingestor
        received_at = held.messages[-1].received_at
        outcome = self._until_durable(
            lambda: ingestor.handle_set(held.topic, held.device_id, held.ordered(), received_at),
            held.messages[-1].mid,
        )
        if outcome is not None:
            self._finish(outcome, held.messages)

    def spill(self, held: HeldSet) -> None:
        """Stage a set that can't wait in memory, unless staged chunks already complete it."""
        ingestor = self.ingestor
        logger.info(
            "staging %d of %d chunks of %s (held %d messages)",
            len(held.chunks),
            held.count,
            held.packet_id,
            len(held.messages),
        )
        received_at = held.messages[-1].received_at
        outcome = self._until_durable(
            lambda: ingestor.complete_from_stage(
                held.topic, held.device_id, held.ordered(), received_at
            ),
            held.messages[-1].mid,
        )
        if outcome is not None:
            self._finish(outcome, held.messages)
            return
        if self._abandon.is_set():
            return
        for item in held.messages:
            self._handle_now(item)

    def _finish(self, outcome: Outcome, items: list[InboundMessage]) -> None:
        """Publish the outcome's ack, then PUBACK the messages it made durable."""
        if self.consumer is None:
            return
        if outcome.kind is not OutcomeKind.staged and outcome.packet_id is not None:
            self._remember_settled(outcome, items)
        if outcome.ack is not None and outcome.device_id is not None:
            self.consumer.publish_ack(outcome.device_id, outcome.ack)
        for item in items:
            self.consumer.puback(item)
        if outcome.kind is OutcomeKind.stored and outcome.packet_id and self.on_stored:
            try:
                self.on_stored(outcome.packet_id)
            except Exception:  # the hook's trouble never stops ingest
                logger.exception("on_stored failed for packet %s", outcome.packet_id)

    def _remember_settled(self, outcome: Outcome, items: list[InboundMessage]) -> None:
        try:
            chunk = decode_chunk(items[-1].payload)
        except ProtocolError:
            return
        with self._settled_lock:
            self._settled[(chunk.packet_id, chunk.packet_sha256)] = None
            while len(self._settled) > SETTLED_REMEMBERED:
                self._settled.popitem(last=False)

    def _until_durable(self, attempt: Callable[[], _R], mid: int) -> _R | None:
        """Run `attempt`, retrying with backoff while the database or disk is unavailable."""
        delay = RETRY_FIRST_S
        while True:
            try:
                return attempt()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                logger.warning("storage unavailable (%s); retrying in %.1f s", exc, delay)
            if self._stop.wait(delay):
                self._abandon.set()
                logger.warning("stopping while storage is unavailable; message %d left", mid)
                return None
            delay = min(delay * 2, RETRY_MAX_S)
