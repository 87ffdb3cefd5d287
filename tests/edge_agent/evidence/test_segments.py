"""The segment buffer on an H.264 source: the camera's own packets, remuxed into the clip."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_agent.capture.base import Frame, StreamInfo
from edge_agent.evidence.clip import probe_clip, remux_check
from edge_agent.evidence.segments import SegmentBuffer
from tests.edge_agent.capture.media import sample_video
from tests.edge_agent.evidence.footage import (
    FPS,
    at,
    feed_with_violation,
    looped,
    read_h264,
    source_packets,
)

GOP_S = 60 / FPS  # the sample's keyframe interval


@pytest.fixture(scope="module")
def footage() -> tuple[Path, StreamInfo, list[Frame]]:
    """The shared sample read once through `AvSource`: its frames with their H.264 packets."""
    path = sample_video()
    info, frames = read_h264(path)
    return path, info, frames


def test_the_clip_is_the_cameras_packets_covering_pre_and_post_roll(
    footage: tuple[Path, StreamInfo, list[Frame]],
) -> None:
    path, info, frames = footage
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info)
    clip = feed_with_violation(buffer, frames, violation_s=20.0)
    buffer.close()

    assert clip is not None and clip.remuxed
    # From the keyframe at or before 18 s (GOPs of 4.8 s: the one at 14.4 s) to the frame at 23 s.
    assert clip.start <= at(18.0) and clip.start > at(18.0 - GOP_S)
    assert clip.end >= at(23.0) and clip.end < at(23.0 + 1 / FPS + 1e-6)
    probe = probe_clip(clip.data)
    assert (probe.codec, probe.pix_fmt, probe.fast_start) == ("h264", "yuv420p", True)
    assert (probe.width, probe.height) == (768, 432) == (clip.width, clip.height)
    assert probe.frames == clip.frames
    assert probe.frames == round(clip.duration_s * FPS) + 1  # every frame of the interval
    assert abs(probe.duration_s - clip.duration_s) < 1e-3  # stream time matches capture time
    # No re-encoding: the clip's packets are the file's, byte for byte, from a keyframe on.
    stored = source_packets(path)
    first = round((clip.start - at(0)).total_seconds() * FPS)
    assert probe.packets == tuple(stored[first : first + clip.frames])
    assert remux_check(clip, path)


def test_the_clip_keeps_the_cameras_bitrate(
    footage: tuple[Path, StreamInfo, list[Frame]],
) -> None:
    path, info, frames = footage
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=300, stream=info)
    clip = feed_with_violation(buffer, frames, violation_s=10.0)
    buffer.close()

    assert clip is not None
    camera = source_packets(path)
    first = round((clip.start - at(0)).total_seconds() * FPS)
    camera_kbps = sum(len(p) for p in camera[first : first + clip.frames]) * 8 / clip.frames * FPS
    # The configured 300 kbit/s is for encoding on the box; a remux keeps what the camera sent.
    assert probe_clip(clip.data).bitrate_kbps == pytest.approx(camera_kbps / 1000, rel=1e-6)


def test_memory_stays_bounded_over_a_long_run(
    footage: tuple[Path, StreamInfo, list[Frame]],
) -> None:
    _, info, frames = footage
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info, margin_s=3)
    gop_bytes = max(
        sum(len(p.data) for f in frames[i : i + 60] for p in f.packets)
        for i in range(0, len(frames), 60)
    )
    most_segments = most_bytes = 0
    for frame in looped(frames, loops=12):  # 6 minutes of stream
        buffer.add(frame)
        stats = buffer.stats
        most_segments = max(most_segments, stats["segments"])
        most_bytes = max(most_bytes, stats["bytes"])
    final = buffer.stats
    buffer.close()

    # pre-roll + margin = 5 s: the GOP holding its start, the one after, the one being written.
    assert most_segments <= 4
    assert most_bytes <= 4 * gop_bytes
    assert final["segments_evicted"] >= 12 * len(frames) // 60 - 4
    assert final["packets_skipped"] == final["packets_untimed"] == 0


def test_a_clip_before_the_buffer_is_none_and_one_past_it_is_what_exists(
    footage: tuple[Path, StreamInfo, list[Frame]], caplog: pytest.LogCaptureFixture
) -> None:
    _, info, frames = footage
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info)
    for frame in frames:
        buffer.add(frame)
    held = buffer.stats
    caplog.set_level(logging.WARNING, logger="edge_agent.evidence.segments")

    gone = buffer.clip(at(1.0), at(6.0), timeout_s=0.2)  # long evicted
    partly = buffer.clip(at(15.0), at(40.0), timeout_s=0.2)  # starts before the buffer, ends after
    buffer.close()

    assert gone is None
    assert "no video" in caplog.text
    assert partly is not None
    assert partly.start > at(15.0) and partly.end == frames[-1].captured_at
    assert partly.duration_s == pytest.approx(held["held_s"], abs=1 / FPS)
    assert "cut to" in caplog.text
    assert probe_clip(partly.data).frames == partly.frames


def test_packets_before_the_first_keyframe_are_skipped(
    footage: tuple[Path, StreamInfo, list[Frame]],
) -> None:
    _, info, frames = footage
    joined = frames[30:150]  # mid-GOP, as a box does when its stream starts late
    packets = [p for f in joined for p in f.packets]
    before_keyframe = next(i for i, p in enumerate(packets) if p.keyframe)
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info)
    for frame in joined:
        buffer.add(frame)
    clip = buffer.clip(at(4.0), at(8.0), timeout_s=0.2)
    skipped = buffer.stats["packets_skipped"]
    buffer.close()

    assert skipped == before_keyframe  # undecodable without the keyframe before them
    assert clip is not None and clip.start == at(4.8)
    assert probe_clip(clip.data).frames == clip.frames
