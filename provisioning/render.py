"""Draw a calibration onto a camera frame, for the technician to check by eye.

Lanes are tinted polygons with their id, allowed classes and an arrow for their direction; the
stop line is red with an arrow for the direction of travel across it; solid lines are yellow; the
light region a cyan box. OpenCV's fonts are ASCII only, so labels are ids and short English
words; the CLI prints the Vietnamese explanation beside the picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from edge_agent.capture import Image
from protocol.config import Calibration

RED = (0, 0, 255)
YELLOW = (0, 220, 255)
CYAN = (255, 255, 0)
WHITE = (255, 255, 255)
LANE_COLOURS = ((80, 200, 80), (220, 120, 40), (200, 80, 200), (40, 160, 240), (160, 160, 40))
_CLASS_SHORT = {"motorbike": "moto", "bicycle": "bike"}


def _pts(points: Sequence[Sequence[float]], scale: tuple[float, float]) -> np.ndarray:
    return np.array([[x * scale[0], y * scale[1]] for x, y in points], dtype=np.int32)


def _label(image: Image, text: str, at: tuple[int, int], colour: tuple[int, int, int]) -> None:
    size = max(0.5, image.shape[1] / 1600)
    thick = max(1, round(size * 2))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thick)
    x = min(max(at[0], 0), max(image.shape[1] - w, 0))
    y = min(max(at[1], h + base), image.shape[0] - base)
    cv2.rectangle(image, (x - 2, y - h - base), (x + w + 2, y + base), (0, 0, 0), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, colour, thick, cv2.LINE_AA)


def _arrow(
    image: Image, start: tuple[float, float], degrees: float, colour: tuple[int, int, int]
) -> None:
    length = image.shape[1] / 15
    end = (
        start[0] + length * math.cos(math.radians(degrees)),
        start[1] + length * math.sin(math.radians(degrees)),
    )
    thick = max(2, image.shape[1] // 480)
    p1, p2 = (round(start[0]), round(start[1])), (round(end[0]), round(end[1]))
    cv2.arrowedLine(image, p1, p2, colour, thick, cv2.LINE_AA, tipLength=0.3)


def _lanes(image: Image, calibration: Calibration, scale: tuple[float, float]) -> None:
    tint = image.copy()
    for n, lane in enumerate(calibration.lanes):
        cv2.fillPoly(tint, [_pts(lane.polygon, scale)], LANE_COLOURS[n % len(LANE_COLOURS)])
    cv2.addWeighted(tint, 0.3, image, 0.7, 0, dst=image)
    thick = max(1, image.shape[1] // 640)
    for n, lane in enumerate(calibration.lanes):
        colour = LANE_COLOURS[n % len(LANE_COLOURS)]
        polygon = _pts(lane.polygon, scale)
        cv2.polylines(image, [polygon], True, colour, thick, cv2.LINE_AA)
        cx, cy = polygon.mean(axis=0)
        classes = ",".join(_CLASS_SHORT.get(c.value, c.value) for c in lane.allowed_classes)
        one_way = " one-way" if lane.one_way else ""
        if lane.direction_deg is not None:  # under the label, which stays readable on top
            _arrow(image, (cx, cy), lane.direction_deg, colour)
        _label(image, f"{lane.id}: {classes}{one_way}", (round(cx) - 40, round(cy)), WHITE)


def _stop_line(image: Image, calibration: Calibration, scale: tuple[float, float]) -> None:
    if calibration.stop_line is None:
        return
    a, b = _pts(calibration.stop_line, scale)
    cv2.line(image, tuple(a), tuple(b), RED, max(3, image.shape[1] // 320), cv2.LINE_AA)
    middle = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    direction = calibration.stop_line_direction_deg
    if direction is None:
        directions = [lane.direction_deg for lane in calibration.lanes if lane.direction_deg]
        direction = directions[0] if directions else 270.0
    _arrow(image, middle, direction, RED)
    _label(image, "STOP", (round(min(a[0], b[0])), round(min(a[1], b[1])) - 8), RED)


def render(image: Image, calibration: Calibration, frame_size: tuple[int, int]) -> Image:
    """A copy of `image` with `calibration` drawn on it; `frame_size` is the (width, height) the
    coordinates refer to (the config's camera size), scaled to the image's own size."""
    out: Image = np.array(image, dtype=np.uint8, copy=True)
    scale = (out.shape[1] / frame_size[0], out.shape[0] / frame_size[1])
    _lanes(out, calibration, scale)
    for line in calibration.solid_lines:
        points = _pts(line.points, scale)
        cv2.polylines(out, [points], False, YELLOW, max(2, out.shape[1] // 480), cv2.LINE_AA)
        _label(out, line.id, (int(points[0][0]) + 6, int(points[0][1]) - 6), YELLOW)
    _stop_line(out, calibration, scale)
    if calibration.light_region is not None:
        x1, y1, x2, y2 = calibration.light_region.box
        p1 = (round(x1 * scale[0]), round(y1 * scale[1]))
        p2 = (round(x2 * scale[0]), round(y2 * scale[1]))
        cv2.rectangle(out, p1, p2, CYAN, max(2, out.shape[1] // 640))
        _label(out, "LIGHT", (p1[0], p1[1] - 6), CYAN)
    return out


def write_png(path: str, image: Image) -> bool:
    """Save as PNG; False if OpenCV could not write it."""
    return bool(cv2.imwrite(path, image))
