"""A small ring of recent frames for the stills, fed with the frames the rules judge.

The ring sits after the rules, not at capture: a violation names the frame at the line
(`ViolationEvent.frame_seq`) a few frames after the rules saw it (the vehicle must get past the
line), so the ring has to reach back only over that decision delay, whatever the queues between
capture and the rules hold. Frames are kept by reference (no copy) in two tiers:

- full resolution: the frames of the last `full_s` seconds on which the detector saw something
  (only those can be a violation's key frame), at most `max_full` of them (~6 MB each at 1080p;
  a red-light decision comes ~0.5 s after the crossing on the sample footage);
- reduced (≤ `small_width` wide): one frame every `small_step_s`, for `small_s` seconds, for the
  `scene_before` still.

At 1080p that is at most ~100 MB + ~30 MB. `return_frames_to_the_os` keeps it that way.

`scene_after` lies in the future when a violation is reported, so the builder leaves a request
(`request_after`) that the ring fills with the first frame at or after that time as it arrives;
a request pins one reduced frame, and the builder's bounded queue bounds the requests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.agent.messages import TrackedFrame
from edge_agent.agent.stages import RuleConsumer

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


class FrameLike(Protocol):
    """What the ring reads of a frame (`edge_agent.capture.base.Frame` fits)."""

    @property
    def image(self) -> Image: ...
    @property
    def seq(self) -> int: ...
    @property
    def captured_at(self) -> datetime: ...


@dataclass(frozen=True, eq=False)
class KeptFrame:
    """A frame the ring holds: its sequence number, capture time and image (BGR)."""

    seq: int
    captured_at: datetime
    image: Image

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])


@dataclass(eq=False)
class FrameRequest:
    """The first frame captured at or after `at`, reduced; filled by the ring as it arrives."""

    at: datetime
    frame: KeptFrame | None = None
    filled: threading.Event = field(default_factory=threading.Event)


def downscale(image: Image, max_width: int) -> Image:
    """`image` at most `max_width` wide (aspect kept); the same array when already narrow."""
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, round(height * max_width / width)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


class FrameRing:
    """Recent frames for the stills; thread-safe (the rules add, the builder reads)."""

    def __init__(
        self,
        *,
        full_s: float = 1.0,
        max_full: int = 16,
        small_width: int = 1280,
        small_step_s: float = 0.25,
        small_s: float = 2.5,
    ) -> None:
        self.full_span = timedelta(seconds=full_s)
        self.small_span = timedelta(seconds=small_s)
        self.small_step = timedelta(seconds=small_step_s)
        self.small_width = small_width
        self._full: deque[KeptFrame] = deque(maxlen=max_full)
        self._small: deque[KeptFrame] = deque()
        self._requests: list[FrameRequest] = []
        self._latest: datetime | None = None
        self.frame_size: tuple[int, int] | None = None  # width, height of the newest frame
        self._lock = threading.Lock()

    def add(self, frame: FrameLike, *, full: bool) -> None:
        """Keep a judged frame; `full` when it may be a key frame (the detector saw something)."""
        at = frame.captured_at
        kept = KeptFrame(frame.seq, at, frame.image)
        with self._lock:
            self._latest = at
            self.frame_size = kept.width, kept.height
            if full:
                self._full.append(kept)
            while self._full and self._full[0].captured_at < at - self.full_span:
                self._full.popleft()
            due = not self._small or at >= self._small[-1].captured_at + self.small_step
            waiting = [r for r in self._requests if r.at <= at]
        small = self._reduced(kept) if due or waiting else None
        with self._lock:
            if small is not None and due:
                self._small.append(small)
            while self._small and self._small[0].captured_at < at - self.small_span:
                self._small.popleft()
            for request in waiting:
                if request in self._requests:
                    self._requests.remove(request)
                    request.frame = small
                    request.filled.set()

    def _reduced(self, frame: KeptFrame) -> KeptFrame:
        image = downscale(frame.image, self.small_width)
        return frame if image is frame.image else KeptFrame(frame.seq, frame.captured_at, image)

    def full_frame(self, seq: int) -> KeptFrame | None:
        """The full-resolution frame `seq`, if still held."""
        with self._lock:
            return next((f for f in self._full if f.seq == seq), None)

    def full_frames(self) -> list[KeptFrame]:
        """Every full-resolution frame held, oldest first."""
        with self._lock:
            return list(self._full)

    def small_near(
        self, at: datetime, *, after: datetime | None = None, before: datetime | None = None
    ) -> KeptFrame | None:
        """The reduced frame nearest `at`, optionally strictly after / before a time."""
        with self._lock:
            frames = [
                f
                for f in self._small
                if (after is None or f.captured_at > after)
                and (before is None or f.captured_at < before)
            ]
        if not frames:
            return None
        return min(frames, key=lambda f: abs((f.captured_at - at).total_seconds()))

    def request_after(self, at: datetime) -> FrameRequest:
        """A request the ring fills with the first frame captured at or after `at`."""
        request = FrameRequest(at)
        with self._lock:
            # Already past (a late decision): the first reduced frame since, within one step.
            request.frame = next((f for f in self._small if f.captured_at >= at), None)
            if request.frame is None:
                self._requests.append(request)
            else:
                request.filled.set()
        return request

    def cancel(self, request: FrameRequest) -> None:
        """Forget a request that is no longer wanted."""
        with self._lock:
            if request in self._requests:
                self._requests.remove(request)

    @property
    def latest(self) -> datetime | None:
        """Capture time of the newest frame added."""
        with self._lock:
            return self._latest

    def sizes(self) -> tuple[int, int, int]:
        """Frames held: full resolution, reduced, open requests (for tests and the benchmark)."""
        with self._lock:
            return len(self._full), len(self._small), len(self._requests)


class RecordingRules:
    """A rule consumer that keeps each frame in the ring for the stills, then judges it."""

    def __init__(self, inner: RuleConsumer, ring: FrameRing) -> None:
        self.inner = inner
        self.ring = ring
        self.name = inner.name

    def consume(self, tracked: TrackedFrame) -> None:
        """Keep the frame (full resolution when it has detections), then hand it on."""
        seen = tracked.detected and any(o.detected for o in tracked.objects)
        self.ring.add(tracked.frame, full=seen)
        self.inner.consume(tracked)

    def close(self) -> None:
        """Close the wrapped consumer."""
        self.inner.close()


def return_frames_to_the_os(threshold: int = 1 << 20) -> bool:
    """Make glibc map every allocation above `threshold` on its own, so a freed frame goes back
    to the system at once. By default glibc raises its mmap threshold to the size of the first
    big block freed (up to 32 MB): later frames then come from the heap, which they fragment, and
    the agent at 1080p holds 60-100 MB more than its frames. Process-wide; Linux only."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        done = False
    if not done:
        logger.debug("mallopt(M_MMAP_THRESHOLD) unavailable: frames may fragment the heap")
    return done
