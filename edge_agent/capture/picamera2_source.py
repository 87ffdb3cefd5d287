"""A Raspberry Pi camera module through picamera2 (libcamera). Imported only on a Pi.

picamera2 comes from Raspberry Pi OS's apt (`python3-picamera2`), not from PyPI, so it is imported
inside `open()`: nothing else on the box or in the tests ever needs it. Kept thin on purpose: it
cannot run on the machines the tests run on.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from edge_agent.capture.base import Frame, FrameClock, SourceError, StreamInfo

logger = logging.getLogger(__name__)


class Picamera2Source:
    """Frames from the Pi's camera module, BGR, at the configured size and rate."""

    live = True

    def __init__(self, width: int, height: int, fps: float, camera_num: int = 0) -> None:
        self.description = f"picamera2:{camera_num}"
        self._size = (width, height)
        self._fps = fps
        self._camera_num = camera_num
        self._clock = FrameClock()
        self._camera: Any = None

    def open(self) -> StreamInfo:
        """Configure and start the camera."""
        self.close()
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]

            camera = Picamera2(self._camera_num)
            # libcamera's "RGB888" is B, G, R in memory: already OpenCV's order.
            config = camera.create_video_configuration(
                main={"size": self._size, "format": "RGB888"},
                controls={"FrameRate": self._fps},
            )
            camera.configure(config)
            camera.start()
        except ImportError as exc:
            raise SourceError("picamera2 is not installed (apt install python3-picamera2)") from exc
        except Exception as exc:  # libcamera raises RuntimeError and friends
            raise SourceError(f"{self.description}: cannot open: {exc}") from exc
        self._camera = camera
        return StreamInfo(width=self._size[0], height=self._size[1], fps=self._fps)

    def read(self) -> Frame | None:
        """The next frame from the camera."""
        if self._camera is None:
            raise SourceError(f"{self.description}: not open")
        try:
            array = self._camera.capture_array("main")
        except Exception as exc:
            raise SourceError(f"{self.description}: capture failed: {exc}") from exc
        image = np.ascontiguousarray(array[:, :, :3], dtype=np.uint8)
        return self._clock.stamp(image)

    def close(self) -> None:
        """Stop and release the camera; safe to call twice."""
        if self._camera is not None:
            try:
                self._camera.stop()
                self._camera.close()
            except Exception as exc:
                logger.debug("closing %s: %s", self.description, exc)
            self._camera = None
