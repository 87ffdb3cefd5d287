"""Camera faults in the heartbeat: no frames, frozen, dark, disconnected."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import Frame
from edge_agent.capture.monitor import CameraMonitor
from protocol.enums import CameraProblem


def frame_at(t: float, image: np.ndarray, seq: int = 0) -> Frame:
    return Frame(image, seq, datetime.now(timezone.utc), monotonic=t)


def feed(monitor: CameraMonitor, images: list[np.ndarray], fps: float = 10.0) -> float:
    t = 0.0
    for i, image in enumerate(images):
        t = i / fps
        monitor.observe(frame_at(t, image, i))
    return t


def test_identical_frames_for_ten_seconds_are_frozen() -> None:
    monitor = CameraMonitor(frozen_s=10)
    still = np.full((120, 160, 3), 100, dtype=np.uint8)
    end = feed(monitor, [still] * 121)
    assert monitor.problems(connected=True, now=end) == [CameraProblem.frozen]


def test_a_noisy_static_scene_is_not_frozen() -> None:
    rng = np.random.default_rng(1)
    monitor = CameraMonitor(frozen_s=10)
    images = [rng.integers(95, 105, (120, 160, 3), dtype=np.uint8) for _ in range(121)]
    end = feed(monitor, images)
    assert monitor.problems(connected=True, now=end) == []


def test_a_black_picture_is_dark_after_a_while() -> None:
    monitor = CameraMonitor(dark_s=5)
    black = np.random.default_rng(2).integers(0, 6, (120, 160, 3), dtype=np.uint8)
    assert monitor.problems(connected=True, now=feed(monitor, [black] * 20)) == []
    end = feed(monitor, [black] * 61)
    assert monitor.problems(connected=True, now=end) == [CameraProblem.dark]


def test_silence_is_no_frames_and_a_lost_stream_is_disconnected() -> None:
    monitor = CameraMonitor(no_frames_s=5)
    monitor.observe(frame_at(100.0, np.zeros((8, 8, 3), dtype=np.uint8)))
    assert monitor.problems(connected=False, now=106.0) == [
        CameraProblem.disconnected,
        CameraProblem.no_frames,
    ]


def test_the_real_sample_video_raises_no_problem(video_file: Path) -> None:
    monitor = CameraMonitor()
    source = AvSource(str(video_file), live=False)
    source.open()
    seen = set()
    while (frame := source.read()) is not None:
        # Stamped with stream time, as if it came from a camera in real time.
        monitor.observe(frame_at(frame.pts_s or 0.0, frame.image, frame.seq))
        seen.update(monitor.problems(connected=True, now=frame.pts_s))
    source.close()
    assert seen == set()
