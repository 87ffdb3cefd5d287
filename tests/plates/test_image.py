"""Image bytes in: empty, corrupt, tiny and pixel-flood images are refused with a clear reason."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from plates.image import PlateImageError, as_bgr, decode_image


def jpeg(width: int, height: int) -> bytes:
    """A real JPEG of a grey gradient."""
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(ramp, cv2.COLOR_GRAY2BGR))
    assert ok
    return data.tobytes()


def claiming(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size (a decompression bomb)."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def test_a_jpeg_decodes_to_bgr_pixels() -> None:
    image = decode_image(jpeg(64, 32))
    assert image.shape == (32, 64, 3) and image.dtype == np.uint8


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xd8 not really a jpeg \xff\xd9", "corrupt"),
        (jpeg(12, 10), "too small"),
        (claiming(jpeg(64, 32), 10_000, 10_000), "too large"),
        (claiming(jpeg(64, 32), 60_000, 60_000), "too large"),
    ],
    ids=["empty", "corrupt", "tiny", "pixel-flood", "decompression-bomb"],
)
def test_bad_images_are_refused_with_their_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PlateImageError, match=reason):
        decode_image(data)


def test_grey_and_bgra_pixels_become_bgr() -> None:
    assert as_bgr(np.zeros((20, 30), np.uint8)).shape == (20, 30, 3)
    assert as_bgr(np.zeros((20, 30, 4), np.uint8)).shape == (20, 30, 3)
    with pytest.raises(PlateImageError):
        as_bgr(np.zeros((20, 30, 3), np.float32))
