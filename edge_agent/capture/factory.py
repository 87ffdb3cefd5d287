"""Make the frame source a camera section describes."""

from __future__ import annotations

import importlib.util
import logging

from edge_agent.capture.base import FrameSource
from protocol.config import CameraSection
from protocol.enums import CameraKind

logger = logging.getLogger(__name__)


def create_source(camera: CameraSection, *, prefer_av: bool | None = None) -> FrameSource:
    """The source for `camera`: PyAV for files and streams (packets kept), OpenCV for USB."""
    kind = camera.kind
    if kind is CameraKind.picamera2:
        from edge_agent.capture.picamera2_source import Picamera2Source

        return Picamera2Source(camera.width, camera.height, camera.fps)
    live = kind is not CameraKind.file
    use_av = importlib.util.find_spec("av") is not None if prefer_av is None else prefer_av
    if kind is not CameraKind.usb and use_av:
        from edge_agent.capture.av_source import AvSource

        return AvSource(camera.source, live=live, realtime=camera.realtime)
    if kind is not CameraKind.usb:
        logger.warning("PyAV not installed: %s read through OpenCV, without packets", kind.value)
    from edge_agent.capture.opencv_source import OpenCvSource

    return OpenCvSource(
        camera.source,
        live=live,
        realtime=camera.realtime and kind is CameraKind.file,
        width=camera.width,
        height=camera.height,
        fps=camera.fps,
    )
