"""The pipeline's plumbing: bounded queues and the thread that runs one stage.

Only the capture → detect queue ever drops, and only for a live source: when it is full the oldest
frame goes (every drop counted), so the camera is never held back and the pipeline works on the
newest picture. Every later queue blocks its producer, so the one drop point is the whole story.
A file replayed as fast as possible is not live: capture then waits for the pipeline, dropping
nothing.

A stage that hangs cannot be killed (Python threads cannot be), so the watchdog `restart()`s it: a
new generation of the worker, with its own resources, in a new thread; the stuck thread's result is
discarded whenever its call returns, and it closes its own worker then.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from edge_agent.agent.stats import StageStats
from edge_agent.capture.reconnect import EndOfStream

logger = logging.getLogger(__name__)

_POLL_S = 0.2
_LOUD_ERRORS = 5  # errors logged with a traceback before only every 100th is


class _End:
    def __repr__(self) -> str:
        return "END"


END: Any = _End()
"""Put after the last item: the stage that receives it forwards it and finishes."""


class StageQueue:
    """A bounded queue between two stages."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)
        self.dropped = 0

    def offer(self, item: Any) -> None:
        """Put without ever waiting: when full, drop the oldest item (counted)."""
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def put(self, item: Any, give_up: Callable[[], bool]) -> bool:
        """Put, waiting for room while `give_up()` is false; False if it gave up."""
        while True:
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                if give_up():
                    return False

    def get(self, timeout: float = _POLL_S) -> Any:
        """The next item; raises `queue.Empty` after `timeout`."""
        return self._queue.get(timeout=timeout)

    def depth(self) -> int:
        """Items waiting."""
        return self._queue.qsize()


class Worker(Protocol):
    """One stage's work: items in, items out. A capture worker is called with None."""

    def handle(self, item: Any) -> Sequence[Any]:
        """Process one item (a capture worker produces one); may raise `EndOfStream`."""
        ...

    def close(self) -> None:
        """Release what the worker holds."""
        ...


class StageThread:
    """Runs a worker in a named thread between two queues; restartable by the watchdog."""

    def __init__(
        self,
        name: str,
        make_worker: Callable[[], Worker],
        stop: threading.Event,
        *,
        inbox: StageQueue | None = None,
        outbox: StageQueue | None = None,
        drop_when_full: bool = False,
        upstream: StageThread | None = None,
        stall_s: float = 30.0,
    ) -> None:
        self.name = name
        self.stats = StageStats()
        self.stall_s = stall_s
        self.done = threading.Event()  # finished normally (END seen or stopped)
        self.worker: Worker | None = None
        self.restarts = 0
        self._make_worker = make_worker
        self._stop = stop
        self._inbox, self._outbox = inbox, outbox
        self._drop = drop_when_full
        self._upstream = upstream
        self.downstream: StageThread | None = None
        if upstream is not None:
            upstream.downstream = self
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._busy_since: tuple[int, float] | None = None  # (generation, monotonic)

    def start(self) -> None:
        """Create the worker and start the thread."""
        worker = self._make_worker()
        self.worker = worker
        self._thread = threading.Thread(
            target=self._run, args=(self._generation, worker), name=f"tw-{self.name}", daemon=True
        )
        self._thread.start()

    def restart(self) -> None:
        """Abandon the current thread (stuck or dead) and start a fresh worker."""
        self._generation += 1
        self.restarts += 1
        self.start()

    def alive(self) -> bool:
        """Whether the current generation's thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def busy_for(self, now: float | None = None) -> float:
        """Seconds the current call has run (0 when waiting for input)."""
        busy = self._busy_since
        if busy is None or busy[0] != self._generation:
            return 0.0
        return (time.monotonic() if now is None else now) - busy[1]

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive()

    def _finished_upstream(self) -> bool:
        if not self._stop.is_set():
            return False
        return self._upstream is None or not self._upstream.alive()

    def _downstream_gone(self) -> bool:
        # Wait for room while the next stage can still take it; give up once it has ended.
        if not self._stop.is_set():
            return False
        return self.downstream is None or not self.downstream.alive()

    def _run(self, generation: int, worker: Worker) -> None:
        ended = False
        try:
            ended = self._loop(generation, worker)
        except Exception:  # a bug: the thread dies, the watchdog restarts the stage
            logger.exception("stage %s crashed", self.name)
        finally:
            try:
                worker.close()
            except Exception:
                logger.exception("stage %s: closing its worker failed", self.name)
        if generation != self._generation:
            return
        if ended or self._stop.is_set():
            if self._outbox is not None:
                self._outbox.put(END, give_up=self._downstream_gone)
            self.done.set()
            logger.info("stage %s ended", self.name)

    def _loop(self, generation: int, worker: Worker) -> bool:
        """Handle items until END, the end of a file, or stop; True when the stream ended."""
        while True:
            if self._inbox is None:
                if self._stop.is_set():
                    return False
                item = None
            else:
                try:
                    item = self._inbox.get()
                except queue.Empty:
                    if self._finished_upstream():
                        return False
                    continue
                if item is END:
                    return True
            try:
                outputs = self._handle(generation, worker, item)
            except EndOfStream:
                return True
            if generation != self._generation:
                return False  # abandoned by the watchdog meanwhile: discard, end quietly
            for output in outputs:
                self._emit(output)

    def _handle(self, generation: int, worker: Worker, item: Any) -> Sequence[Any]:
        started, cpu = time.perf_counter(), time.thread_time()
        self._busy_since = (generation, time.monotonic())
        try:
            outputs = worker.handle(item)
        except EndOfStream:
            raise
        except Exception:  # a bad frame is logged and counted, never fatal
            self.stats.error()
            errors = self.stats.snapshot().errors
            if errors <= _LOUD_ERRORS:
                logger.exception("stage %s: item failed (error #%d)", self.name, errors)
            elif errors % 100 == 0:
                logger.warning("stage %s: %d items failed so far", self.name, errors)
            return ()
        finally:
            if self._busy_since is not None and self._busy_since[0] == generation:
                self._busy_since = None
        if item is not None or outputs:
            self.stats.record(time.perf_counter() - started, time.thread_time() - cpu)
        return outputs

    def _emit(self, item: Any) -> None:
        if self._outbox is None:
            return
        if self._drop:
            self._outbox.offer(item)
        else:
            self._outbox.put(item, give_up=self._downstream_gone)
