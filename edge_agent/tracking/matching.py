"""Box overlap and assignment for the tracker.

Assignment is greedy on overlap (best pair first), not Hungarian: scipy's `linear_sum_assignment`
costs ~50 MB of resident memory on import (all of `scipy.optimize` loads), a seventh of the box's
budget, and with ByteTrack's IoU gates the greedy answer equals the optimal one except where two
boxes compete almost equally for two tracks, which the next frame settles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]


def as_boxes(boxes: Sequence[Box]) -> Boxes:
    """An (n, 4) float array of x1, y1, x2, y2."""
    if not boxes:
        return np.zeros((0, 4), dtype=np.float64)
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def iou_matrix(a: Boxes, b: Boxes) -> Boxes:
    """Intersection over union of every box in `a` with every box in `b`."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    result: Boxes = inter / np.maximum(union, 1e-9)
    return result


def greedy_assign(
    similarity: Boxes, min_similarity: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (row, col) best first while similarity ≥ min; then unmatched rows and columns."""
    rows, cols = similarity.shape
    pairs: list[tuple[int, int]] = []
    if rows and cols:
        flat = np.argsort(-similarity, axis=None, kind="stable")
        used_rows: set[int] = set()
        used_cols: set[int] = set()
        for index in flat:
            r, c = divmod(int(index), cols)
            if similarity[r, c] < min_similarity:
                break
            if r in used_rows or c in used_cols:
                continue
            pairs.append((r, c))
            used_rows.add(r)
            used_cols.add(c)
            if len(used_rows) == rows or len(used_cols) == cols:
                break
    matched_rows = {r for r, _ in pairs}
    matched_cols = {c for _, c in pairs}
    return (
        pairs,
        [r for r in range(rows) if r not in matched_rows],
        [c for c in range(cols) if c not in matched_cols],
    )
