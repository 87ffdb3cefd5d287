"""Test media: the shared sample video and models, and synthetic clips made with PyAV.

The shared data (`../shared/data`, or `$TW_SHARED_DATA`) and models (`../shared/models`, or
`$TW_SHARED_MODELS`) are never committed; tests that need them skip with a message naming what
is missing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_VIDEO = Path("video") / "car-detection.mp4"  # CC BY 4.0, Intel IoT DevKit sample-videos
SAMPLE_FRAMES = 377  # 30 s at 12.5 fps, 768×432


def shared_data_dir() -> Path:
    """`$TW_SHARED_DATA`, else `../shared/data` beside the repository."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


def shared_models_dir() -> Path:
    """`$TW_SHARED_MODELS`, else `../shared/models` beside the repository."""
    return Path(os.environ.get("TW_SHARED_MODELS") or ROOT.parent / "shared" / "models")


def sample_video() -> Path:
    """The shared sample video (skips the test when it is absent)."""
    path = shared_data_dir() / SAMPLE_VIDEO
    if not path.is_file():
        pytest.skip(f"{path} absent: the shared sample video is not on this machine")
    return path


def install_models(dest: Path) -> Path:
    """Install every manifest model from the shared copies into `dest` (skips when absent)."""
    source = shared_models_dir()
    if not source.is_dir():
        pytest.skip(f"{source} absent: the shared model copies are not on this machine")
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")
    from edge_agent.models_install import install
    from edge_agent.models_store import load_manifest

    install(load_manifest(), dest, source_dir=source, stream=None)
    return dest


def moving_square(count: int, width: int = 320, height: int = 240) -> Iterator[np.ndarray]:
    """Frames of a bright square crossing a noisy grey background (noise: a live sensor)."""
    rng = np.random.default_rng(7)
    for i in range(count):
        frame = rng.integers(90, 110, size=(height, width, 3), dtype=np.uint8)
        x = (i * 5) % (width - 40)
        frame[100:140, x : x + 40] = 230
        yield frame


def encode(
    frames: Iterable[np.ndarray], fps: int = 25, fmt: str = "mp4", codec: str = "libx264"
) -> bytes:
    """Encode BGR frames into a container in memory (H.264 by default)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        first = True
        for image in frames:
            if first:
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "g": "10", "bf": "0"}
                first = False
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def write_video(path: Path, frames: Iterable[np.ndarray], fps: int = 25) -> Path:
    """Write BGR frames as an H.264 MP4 file."""
    path.write_bytes(encode(frames, fps))
    return path
