"""Frame sources: files, RTSP and USB (PyAV, OpenCV) and the Pi camera (picamera2)."""

from edge_agent.capture.base import (
    EncodedPacket,
    Frame,
    FrameClock,
    FrameSource,
    Image,
    Pacer,
    SourceError,
    StreamInfo,
)
from edge_agent.capture.factory import create_source
from edge_agent.capture.monitor import CameraMonitor
from edge_agent.capture.reconnect import EndOfStream, ReconnectingSource

__all__ = [
    "CameraMonitor",
    "EncodedPacket",
    "EndOfStream",
    "Frame",
    "FrameClock",
    "FrameSource",
    "Image",
    "Pacer",
    "ReconnectingSource",
    "SourceError",
    "StreamInfo",
    "create_source",
]
