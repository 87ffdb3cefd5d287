"""Non-maximum suppression in NumPy: a few hundred candidates a frame, so plain NumPy suffices."""

from __future__ import annotations

import numpy as np


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x1, y1, x2, y2) box with each of N boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indexes of the boxes kept, best score first; a box overlapping a better one is dropped."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS within each class only: a car never suppresses the motorbike beside it."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Shifting each class to its own region of the plane makes boxes of different classes
    # disjoint, so one pass of plain NMS acts class by class.
    span = float(boxes.max() - boxes.min()) + 1.0
    offset = class_ids.astype(np.float64)[:, None] * span
    return nms(boxes + offset, scores, iou_threshold)
