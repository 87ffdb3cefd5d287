"""OpenCV source: USB cameras (V4L2), and files or RTSP where PyAV is not installed.

OpenCV gives decoded frames only; a box that must keep the camera's H.264 packets for its clips
reads network streams through `AvSource`. Timeouts are set on open and on every read (FFmpeg
backend) so a dead RTSP camera surfaces as a `SourceError` instead of a thread stuck forever.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2

from edge_agent.capture.base import Frame, FrameClock, Pacer, SourceError, StreamInfo, redact_url

logger = logging.getLogger(__name__)


def _device(source: str) -> int | str:
    """`0` or `/dev/video0` for USB; anything else is a path or URL."""
    return int(source) if source.isdigit() else source


class OpenCvSource:
    """Frames from `cv2.VideoCapture`: a USB index or device, a file, or a stream URL."""

    def __init__(
        self,
        source: str,
        *,
        live: bool,
        realtime: bool = False,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
    ) -> None:
        self.source = _device(source)
        self.description = redact_url(source)
        self.is_file = (
            isinstance(self.source, str)
            and "://" not in self.source
            and not (self.source.startswith("/dev/video"))
        )
        self.live = live or realtime
        self._pacer = Pacer() if realtime and self.is_file else None
        self._timeouts_ms = (int(open_timeout_s * 1000), int(read_timeout_s * 1000))
        self._wanted = (width, height, fps)
        self._clock = FrameClock()
        self._capture: Any = None
        self._next_index = 0  # frames of a file delivered so far, for resuming

    def open(self) -> StreamInfo:
        """Open the camera or file; a file reopened after a failure resumes where it broke."""
        self.close()
        capture = self._make_capture()
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.description}: cannot open")
        if self.is_file and self._next_index:
            capture.set(cv2.CAP_PROP_POS_FRAMES, self._next_index)
        self._capture = capture
        if self._pacer is not None:
            self._pacer.reset()
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        return StreamInfo(
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps,
        )

    def _make_capture(self) -> Any:
        if isinstance(self.source, int) or not self.is_file and self.source.startswith("/dev/"):
            capture = cv2.VideoCapture(self.source, cv2.CAP_V4L2)
            width, height, fps = self._wanted
            if width and height:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            if fps:
                capture.set(cv2.CAP_PROP_FPS, fps)
            return capture
        open_ms, read_ms = self._timeouts_ms
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_ms]
        return cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)

    def read(self) -> Frame | None:
        """The next frame; None at the end of a file; `SourceError` when the camera fails."""
        if self._capture is None:
            raise SourceError(f"{self.description}: not open")
        ok, image = self._capture.read()
        if not ok or image is None:
            if self.is_file and self._at_end():
                return None
            raise SourceError(f"{self.description}: no frame (stream broken or timed out)")
        self._next_index += 1
        pts_ms = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
        pts_s = pts_ms / 1000 if self.is_file else None
        if self._pacer is not None:
            self._pacer.wait(pts_s)
        return self._clock.stamp(image, pts_s)

    def _at_end(self) -> bool:
        total = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        # Containers often overstate their frame count by one or two: allow for it.
        return total <= 0 or self._next_index >= total - 2

    def close(self) -> None:
        """Release the capture; safe to call twice."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
