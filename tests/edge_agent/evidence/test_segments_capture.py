"""The buffer fed by the capture worker's taps: a live H.264 camera that drops and comes back."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest

from edge_agent.agent.stages import CaptureWorker
from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import Frame, StreamInfo
from edge_agent.capture.monitor import CameraMonitor
from edge_agent.capture.reconnect import EndOfStream, ReconnectingSource
from edge_agent.evidence.clip import probe_clip
from edge_agent.evidence.segments import SegmentBuffer
from tests.edge_agent.capture.media import sample_video
from tests.edge_agent.capture.stream_server import BreakableStream
from tests.edge_agent.evidence.footage import WAIT_S


def mpegts_of(path: Path) -> bytes:
    """The file's H.264 packets remuxed into MPEG-TS (Annex B, as an RTSP camera sends them)."""
    buffer = io.BytesIO()
    with av.open(str(path)) as source, av.open(buffer, "w", format="mpegts") as out:
        video = source.streams.video[0]
        stream = out.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return buffer.getvalue()


@pytest.fixture
def camera() -> Iterator[BreakableStream]:
    """The shared footage served live over TCP by a camera the test can break."""
    server = BreakableStream(mpegts_of(sample_video()), bytes_per_s=4e6)
    server.start()
    yield server
    server.close()


def run(worker: CaptureWorker, frames: list[Frame], until: Callable[[], bool]) -> None:
    """Capture as the capture stage does, into `frames`, until `until()`."""
    deadline = time.monotonic() + WAIT_S
    while not until():
        assert time.monotonic() < deadline, "condition not reached in time"
        frames.extend(worker.handle(None))


def test_a_reconnect_starts_a_new_chain_and_no_clip_spans_two(camera: BreakableStream) -> None:
    camera.cut_after = len(camera.payload) // 2
    buffer = SegmentBuffer(pre_roll_s=10, post_roll_s=3, bitrate_kbps=900)
    source = ReconnectingSource(
        AvSource(camera.url, live=True, open_timeout_s=5, read_timeout_s=5),
        backoff_min_s=0.05,
        backoff_max_s=0.2,
    )
    worker = CaptureWorker(source, CameraMonitor(), taps=[buffer.add], open_taps=[buffer.on_open])
    try:
        before: list[Frame] = []
        run(worker, before, lambda: camera.broken.is_set() and not source.connected)
        camera.resume()
        after: list[Frame] = []
        run(worker, after, lambda: len(after) >= 150)  # the camera's stream is 377 frames
    finally:
        worker.close()
    stats = buffer.stats

    assert stats["mode"] == "remux" and stats["chains"] == 2
    assert worker.tap_errors == 0
    # A clip inside the second opening: the camera's Annex B packets, remuxed, and it plays.
    second = buffer.clip(after[70].captured_at, after[140].captured_at, timeout_s=1)
    assert second is not None and second.remuxed
    assert after[0].captured_at <= second.start <= after[70].captured_at
    probe = probe_clip(second.data)
    assert probe.fast_start and probe.frames == second.frames
    # A clip across the drop comes from one opening only, and decodes whole.
    across = buffer.clip(before[-60].captured_at, after[20].captured_at, timeout_s=1)
    buffer.close()
    assert across is not None
    span = (across.start, across.end)
    assert span[1] <= before[-1].captured_at or span[0] >= after[0].captured_at
    assert probe_clip(across.data).frames == across.frames


class Exploding:
    """A tap that fails on every frame."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: Frame) -> None:
        self.calls += 1
        raise RuntimeError("hỏng / broken")


def test_a_failing_tap_is_counted_and_capture_goes_on(tmp_path: Path) -> None:
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900)
    opened: list[StreamInfo] = []
    bad = Exploding()
    source = ReconnectingSource(AvSource(str(sample_video()), live=False))
    worker = CaptureWorker(
        source, CameraMonitor(), taps=[bad, buffer.add], open_taps=[opened.append]
    )
    frames: list[Frame] = []
    with pytest.raises(EndOfStream):
        for _ in range(1000):
            frames.extend(worker.handle(None))
    worker.close()
    stats = buffer.stats
    buffer.close()

    assert len(frames) == bad.calls == worker.tap_errors == 377  # every frame still went on
    assert stats["frames"] == 377  # and the taps after the failing one still saw each frame
    assert len(opened) == 1 and opened[0].codec == "h264"
