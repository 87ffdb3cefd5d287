"""OpenCV source: files (and, on a box, USB cameras), resumed after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.capture.base import SourceError
from edge_agent.capture.opencv_source import OpenCvSource


def test_file_frames_are_stamped_in_order(square_clip: Path) -> None:
    source = OpenCvSource(str(square_clip), live=False)
    info = source.open()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()

    assert (info.width, info.height) == (320, 240)
    assert len(frames) == 50
    assert [f.seq for f in frames] == list(range(50))
    assert frames[0].packets == ()  # OpenCV hides the compressed stream
    pts = [f.pts_s for f in frames if f.pts_s is not None]
    assert pts == sorted(pts)


def test_reopened_file_resumes_where_it_broke(square_clip: Path) -> None:
    source = OpenCvSource(str(square_clip), live=False)
    source.open()
    first = [source.read() for _ in range(30)]
    source.close()
    source.open()
    rest = []
    while (frame := source.read()) is not None:
        rest.append(frame)
    source.close()

    assert all(f is not None for f in first)
    assert len(rest) == 20
    assert rest[0].seq == 30


def test_unopenable_source_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        OpenCvSource(str(tmp_path / "missing.mp4"), live=False).open()
