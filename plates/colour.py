"""Plate background colour: white, yellow, blue or red (QCVN 08:2024 colours, §5).

Measured inside the rectified text lines, where the plate's own background surrounds the
characters (a crop's margins show the vehicle instead). The line's pixels split into a darker and
a brighter class. A saturated bright class is a yellow background behind dark characters; a
whitish bright class is either a white background (the dark class is the characters) or white
characters on blue or red (the dark class is then saturated, and its hue names the colour).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from plates.ocr import Image
from protocol.enums import PlateColour

# OpenCV hue runs 0-179. Street light tints white plates, so "white" tolerates some saturation.
SATURATED = 80
YELLOW_HUES = (12, 40)
BLUE_HUES = (85, 135)
RED_HUES = ((0, 12), (155, 180))
MIN_CONTRAST = 15  # grey levels between characters and background
DARK_VALUE = 50  # a plate darker than this shows no colour
SAMPLE_HEIGHT = 24

Pixels = npt.NDArray[np.int32]


def classify_colour(lines: Sequence[Image]) -> PlateColour | None:
    """The background colour of a plate from its rectified lines, or None if unclear."""
    samples = [_sample(line) for line in lines if min(line.shape[:2]) >= 6]
    if not samples:
        return None
    dark, bright, dark_behind = _split(samples)
    if dark is None or bright is None:
        return None
    contrast = float(np.median(bright[:, 2]) - np.median(dark[:, 2]))
    if contrast < MIN_CONTRAST:  # blurred characters: the whole line's tint is all there is
        return _tint(np.concatenate([dark, bright]))
    if float(np.median(bright[:, 1])) >= SATURATED:
        colour = _by_hue(_circular_hue(bright[:, 0]))
        return colour if colour is PlateColour.yellow else None
    coloured = float(np.median(dark[:, 1])) >= SATURATED and np.median(dark[:, 2]) >= DARK_VALUE
    # Coloured and behind the characters: a blue or red plate (not red letters on white).
    if coloured and dark_behind:
        colour = _by_hue(_circular_hue(dark[:, 0]))
        return colour if colour in (PlateColour.blue, PlateColour.red) else None
    return PlateColour.white


def _tint(pixels: Pixels) -> PlateColour | None:
    if float(np.median(pixels[:, 2])) < DARK_VALUE:
        return None
    if float(np.median(pixels[:, 1])) < SATURATED:
        return PlateColour.white
    return _by_hue(_circular_hue(pixels[:, 0]))


def _by_hue(hue: float | None) -> PlateColour | None:
    if hue is None:
        return None
    if YELLOW_HUES[0] <= hue <= YELLOW_HUES[1]:
        return PlateColour.yellow
    if BLUE_HUES[0] <= hue <= BLUE_HUES[1]:
        return PlateColour.blue
    if any(lo <= hue <= hi for lo, hi in RED_HUES):
        return PlateColour.red
    return None


def _circular_hue(hues: Pixels) -> float | None:
    """The mean hue on OpenCV's 0-179 circle (reds sit on both ends), None when scattered."""
    angles = hues.astype(np.float64) * (2 * np.pi / 180)
    x, y = float(np.cos(angles).mean()), float(np.sin(angles).mean())
    if np.hypot(x, y) < 0.3:
        return None
    return float(np.degrees(np.arctan2(y, x)) % 360 / 2)


def _split(samples: Sequence[Image]) -> tuple[Pixels | None, Pixels | None, bool]:
    """HSV pixels of the darker and the brighter class of the lines' middles, and whether the
    darker class is the background (it fills the strips above and below the characters)."""
    darks, brights = [], []
    dark_strip = strip = 0
    for line in samples:
        gray = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
        hsv = cv2.cvtColor(line, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
        threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        is_bright = gray > threshold
        margin = max(1, gray.shape[0] // 8)
        strips = np.concatenate([is_bright[:margin], is_bright[-margin:]])
        dark_strip += int((~strips).sum())
        strip += strips.size
        darks.append(hsv[~is_bright.reshape(-1)])
        brights.append(hsv[is_bright.reshape(-1)])
    dark, bright = np.concatenate(darks), np.concatenate(brights)
    behind = strip > 0 and dark_strip > 0.5 * strip
    return (dark if len(dark) else None), (bright if len(bright) else None), behind


def _sample(whole: Image) -> Image:
    """The middle of a line (its ends may show the frame or the vehicle), a few pixels high."""
    w = whole.shape[1]
    line = whole[:, w // 4 : w - w // 4]
    if line.shape[0] > SAMPLE_HEIGHT:  # a colour needs few pixels
        scale = SAMPLE_HEIGHT / line.shape[0]
        return np.asarray(
            cv2.resize(line, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
    return np.asarray(line, np.uint8)
