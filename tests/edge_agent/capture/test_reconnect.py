"""A dropped and resumed stream is reconnected, keeps its sequence, and is reported."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import Frame
from edge_agent.capture.monitor import CameraMonitor
from edge_agent.capture.reconnect import EndOfStream, ReconnectingSource
from protocol.enums import CameraProblem
from tests.edge_agent.capture.media import encode, moving_square
from tests.edge_agent.capture.stream_server import BreakableStream

WAIT_S = 30.0  # generous bound for a slow CI machine; never a timing assertion


@pytest.fixture
def camera() -> Iterator[BreakableStream]:
    """An H.264 MPEG-TS camera on TCP that the test can break and bring back."""
    payload = encode(moving_square(150), fps=25, fmt="mpegts")
    server = BreakableStream(payload)
    server.start()
    yield server
    server.close()


def read_until(source: ReconnectingSource, done: object, frames: list[Frame]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        frame = source.read()
        if frame is not None:
            frames.append(frame)
    assert done(), "condition not reached in time"  # type: ignore[operator]


def test_dropped_stream_is_reported_then_reconnected(camera: BreakableStream) -> None:
    camera.cut_after = len(camera.payload) // 2
    live = AvSource(camera.url, live=True, open_timeout_s=5, read_timeout_s=5)
    source = ReconnectingSource(live, backoff_min_s=0.05, backoff_max_s=0.2)
    monitor = CameraMonitor()
    frames: list[Frame] = []
    try:
        read_until(source, lambda: bool(frames) and not source.connected, frames)
        before = len(frames)
        assert camera.broken.is_set()
        assert CameraProblem.disconnected in monitor.problems(connected=source.connected)

        camera.resume()
        read_until(source, lambda: len(frames) >= before + 30, frames)
    finally:
        source.close()

    assert source.reconnects >= 1
    assert source.connected is False  # closed for good
    assert CameraProblem.disconnected not in monitor.problems(connected=True)
    seqs = [f.seq for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # one sequence across the drop
    assert frames[-1].packets or frames[-2].packets  # packets flow again after the reconnect


def test_unreachable_camera_is_disconnected_until_it_answers(tmp_path: Path) -> None:
    live = AvSource("tcp://127.0.0.1:9", live=True, open_timeout_s=1, read_timeout_s=1)
    source = ReconnectingSource(live, backoff_min_s=0.05, backoff_max_s=0.1)
    try:
        results = [source.read() for _ in range(3)]
    finally:
        source.close()

    assert results == [None, None, None]
    assert source.failures >= 1 and source.last_error is not None
    assert CameraProblem.disconnected in CameraMonitor().problems(connected=source.connected)


def test_the_end_of_a_file_ends_the_stream(square_clip: Path) -> None:
    source = ReconnectingSource(AvSource(str(square_clip), live=False))
    frames = []
    with pytest.raises(EndOfStream):
        while True:
            frame = source.read()
            if frame is not None:
                frames.append(frame)
    source.close()
    assert len(frames) == 50
    assert source.reconnects == 0
