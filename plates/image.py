"""Turning image bytes into pixels safely: empty, tiny, corrupt or oversized images are refused.

A packet's image parts are signed by a device, not trusted: a JPEG that claims 60 000 × 60 000
pixels (a "pixel flood") would take gigabytes to decode, so the header's size is checked first.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage

from plates.ocr import Image

logger = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # above 8K (33 MP) cameras; refused before decoding
MIN_SIDE = 16  # smaller than this holds no readable plate


class PlateImageError(ValueError):
    """The image cannot be read: empty, corrupt, too small or too large. Message in Vietnamese."""


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image:
    """BGR pixels of a JPEG or PNG, refusing what is empty, corrupt, tiny or too large."""
    if not data:
        raise PlateImageError("ảnh rỗng / empty image")
    try:
        with warnings.catch_warnings():
            # Pillow warns (or raises) on decompression bombs; we check the size ourselves.
            warnings.simplefilter("ignore", PilImage.DecompressionBombWarning)
            with PilImage.open(io.BytesIO(data)) as header:
                width, height = header.size
    except PilImage.DecompressionBombError as exc:
        raise PlateImageError(f"ảnh quá lớn / image too large: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise PlateImageError(f"ảnh hỏng hoặc không rõ định dạng / corrupt image: {exc}") from exc
    check_size(width, height, max_pixels=max_pixels)
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise PlateImageError("không giải mã được ảnh / the image does not decode")
    return np.asarray(pixels, dtype=np.uint8)


def check_size(width: int, height: int, *, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse an image too small to hold a plate or too large to decode safely."""
    if width * height > max_pixels:
        raise PlateImageError(
            f"ảnh quá lớn ({width}×{height}) / image too large: over {max_pixels} pixels"
        )
    if min(width, height) < MIN_SIDE:
        raise PlateImageError(f"ảnh quá nhỏ ({width}×{height}) / image too small")


def as_bgr(image: npt.NDArray[Any]) -> Image:
    """A uint8 BGR image from grey, BGR or BGRA pixels; refuses anything else."""
    if image.dtype != np.uint8:
        raise PlateImageError(f"ảnh phải là uint8 / pixels must be uint8, not {image.dtype}")
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        check_size(image.shape[1], image.shape[0], max_pixels=10 * MAX_PIXELS)
        return image
    raise PlateImageError(f"ảnh không hợp lệ / unsupported pixel shape {image.shape}")
