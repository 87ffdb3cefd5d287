"""YOLOX-nano (TFLite): letterboxed NCHW BGR input, grid-relative outputs decoded here.

The output is N×(4 + 1 + 80) for the anchor points of strides 8, 16 and 32: x and y offsets
from the grid cell, log width and height (both in units of the stride), then objectness and the
80 COCO class scores, already through a sigmoid. As in YOLOX's own postprocess, an anchor votes
for its best class with score = objectness × class score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_agent.detect.base import Detection
from edge_agent.detect.letterbox import LetterboxMeta, boxes_to_frame, letterbox
from edge_agent.detect.nms import batched_nms
from edge_agent.detect.runtime import TFLiteDetector
from edge_agent.models_store import InstalledModel


def make_grids(size: tuple[int, int], strides: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per anchor: its grid cell (x, y) and its stride, in YOLOX's output order."""
    width, height = size
    cells: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for stride in strides:
        ys, xs = np.meshgrid(np.arange(height // stride), np.arange(width // stride), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        steps.append(np.full(xs.size, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(steps).astype(np.float32)


class YoloxDetector(TFLiteDetector):
    """YOLOX on TFLite: letterbox with 114 grey, decode grids, class-wise NMS."""

    def __init__(
        self, model: InstalledModel, *, threads: int = 2, score_threshold: float | None = None
    ) -> None:
        super().__init__(model, threads=threads, score_threshold=score_threshold)
        entry = model.entry
        self._pad_value = entry.input.pad_value
        self._grids, self._strides = make_grids(self.input_size, entry.strides or (8, 16, 32))
        classes = max(model.labels) + 1
        expected = (1, self._grids.shape[0], 5 + classes)
        shape = tuple(self._outputs[0]["shape"])
        if shape != expected:
            raise ValueError(f"{entry.name}: output shape {shape}, expected {expected}")
        # Per model class: the threshold of the label it maps to; +inf drops the class.
        self._class_thresholds = np.full(classes, np.inf, dtype=np.float32)
        for class_id, label in self.labels.items():
            self._class_thresholds[class_id] = self.thresholds[label]

    def preprocess(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, Any]:
        """Letterbox to 416×416 (top-left, grey 114), then 1×3×H×W float32 BGR 0–255."""
        canvas, meta = letterbox(frame_bgr, self.input_size, pad_value=self._pad_value)
        tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
        return tensor, meta

    def postprocess(self, raw: list[np.ndarray], meta: Any) -> list[Detection]:
        """Decode the anchors, keep those above their label's threshold, NMS per class."""
        assert isinstance(meta, LetterboxMeta)
        out = raw[0][0]
        class_ids = np.argmax(out[:, 5:], axis=1)
        scores = out[:, 4] * out[np.arange(out.shape[0]), 5 + class_ids]
        keep = np.nonzero(scores >= self._class_thresholds[class_ids])[0]
        if keep.size == 0:
            return []
        sel, stride = out[keep], self._strides[keep, None]
        centre = (sel[:, :2] + self._grids[keep]) * stride
        half = np.exp(sel[:, 2:4]) * stride / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        scores, class_ids = scores[keep], class_ids[keep]
        kept = batched_nms(boxes, scores, class_ids, self.nms_iou)
        frame_boxes = boxes_to_frame(boxes[kept], meta)
        return [
            Detection(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                score=float(scores[i]),
                label=self.labels[int(class_ids[i])],
            )
            for b, i in zip(frame_boxes, kept, strict=True)
            if b[2] > b[0] and b[3] > b[1]  # a box wholly in the padding clips to nothing
        ]
