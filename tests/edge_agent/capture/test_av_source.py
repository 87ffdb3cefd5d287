"""PyAV source: frames with capture times, sequence numbers and the stream's own packets."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import numpy as np
import pytest

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import Frame, SourceError
from tests.edge_agent.capture.media import SAMPLE_FRAMES, encode, moving_square


def read_all(source: AvSource) -> list[Frame]:
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_file_frames_carry_capture_time_sequence_and_h264_packets(video_file: Path) -> None:
    source = AvSource(str(video_file), live=False)
    info = source.open()
    frames = read_all(source)
    source.close()

    assert (info.width, info.height, info.fps, info.codec) == (768, 432, 12.5, "h264")
    assert info.extradata  # SPS/PPS: what a clip remuxed from these packets needs
    assert len(frames) == SAMPLE_FRAMES
    assert [f.seq for f in frames] == list(range(SAMPLE_FRAMES))
    assert all(f.image.shape == (432, 768, 3) for f in frames[:5])
    assert all(f.captured_at.tzinfo is timezone.utc for f in frames)
    assert all(a.monotonic <= b.monotonic for a, b in zip(frames, frames[1:], strict=False))
    pts = [f.pts_s for f in frames if f.pts_s is not None]
    assert len(pts) == SAMPLE_FRAMES and all(a < b for a, b in zip(pts, pts[1:], strict=False))
    packets = [p for f in frames for p in f.packets]
    assert len(packets) == SAMPLE_FRAMES  # every packet exactly once
    assert packets[0].keyframe
    dts = [p.dts for p in packets if p.dts is not None]
    assert dts == sorted(dts) and len(set(dts)) == len(packets)


def test_reopened_file_resumes_after_the_last_frame_without_repeats(square_clip: Path) -> None:
    source = AvSource(str(square_clip), live=False)
    source.open()
    first = [source.read() for _ in range(20)]
    source.close()  # what a reconnect does after a read failure
    source.open()
    rest = read_all(source)
    source.close()

    frames = [f for f in first if f is not None] + rest
    assert len(frames) == 50
    assert [f.seq for f in frames] == list(range(50))
    pts = [f.pts_s for f in frames if f.pts_s is not None]
    assert pts == sorted(pts) and len(set(pts)) == 50
    dts = [p.dts for f in frames for p in f.packets]
    assert len(dts) == 50 and len(set(dts)) == 50


def test_realtime_replay_lasts_as_long_as_the_clip(square_clip: Path) -> None:
    source = AvSource(str(square_clip), live=False, realtime=True)
    source.open()
    frames = read_all(source)
    source.close()

    assert source.live  # a paced replay stands in for a camera
    duration = (len(frames) - 1) / 25
    # Pacing sleeps until each frame is due, so the replay can never be shorter than the clip.
    assert frames[-1].monotonic - frames[0].monotonic >= 0.95 * duration


def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    source = AvSource(str(tmp_path / "none.mp4"), live=False)
    with pytest.raises(SourceError, match="cannot open"):
        source.open()


def test_reading_before_open_is_a_source_error(square_clip: Path) -> None:
    with pytest.raises(SourceError, match="not open"):
        AvSource(str(square_clip), live=False).read()


def test_a_damaged_stretch_of_the_stream_costs_no_connection(tmp_path: Path) -> None:
    data = bytearray(encode(moving_square(50), fmt="mpegts"))
    middle = len(data) // 2
    data[middle : middle + 3000] = np.random.default_rng(0).bytes(3000)
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))

    source = AvSource(str(damaged), live=False)
    source.open()
    frames = read_all(source)  # raises SourceError if the damage broke the stream
    source.close()
    assert len(frames) >= 45
