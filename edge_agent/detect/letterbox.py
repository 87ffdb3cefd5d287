"""Fitting a frame into a square network input without distorting it, and mapping boxes back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LetterboxMeta:
    """How a frame was placed in the network input: scale, then offset by the padding."""

    scale: float
    pad_x: int
    pad_y: int
    frame_width: int
    frame_height: int


def letterbox(
    frame: np.ndarray, size: tuple[int, int], *, pad_value: int = 114, center: bool = False
) -> tuple[np.ndarray, LetterboxMeta]:
    """Resize `frame` to fit (width, height) keeping its aspect ratio; pad the rest.

    YOLOX was trained with the image in the top-left corner (`center=False`), so that is the
    default; other models may want it centred.
    """
    width, height = size
    frame_h, frame_w = frame.shape[:2]
    scale = min(width / frame_w, height / frame_h)
    new_w = max(1, min(width, round(frame_w * scale)))
    new_h = max(1, min(height, round(frame_h * scale)))
    pad_x = (width - new_w) // 2 if center else 0
    pad_y = (height - new_h) // 2 if center else 0
    canvas = np.full((height, width, frame.shape[2]), pad_value, dtype=frame.dtype)
    # INTER_LINEAR is what YOLOX's own preprocessing uses; the scores were tuned with it.
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = cv2.resize(
        frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    return canvas, LetterboxMeta(scale, pad_x, pad_y, frame_w, frame_h)


def boxes_to_frame(boxes: np.ndarray, meta: LetterboxMeta) -> np.ndarray:
    """Map N×4 (x1, y1, x2, y2) boxes from network-input pixels to frame pixels, clipped."""
    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] = (out[:, [0, 2]] - meta.pad_x) / meta.scale
    out[:, [1, 3]] = (out[:, [1, 3]] - meta.pad_y) / meta.scale
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, meta.frame_width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, meta.frame_height)
    return out


def boxes_to_input(boxes: np.ndarray, meta: LetterboxMeta) -> np.ndarray:
    """Map N×4 boxes from frame pixels to network-input pixels (the inverse of boxes_to_frame)."""
    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] = out[:, [0, 2]] * meta.scale + meta.pad_x
    out[:, [1, 3]] = out[:, [1, 3]] * meta.scale + meta.pad_y
    return out
