"""What every frame source gives the pipeline: stamped frames behind one small interface.

A source decodes; it does not stamp sequence numbers itself but through its `FrameClock`, which
lives as long as the source object, so sequence numbers keep rising across reconnects.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from typing import Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
"""A BGR image, height × width × 3, uint8 (OpenCV's layout)."""


class SourceError(Exception):
    """The source failed (cannot open, stream broke, read timed out); reconnecting may help."""


@dataclass(frozen=True)
class EncodedPacket:
    """One packet of the camera's own compressed stream (e.g. H.264), as demuxed."""

    data: bytes
    pts: int | None
    dts: int | None
    time_base: Fraction
    keyframe: bool


@dataclass(frozen=True)
class StreamInfo:
    """What a source learnt about its stream when it opened."""

    width: int
    height: int
    fps: float | None
    codec: str | None = None  # "h264" when packets come with the frames
    extradata: bytes | None = None  # codec parameters (SPS/PPS for H.264), for remuxing clips
    time_base: Fraction | None = None


@dataclass(frozen=True, eq=False)
class Frame:
    """A decoded frame with its capture time (UTC and monotonic) and sequence number.

    `packets` are the compressed packets demuxed since the previous frame, in decode order;
    concatenated over all frames they are the whole stream (empty for raw sources).
    """

    image: Image
    seq: int
    captured_at: datetime
    monotonic: float
    pts_s: float | None = None  # stream time in seconds, when the stream has one
    packets: tuple[EncodedPacket, ...] = field(default=())

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return int(self.image.shape[0])


class FrameSource(Protocol):
    """A camera or a file. `read` returns None at the end of a file and raises `SourceError`."""

    description: str  # for logs; never contains credentials
    live: bool  # frames come at the camera's pace: the pipeline must never hold capture back

    def open(self) -> StreamInfo:
        """Open (or reopen after a failure, resuming a file where it broke)."""
        ...

    def read(self) -> Frame | None:
        """The next frame; None when a file has ended."""
        ...

    def close(self) -> None:
        """Release the camera or file; safe to call twice."""
        ...


class FrameClock:
    """Stamps frames: one sequence counter for the source's whole life, UTC and monotonic time."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def stamp(
        self,
        image: Image,
        pts_s: float | None = None,
        packets: tuple[EncodedPacket, ...] = (),
    ) -> Frame:
        """A frame captured now."""
        with self._lock:
            seq = next(self._counter)
        return Frame(
            image=image,
            seq=seq,
            captured_at=datetime.now(timezone.utc),
            monotonic=time.monotonic(),
            pts_s=pts_s,
            packets=packets,
        )


class Pacer:
    """Replays a file at real speed: waits until each frame's stream time has come."""

    # A jump in stream time beyond this (a gap, a seek) re-anchors instead of sleeping through it.
    MAX_WAIT_S = 2.0

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._anchor: tuple[float, float] | None = None  # (monotonic, pts_s)

    def reset(self) -> None:
        """Forget the anchor (after a reopen)."""
        self._anchor = None

    def wait(self, pts_s: float | None) -> None:
        """Sleep until the frame at `pts_s` is due."""
        if pts_s is None:
            return
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (now, pts_s)
            return
        due = self._anchor[0] + (pts_s - self._anchor[1]) / self.speed
        delay = due - now
        if delay > self.MAX_WAIT_S or pts_s < self._anchor[1]:
            self._anchor = (now, pts_s)
        elif delay > 0:
            time.sleep(delay)


def redact_url(source: str) -> str:
    """The source with any password removed, for logs and status."""
    parts = urllib.parse.urlsplit(source)
    if parts.password is None:
        return source
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
