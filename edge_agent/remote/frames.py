"""The newest camera frame, kept for a snapshot command (calibration from the centre)."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from edge_agent.capture.base import Frame
from protocol.commands import MAX_REPLY_DATA, SnapshotArgs, SnapshotImage


class SnapshotError(Exception):
    """No usable frame to send (the message says why, Vietnamese first)."""


class LatestFrame:
    """A frame tap: remembers the last frame capture delivered (one reference, no copy)."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._lock = threading.Lock()

    def __call__(self, frame: Frame) -> None:
        """Record `frame` (called on the capture thread: cheap)."""
        with self._lock:
            self._frame = frame

    def get(self) -> Frame | None:
        """The newest frame, or None before the first."""
        with self._lock:
            return self._frame


def snapshot(frame: Frame | None, args: SnapshotArgs, max_age_s: float) -> SnapshotImage:
    """The frame as a JPEG, scaled down to `args.max_width`; refuses a missing or stale frame."""
    if frame is None:
        raise SnapshotError("chưa có khung hình nào / no frame from the camera yet")
    age = time.monotonic() - frame.monotonic
    if age > max_age_s:
        raise SnapshotError(
            f"khung hình mới nhất đã cũ {age:.0f} giây / the newest frame is {age:.0f} s old"
        )
    image: np.ndarray = frame.image
    if args.max_width is not None and frame.width > args.max_width:
        height = max(round(frame.height * args.max_width / frame.width), 1)
        image = cv2.resize(image, (args.max_width, height), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, args.jpeg_quality])
    if not ok:
        raise SnapshotError("không mã hóa được JPEG / JPEG encoding failed")
    data = encoded.tobytes()
    if len(data) > MAX_REPLY_DATA:
        raise SnapshotError(
            f"ảnh quá lớn ({len(data)} byte) / image too large: lower max_width or jpeg_quality"
        )
    height, width = image.shape[:2]
    return SnapshotImage(width=width, height=height, captured_at=frame.captured_at, data=data)
