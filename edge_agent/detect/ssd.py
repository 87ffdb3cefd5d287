"""SSD MobileNet V2 (TFLite, uint8, with the detection post-process built into the model).

The input is the whole frame stretched to 300×300 RGB (how the model was trained); the model
itself decodes and suppresses, returning at most 20 boxes (normalised ymin, xmin, ymax, xmax),
class ids in the labels file's COCO numbering, scores and a count.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from edge_agent.detect.base import Detection
from edge_agent.detect.runtime import TFLiteDetector
from edge_agent.models_store import InstalledModel


class SsdDetector(TFLiteDetector):
    """SSD with TFLite_Detection_PostProcess: resize, run, threshold, map classes."""

    def __init__(
        self, model: InstalledModel, *, threads: int = 2, score_threshold: float | None = None
    ) -> None:
        super().__init__(model, threads=threads, score_threshold=score_threshold)
        if len(self._outputs) != 4:
            raise ValueError(f"{model.entry.name}: expected 4 post-process outputs")

    def preprocess(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, Any]:
        """Stretch to 300×300, BGR→RGB, 1×H×W×3 uint8; meta is the frame's (width, height)."""
        resized = cv2.resize(frame_bgr, self.input_size, interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        return rgb[np.newaxis], (frame_bgr.shape[1], frame_bgr.shape[0])

    def postprocess(self, raw: list[np.ndarray], meta: Any) -> list[Detection]:
        """Scale the normalised boxes to the frame; keep our classes above their thresholds."""
        width, height = meta
        # Outputs sorted by name: boxes, classes, scores, count (TFLite_Detection_PostProcess:N).
        boxes, classes, scores, count = (
            r.reshape(-1, 4) if i == 0 else r.ravel() for i, r in enumerate(raw)
        )
        found: list[Detection] = []
        for i in range(min(int(count[0]), len(scores))):
            label = self.labels.get(int(classes[i]))
            if label is None or scores[i] < self.thresholds[label]:
                continue
            ymin, xmin, ymax, xmax = np.clip(boxes[i], 0.0, 1.0)
            box = (
                float(xmin * width),
                float(ymin * height),
                float(xmax * width),
                float(ymax * height),
            )
            found.append(Detection(box=box, score=float(scores[i]), label=label))
        return found
