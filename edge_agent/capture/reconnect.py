"""Keeps a source open: reopens a dropped stream with capped, jittered backoff.

Each `read()` call is bounded in time (one read, or one open attempt, or a short wait), so the
capture thread stays responsive to the stop event and its watchdog sees it alive while the camera
is away. The connection state feeds the heartbeat (`CameraProblem.disconnected`).
"""

from __future__ import annotations

import logging
import random
import threading
import time

from edge_agent.capture.base import Frame, FrameSource, SourceError, StreamInfo

logger = logging.getLogger(__name__)


class EndOfStream(Exception):
    """A file source has delivered its last frame."""


class ReconnectingSource:
    """A frame source that survives drops: `read()` returns a frame, or None while reconnecting."""

    def __init__(
        self,
        source: FrameSource,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        wait_step_s: float = 0.25,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < backoff_min_s <= backoff_max_s:
            raise ValueError("need 0 < backoff_min_s <= backoff_max_s")
        self.source = source
        self.description = source.description
        self.live = source.live
        self.info: StreamInfo | None = None
        self.connected = False
        self.reconnects = 0  # successful reopenings after a failure
        self.failures = 0
        self.last_error: str | None = None
        self.disconnected_since: float | None = time.monotonic()  # monotonic; None when up
        self._backoff = (backoff_min_s, backoff_max_s)
        self._delay = backoff_min_s
        self._next_attempt = 0.0
        self._wait_step = wait_step_s
        self._rng = rng or random.Random()
        self._closed = threading.Event()
        self._ever_opened = False

    def read(self) -> Frame | None:
        """A frame; None when none is available now; `EndOfStream` when a file has ended."""
        if self._closed.is_set():
            raise EndOfStream(self.description)
        if not self.connected and not self._try_open():
            return None
        try:
            frame = self.source.read()
        except SourceError as exc:
            self._lost(str(exc))
            return None
        if frame is None:
            logger.info("%s: end of file", self.description)
            raise EndOfStream(self.description)
        return frame

    def _try_open(self) -> bool:
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            self._closed.wait(min(wait, self._wait_step))
            return False
        try:
            self.info = self.source.open()
        except SourceError as exc:
            self._lost(str(exc))
            return False
        if self._ever_opened:
            self.reconnects += 1
            logger.warning("%s: reconnected (reconnect #%d)", self.description, self.reconnects)
        else:
            info = self.info
            logger.info(
                "%s: opened, %dx%d at %s fps, codec %s",
                self.description,
                info.width,
                info.height,
                info.fps,
                info.codec or "(decoded frames only)",
            )
        self._ever_opened = True
        self.connected = True
        self.disconnected_since = None
        self._delay = self._backoff[0]
        return True

    def _lost(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self.connected:
            logger.warning("%s: lost: %s; reconnecting", self.description, error)
            self.disconnected_since = time.monotonic()
        else:
            logger.warning("%s: %s; retrying in up to %.1f s", self.description, error, self._delay)
        self.connected = False
        self.source.close()
        # Equal jitter: boxes on one network do not all hammer a recovering NVR at once.
        delay = self._rng.uniform(self._delay / 2, self._delay)
        self._next_attempt = time.monotonic() + delay
        self._delay = min(self._delay * 2, self._backoff[1])

    def close(self) -> None:
        """Close the source for good."""
        self._closed.set()
        self.connected = False
        self.source.close()
