"""The segment buffer on a raw source: encoded on the box into 1-second segments."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from edge_agent.capture.base import Frame, StreamInfo
from edge_agent.capture.opencv_source import OpenCvSource
from edge_agent.evidence.clip import probe_clip, remux_check
from edge_agent.evidence.encoder import SOFTWARE_ENCODER, pick_encoder
from edge_agent.evidence.segments import SegmentBuffer
from tests.edge_agent.capture.media import sample_video
from tests.edge_agent.evidence.footage import (
    FPS,
    as_raw,
    at,
    feed_with_violation,
    read_h264,
    resized,
    wait_encoded,
    wait_until,
)


@pytest.fixture(scope="module")
def raw_footage() -> tuple[StreamInfo, list[Frame]]:
    """The shared sample as a raw camera gives it: decoded pictures, no packets."""
    info, frames = read_h264(sample_video())
    return as_raw(info, frames)


def read_opencv(path: Path) -> tuple[StreamInfo, list[Frame]]:
    """Every frame of the file through the real `OpenCvSource` (decoded frames only)."""
    source = OpenCvSource(str(path), live=False)
    info = source.open()
    frames = []
    try:
        while (frame := source.read()) is not None:
            assert frame.pts_s is not None
            frames.append(dataclasses.replace(frame, captured_at=at(frame.pts_s)))
    finally:
        source.close()
    return info, frames


def test_a_raw_source_is_encoded_into_a_clip_at_the_configured_bitrate() -> None:
    path = sample_video()
    info, frames = read_opencv(path)
    assert info.codec is None and not frames[0].packets
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=info)
    clip = feed_with_violation(buffer, frames, violation_s=20.0, paced=True)
    stats = buffer.stats
    buffer.close()

    assert stats["mode"] == "reencode" and stats["encoder"] == SOFTWARE_ENCODER
    assert stats["frames_dropped"] == 0  # paced like a camera on a box that keeps up
    assert clip is not None and not clip.remuxed
    # One-second segments: the clip starts at the keyframe within a second before 18 s.
    assert at(17.0) < clip.start <= at(18.0)
    assert at(23.0) <= clip.end < at(23.0 + 1 / FPS + 1e-6)
    probe = probe_clip(clip.data)
    assert (probe.codec, probe.pix_fmt, probe.fast_start) == ("h264", "yuv420p", True)
    assert probe.profile in ("High", "Main")  # what every browser plays
    assert (probe.width, probe.height) == (768, 432)
    assert probe.frames == clip.frames == round(clip.duration_s * FPS) + 1
    assert probe.bitrate_kbps == pytest.approx(900, rel=0.2)
    assert not remux_check(clip, path)  # encoded on the box: not the file's packets


def test_a_slow_encoder_drops_frames_and_never_holds_capture_back(
    raw_footage: tuple[StreamInfo, list[Frame]],
) -> None:
    info, frames = raw_footage
    # 1080p, as a Pi camera gives it; frames arrive faster than any encoder here can take them.
    big = [dataclasses.replace(f, image=resized(f.image, 1920, 1080)) for f in frames[:40]]
    hd = dataclasses.replace(info, width=1920, height=1080)
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900, stream=hd, queue_frames=2)
    for frame in big:
        buffer.add(frame)  # returns at once: a full queue drops the frame
    fed = buffer.stats
    wait_until(lambda: buffer.stats["frames_encoded"] + buffer.stats["frames_dropped"] == 40)
    buffer.close()  # the camera stopped: the clip is what was encoded
    clip = buffer.clip(at(0.0), at(10.0), timeout_s=5)
    stats = buffer.stats

    assert fed["frames_dropped"] > 0  # the capture thread went on without waiting
    assert stats["frames_encoded"] + stats["frames_dropped"] == stats["frames"] == 40
    assert clip is not None
    probe = probe_clip(clip.data)
    assert (probe.width, probe.height) == (1920, 1080)
    assert probe.frames == clip.frames == stats["frames_encoded"] < 40  # the clip has gaps


def test_memory_stays_bounded_over_a_long_raw_run(
    raw_footage: tuple[StreamInfo, list[Frame]],
) -> None:
    info, frames = raw_footage
    small = [dataclasses.replace(f, image=resized(f.image, 384, 216)) for f in frames]
    buffer = SegmentBuffer(
        pre_roll_s=2, post_roll_s=3, bitrate_kbps=300, stream=info, margin_s=3, scale_width=192
    )
    most_segments = most_bytes = 0
    fed = 0
    for loop in range(3):  # 90 s of stream, one second a segment
        shift = loop * len(frames) / FPS
        for frame in small:
            assert frame.pts_s is not None
            buffer.add(
                dataclasses.replace(
                    frame, pts_s=frame.pts_s + shift, captured_at=at(frame.pts_s + shift)
                )
            )
            fed += 1
            wait_encoded(buffer, fed - 1)
            stats = buffer.stats
            most_segments = max(most_segments, stats["segments"])
            most_bytes = max(most_bytes, stats["bytes"])
    clip = buffer.clip(at(86.0), at(89.0), timeout_s=5)
    final = buffer.stats
    buffer.close()

    # 5 s held (pre-roll + margin), the segment before it, the one being written.
    assert most_segments <= 7
    assert most_bytes <= 7 * 300_000 / 8 * 1.5  # seven one-second segments at ≤ 1.5× the rate
    assert final["segments_evicted"] >= 80
    assert clip is not None and (clip.width, clip.height) == (192, 108)  # downscaled on request
    assert probe_clip(clip.data).frames == clip.frames


def test_a_reopened_raw_source_starts_a_new_chain(
    raw_footage: tuple[StreamInfo, list[Frame]],
) -> None:
    info, frames = raw_footage
    buffer = SegmentBuffer(pre_roll_s=10, post_roll_s=3, bitrate_kbps=600, stream=info)
    for index, frame in enumerate(frames[:50]):
        buffer.add(frame)
        wait_encoded(buffer, index)
    # The camera comes back at another size (a USB camera renegotiated, say).
    buffer.on_open(dataclasses.replace(info, width=384, height=216))
    for index, frame in enumerate(frames[60:110]):
        buffer.add(dataclasses.replace(frame, image=resized(frame.image, 384, 216)))
        wait_encoded(buffer, 50 + index)
    wait_until(lambda: buffer.stats["frames_encoded"] == 100)
    across = buffer.clip(at(2.0), at(7.6), timeout_s=5)
    first = buffer.clip(at(0.0), at(3.0), timeout_s=5)
    stats = buffer.stats
    buffer.close()

    assert stats["chains"] == 2
    assert first is not None and (first.width, first.height) == (768, 432)
    assert across is not None and (across.width, across.height) == (384, 216)  # most of it
    assert across.start >= at(60 / FPS)
    for clip in (first, across):
        assert probe_clip(clip.data).frames == clip.frames


def test_the_encoder_is_a_hardware_one_only_where_it_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.evidence.encoder")
    pick_encoder.cache_clear()
    try:
        # This machine lists h264_v4l2m2m (FFmpeg's build has it) but has no such chip.
        assert pick_encoder(None) == SOFTWARE_ENCODER
        assert "libx264 (software" in caplog.text
        assert pick_encoder("h264_nvmpi") == SOFTWARE_ENCODER
        assert "h264_nvmpi not usable here" in caplog.text
        assert pick_encoder("libx264") == SOFTWARE_ENCODER
    finally:
        pick_encoder.cache_clear()


def test_odd_sizes_are_encoded_at_the_even_size_below() -> None:
    rng = np.random.default_rng(3)
    info = StreamInfo(width=321, height=241, fps=25.0)
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=1, bitrate_kbps=300, stream=info)
    for i in range(30):
        image = rng.integers(0, 255, (241, 321, 3), dtype=np.uint8)
        buffer.add(Frame(image=image, seq=i, captured_at=at(i / 25), monotonic=i / 25))
        wait_encoded(buffer, i)
    clip = buffer.clip(at(0.0), at(1.0), timeout_s=5)
    buffer.close()

    assert clip is not None and (clip.width, clip.height) == (320, 240)
    assert probe_clip(clip.data).frames == clip.frames == 26
