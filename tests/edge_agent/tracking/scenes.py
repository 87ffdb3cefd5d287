"""Synthetic detections with known ground truth: boxes moving at constant speed."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Det:
    """A detection as the detector would give it."""

    box: Box
    score: float
    label: str


def moved(box: Box, dx: float, dy: float) -> Box:
    """`box` shifted by (dx, dy)."""
    x1, y1, x2, y2 = box
    return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)


def path(start: Box, velocity: tuple[float, float], frames: int) -> list[Box]:
    """The boxes of an object moving at `velocity` pixels a frame."""
    return [moved(start, velocity[0] * i, velocity[1] * i) for i in range(frames)]


def iou(a: Box, b: Box) -> float:
    """Intersection over union."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
