"""Read a few frames from the box's camera with a deadline: a snapshot for calibration, the frame
rate for `check`.

The source is the agent's own (`edge_agent.capture.create_source`), so what works here works in
the agent. Opening an RTSP camera that does not answer can block for a long time inside the
decoder: reading happens on a daemon thread, and the caller stops waiting at the deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from edge_agent.capture import Image, SourceError, create_source
from edge_agent.capture.base import redact_url
from protocol.config import CameraSection
from provisioning.errors import UNAVAILABLE, ProvisionError

logger = logging.getLogger(__name__)


@dataclass
class Capture:
    """What a short read of the camera gave."""

    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    width: int = 0
    height: int = 0
    image: Image | None = field(default=None, repr=False)
    error: str | None = None

    @property
    def fps(self) -> float:
        """Frames per second between the first and the last frame read."""
        if self.frames < 2 or self.first_at is None or self.last_at is None:
            return 0.0
        span = self.last_at - self.first_at
        return (self.frames - 1) / span if span > 0 else float("inf")


def _read(camera: CameraSection, capture: Capture, seconds: float, max_frames: int) -> None:
    source = create_source(camera)
    try:
        source.open()
        while capture.frames < max_frames:
            frame = source.read()
            if frame is None:
                break  # a file ended
            now = time.monotonic()
            if capture.first_at is None:
                capture.first_at = now
            capture.last_at = now
            capture.frames += 1
            capture.image, capture.width, capture.height = frame.image, frame.width, frame.height
            if now - capture.first_at >= seconds:
                break
    except (SourceError, OSError, ValueError) as exc:
        capture.error = str(exc)
    except Exception as exc:  # a decoder's own error type: reported, never a traceback
        logger.exception("camera read failed")
        capture.error = f"{type(exc).__name__}: {exc}"
    finally:
        source.close()


def read_frames(
    camera: CameraSection, *, seconds: float = 3.0, max_frames: int = 1000, timeout_s: float = 20.0
) -> Capture:
    """Read for `seconds` (or `max_frames` frames); stop waiting at the deadline."""
    capture = Capture()
    worker = threading.Thread(
        target=_read,
        args=(camera, capture, seconds, max_frames),
        name="tw-provision-camera",
        daemon=True,
    )
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        capture.error = capture.error or f"không trả lời sau / no answer within {timeout_s:.0f} s"
    return capture


def snapshot(camera: CameraSection, timeout_s: float = 20.0) -> Image:
    """One frame after the camera settled (a few frames in: exposure and the first keyframe)."""
    capture = read_frames(camera, seconds=1.0, max_frames=10, timeout_s=timeout_s)
    if capture.image is None:
        raise ProvisionError(
            UNAVAILABLE,
            f"Không lấy được ảnh từ camera / no frame from the camera "
            f"{redact_url(camera.source)}: {capture.error or 'no frames'}",
            "Kiểm tra camera.source, cáp, mật khẩu RTSP / check camera.source, the cable and "
            "the RTSP credentials; or calibrate on a saved picture: --image FILE",
        )
    return capture.image
