"""The camera section picks the source; credentials never reach the logs."""

from __future__ import annotations

import pytest

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import SourceError, redact_url
from edge_agent.capture.factory import create_source
from edge_agent.capture.opencv_source import OpenCvSource
from edge_agent.capture.picamera2_source import Picamera2Source
from protocol.config import CameraSection
from protocol.enums import CameraKind


def test_files_and_streams_go_through_pyav_with_their_pace() -> None:
    fast = create_source(CameraSection(source="a.mp4", kind=CameraKind.file, realtime=False))
    paced = create_source(CameraSection(source="a.mp4", kind=CameraKind.file))
    rtsp = create_source(CameraSection(source="rtsp://cam/stream", kind=CameraKind.rtsp))
    assert isinstance(fast, AvSource) and not fast.live
    assert isinstance(paced, AvSource) and paced.live
    assert isinstance(rtsp, AvSource) and rtsp.live


def test_usb_and_files_without_pyav_go_through_opencv() -> None:
    usb = create_source(CameraSection(source="0", kind=CameraKind.usb))
    file = create_source(
        CameraSection(source="a.mp4", kind=CameraKind.file, realtime=False), prefer_av=False
    )
    assert isinstance(usb, OpenCvSource) and usb.live
    assert isinstance(file, OpenCvSource) and not file.live


def test_picamera2_fails_plainly_where_it_is_not_installed() -> None:
    source = create_source(CameraSection(source="pi", kind=CameraKind.picamera2))
    assert isinstance(source, Picamera2Source)
    with pytest.raises(SourceError, match="picamera2"):
        source.open()


def test_passwords_are_redacted_from_source_descriptions() -> None:
    url = "rtsp://admin:s3cret@10.0.0.5:554/Streaming/101"
    assert redact_url(url) == "rtsp://admin:***@10.0.0.5:554/Streaming/101"
    assert "s3cret" not in create_source(CameraSection(source=url)).description
    assert redact_url("/videos/a.mp4") == "/videos/a.mp4"
