"""Fixtures for the frame-source tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edge_agent.capture.media import moving_square, sample_video, write_video


@pytest.fixture
def video_file() -> Path:
    """The shared 768×432 sample clip (skipped where absent)."""
    return sample_video()


@pytest.fixture
def square_clip(tmp_path: Path) -> Path:
    """A 2 s, 25 fps H.264 clip of a moving square: 50 frames."""
    return write_video(tmp_path / "square.mp4", moving_square(50))
