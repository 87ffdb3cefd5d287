"""Real evidence media for UI tests: JPEG stills and an H.264 MP4 clip (made once per process).

Drawn with OpenCV and encoded with PyAV (yuv420p, fast-start) like the box's evidence, so a
browser shows the stills and plays the clip.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from protocol.enums import MediaRole

SCENE_SIZE = (1280, 720)
CLIP_SIZE = (320, 180)
CLIP_FPS = 10
CLIP_FRAMES = 20


def _scene(shift: int) -> np.ndarray:
    width, height = SCENE_SIZE
    image = np.full((height, width, 3), (90, 90, 90), np.uint8)
    cv2.rectangle(image, (0, 0), (width, 220), (200, 170, 120), -1)  # sky and buildings
    cv2.line(image, (0, 470), (width, 470), (255, 255, 255), 6)  # the stop line
    cv2.rectangle(image, (1100, 60), (1160, 220), (30, 30, 30), -1)  # the signal head
    cv2.circle(image, (1130, 95), 22, (0, 0, 255), -1)  # red
    x = 420 + shift
    cv2.rectangle(image, (x, 380), (x + 260, 560), (40, 60, 200), -1)  # the car
    cv2.rectangle(image, (x + 80, 520), (x + 180, 550), (255, 255, 255), -1)  # its plate
    return image


def _jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(data.tobytes())


def _plate(text: str) -> np.ndarray:
    image = np.full((70, 260, 3), 245, np.uint8)
    cv2.rectangle(image, (2, 2), (257, 67), (20, 20, 20), 3)
    cv2.putText(image, text, (14, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 3)
    return image


def _clip() -> bytes:
    # +faststart rewrites the file to put the index first: it needs a real file, not a buffer.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        _write_clip(path)
        return path.read_bytes()


def _write_clip(path: Path) -> None:
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=CLIP_FPS)
        stream.width, stream.height = CLIP_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "10", "bf": "0"}
        for i in range(CLIP_FRAMES):
            small = np.asarray(cv2.resize(_scene(i * 20 - 200), CLIP_SIZE), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(small, format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@functools.cache
def _shared() -> dict[MediaRole, bytes]:
    return {
        MediaRole.scene_before: _jpeg(cv2.resize(_scene(-150), (640, 360))),
        MediaRole.scene_at: _jpeg(_scene(0)),
        MediaRole.scene_after: _jpeg(cv2.resize(_scene(150), (640, 360))),
        MediaRole.clip: _clip(),
    }


@functools.cache
def evidence_media(plate: str = "73A-123.45") -> dict[MediaRole, bytes]:
    """Stills before, at and after the line, the plate crop (showing `plate`) and the clip."""
    shared = _shared()
    return {
        MediaRole.scene_before: shared[MediaRole.scene_before],
        MediaRole.scene_at: shared[MediaRole.scene_at],
        MediaRole.scene_after: shared[MediaRole.scene_after],
        MediaRole.plate_crop: _jpeg(_plate(plate), 90),
        MediaRole.clip: shared[MediaRole.clip],
    }
