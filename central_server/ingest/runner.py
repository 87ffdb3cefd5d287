"""`trafficwatch server ingest`: the evidence ingest as its own process.

Start order: database (schema must be at head) → server key and evidence store → worker threads →
housekeeping thread → MQTT consumer; stop runs in reverse around one stop event. Stopping drains
what the workers already hold; anything not yet durable (including chunks waiting in memory for
the rest of their set, see `assembly`) stays un-PUBACKed, so the broker delivers it again to the
next session: nothing is lost.
"""

from __future__ import annotations

import argparse
import logging
import queue
import re
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from central_server import db
from central_server.devices.health import StatusRecorder
from central_server.ingest.assembly import ChunkBuffer
from central_server.ingest.consumer import EvidenceConsumer
from central_server.ingest.dispatch import RETRY_FIRST_S, RETRY_MAX_S, Dispatcher, is_transient
from central_server.ingest.schemas import InboundMessage
from central_server.ingest.service import Ingestor
from central_server.plates_worker import PlateWorkerPool
from central_server.settings import Settings, get_settings

logger = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 30.0
HOUSEKEEPING_MAX_S = 60.0
QUEUE_PER_WORKER = 32  # above Mosquitto's default 20 in-flight messages per client
WORKER_POLL_S = 0.2  # how often an idle worker looks for held sets past their hold time

_T = TypeVar("_T")

SCHEMA_MESSAGE = (
    "Lược đồ CSDL chưa cập nhật; hãy chạy `trafficwatch server migrate`. "
    "The database schema is not at the current migration: run `trafficwatch server migrate`."
)


class SchemaNotCurrentError(RuntimeError):
    """The database is not migrated to head; the ingest refuses to run on it."""


def default_client_id() -> str:
    """A client id fixed for this host, so restarts resume the broker session."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40]
    return f"tw-ingest-{host}"


class IngestService:
    """The running ingest: an MQTT consumer, worker threads and periodic housekeeping."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        client_id: str | None = None,
        workers: int | None = None,
        on_stored: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        self.settings = settings
        # Called with each newly stored packet's id after its ack (the plate workers' queue).
        self.on_stored = on_stored
        self.client_id = client_id or default_client_id()
        self.worker_count = workers or settings.ingest_workers
        self.fatal: str | None = None
        self.ingestor: Ingestor | None = None
        self.consumer: EvidenceConsumer | None = None
        self._engine = engine
        self._owns_engine = engine is None
        self._stop = threading.Event()
        self._abandon = threading.Event()
        self._inbox: queue.Queue[InboundMessage] = queue.Queue(
            maxsize=QUEUE_PER_WORKER * self.worker_count
        )
        self._threads: list[threading.Thread] = []
        # Chunk sets assembled in memory, their PUBACKs deferred (see `assembly`).
        self.buffer = ChunkBuffer(
            hold_s=settings.ingest_chunk_hold_s,
            max_bytes=settings.ingest_chunk_hold_max_bytes,
            max_messages=settings.ingest_chunk_hold_max_messages,
        )
        self.dispatcher: Dispatcher | None = None

    def start(self) -> None:
        """Start everything in order; raises `SchemaNotCurrentError` on an old schema."""
        if self._engine is None:
            # No pre-ping: a dead pooled connection fails one attempt, which the workers retry
            # (`is_transient`), instead of every checkout paying a round trip.
            self._engine = db.make_engine(self.settings.database_url, pool_pre_ping=False)
        if not db.check_schema_current(self._engine):
            self._dispose_engine()
            raise SchemaNotCurrentError(SCHEMA_MESSAGE)
        shown = make_url(self.settings.database_url).render_as_string(hide_password=True)
        logger.info("ingest database %s, evidence store %s", shown, self.settings.evidence_dir)
        self.ingestor = Ingestor.from_settings(self.settings, self._engine)
        self.dispatcher = Dispatcher(
            self.ingestor,
            self.buffer,
            stop=self._stop,
            abandon=self._abandon,
            on_stored=self.on_stored,
            on_status=StatusRecorder.from_settings(self.settings, self._engine).handle,
        )
        for index in range(self.worker_count):
            self._spawn(f"ingest-worker-{index}", self._work)
        self._spawn("ingest-housekeeping", self._housekeep)
        self.consumer = EvidenceConsumer(
            self.settings, self._inbox, client_id=self.client_id, on_fatal=self._fail
        )
        self.dispatcher.consumer = self.consumer
        self.consumer.start()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the subscription is in place (tests publish only after this)."""
        return self.consumer is not None and self.consumer.subscribed.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (or a fatal error); True if it was."""
        return self._stop.wait(timeout)

    def request_stop(self) -> None:
        """Ask the service to stop (safe from signal handlers and other threads)."""
        self._stop.set()

    def _fail(self, message: str) -> None:
        # Called on paho's thread: only record and signal; the main thread stops everything.
        logger.error("%s; stopping the ingest", message)
        self.fatal = message
        self._stop.set()

    def stop(self) -> None:
        """Stop in reverse order: intake, housekeeping and workers (draining), MQTT, database."""
        if self.consumer is not None:
            self.consumer.pause()
        self._stop.set()
        for thread in reversed(self._threads):
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.error("thread %s did not stop within %.0f s", thread.name, JOIN_TIMEOUT_S)
        self._threads.clear()
        left = self._inbox.qsize() + self.buffer.held()[1]
        if left:
            # Queued or held chunks: never PUBACKed, so the broker keeps them in the session.
            logger.info("%d messages left un-PUBACKed for redelivery", left)
        if self.consumer is not None:
            self.consumer.stop()
        self._dispose_engine()
        logger.info("ingest stopped")

    def _dispose_engine(self) -> None:
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # ---------------------------------------------------------------- threads

    def _work(self) -> None:
        dispatcher = self.dispatcher
        assert dispatcher is not None
        while True:
            try:
                item: InboundMessage | None = self._inbox.get(timeout=WORKER_POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    return
                item = None
            if self._abandon.is_set():
                continue  # stopping with the database down: leave the rest for redelivery
            if item is not None:
                self._guarded(dispatcher.process, item, f"message {item.mid} on {item.topic}")
            for held in self.buffer.take_due():
                self._guarded(dispatcher.spill, held, f"held chunks of {held.packet_id}")

    def _guarded(self, step: Callable[[_T], None], arg: _T, what: str) -> None:
        try:
            step(arg)
        except Exception:
            # A bug, not the message's fault: keep it un-PUBACKed (redelivered on the next
            # session) rather than lose evidence, and keep serving the others.
            logger.exception("failed to handle %s", what)

    def _housekeep(self) -> None:
        limits = (self.settings.chunk_stage_ttl_s, self.settings.sequence_gap_report_after_s)
        interval = max(1.0, min(HOUSEKEEPING_MAX_S, min(limits) / 4))
        while not self._stop.wait(interval):
            self.housekeep_once()

    def housekeep_once(self) -> None:
        """Purge expired chunk sets and report sequence gaps; never raises."""
        if self.ingestor is None:
            return
        for job in (self.ingestor.purge_expired_chunks, self.ingestor.report_gaps):
            try:
                job()
            except Exception as exc:
                if is_transient(exc):
                    logger.warning("housekeeping skipped, storage unavailable: %s", exc)
                else:
                    logger.exception("housekeeping job %s failed", job.__name__)


def main(argv: Sequence[str]) -> int:
    """Run the ingest until SIGINT/SIGTERM (`trafficwatch server ingest`)."""
    parser = argparse.ArgumentParser(prog="trafficwatch server ingest", description=main.__doc__)
    parser.add_argument(
        "--client-id",
        default=None,
        help="MQTT client id, fixed per ingest process (default tw-ingest-<hostname>)",
    )
    parser.add_argument("--workers", type=int, default=None, help="worker threads")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )
    settings = get_settings()
    plates = PlateWorkerPool.from_settings(settings)
    service = IngestService(
        settings, client_id=args.client_id, workers=args.workers, on_stored=plates.submit
    )

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        service.request_stop()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    plates.start()
    try:
        return _serve(service)
    finally:
        plates.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(service: IngestService) -> int:
    """Start, wait for a stop request, stop; the exit code says how it ended."""
    try:
        if not _start_when_reachable(service):
            return 0
    except SchemaNotCurrentError:
        sys.stderr.write(SCHEMA_MESSAGE + "\n")
        return 1
    try:
        service.wait()
    finally:
        service.stop()
    if service.fatal:
        sys.stderr.write(f"Tiến trình nhận dừng / ingest stopped: {service.fatal}\n")
        return 1
    return 0


def _start_when_reachable(service: IngestService) -> bool:
    """Start, waiting with backoff while the database is unreachable; False if told to stop."""
    delay = RETRY_FIRST_S
    while True:
        try:
            service.start()
            return True
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("database unreachable at start (%s); retrying in %.1f s", exc, delay)
        if service.wait(delay):
            return False
        delay = min(delay * 2, RETRY_MAX_S)
