"""Head classifiers for the experimental helmet rules: P(helmet) for a crop of a rider's head.

`BaselineHeadClassifier` is a colour rule made for the generated test scenes (bare heads are
drawn with dark hair, helmets in solid paint): it exercises the rule's logic and says nothing
about real streets. `TFLiteHeadClassifier` runs the small model `scripts/train/helmet.py`
trains; see that script for what its cross-validation does and does not show.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.rules.types import Box

Image = npt.NDArray[np.uint8]
MODEL_INPUT = 64  # the trained model's square input, pixels


class HeadClassifier(Protocol):
    """P(helmet) for a BGR crop of one head."""

    def helmet_probability(self, head_bgr: Image) -> float:
        """0 (bare head) .. 1 (helmet)."""
        ...


def crop(image: Image, box: Box) -> Image:
    """The box's pixels, clipped to the image (may be empty)."""
    height, width = image.shape[:2]
    x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
    x2, y2 = min(int(round(box[2])), width), min(int(round(box[3])), height)
    return image[y1 : max(y1, y2), x1 : max(x1, x2)]


class BaselineHeadClassifier:
    """Generated scenes only: a bare head shows dark hair, a helmet (drawn in paint) hides it."""

    def helmet_probability(self, head_bgr: Image) -> float:
        """Falls as the share of hair-dark pixels in the crop rises; 0.5 for an empty crop."""
        if head_bgr.size == 0 or min(head_bgr.shape[:2]) < 2:
            return 0.5  # nothing to judge: neither verdict
        # Hair anywhere in the crop, not only on top: a box a few pixels off shifts the head.
        value = cv2.cvtColor(head_bgr, cv2.COLOR_BGR2HSV)[..., 2].astype(np.float32) / 255
        hair = float(np.mean(value < 0.2))
        return float(1.0 / (1.0 + np.exp(40.0 * (hair - 0.08))))


class TFLiteHeadClassifier:
    """The trained head model (`scripts/train/helmet.py`): 64×64 RGB in 0..1, P(helmet) out."""

    def __init__(self, model_path: str | Path, threads: int = 1) -> None:
        interpreter_cls: Any = None
        for module in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
            try:
                interpreter_cls = importlib.import_module(module).Interpreter
                break
            except ImportError:
                continue
        if interpreter_cls is None:
            raise ImportError("thiếu runtime TFLite / no TFLite runtime (ai-edge-litert)")
        self._interpreter = interpreter_cls(model_path=str(model_path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def helmet_probability(self, head_bgr: Image) -> float:
        """The model's P(helmet)."""
        if head_bgr.size == 0:
            return 0.5
        rgb = cv2.cvtColor(cv2.resize(head_bgr, (MODEL_INPUT, MODEL_INPUT)), cv2.COLOR_BGR2RGB)
        tensor = (rgb.astype(np.float32) / 255.0)[None]
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        return float(np.ravel(self._interpreter.get_tensor(self._output))[0])
