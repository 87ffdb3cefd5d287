"""The TFLite runtime: `ai-edge-litert` where it has wheels, the older `tflite_runtime` elsewhere.

`TFLiteDetector` holds what every TFLite model shares (the interpreter, thread count, the model's
identity and per-label thresholds); a subclass supplies `preprocess` and `postprocess`.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

import numpy as np

from edge_agent.detect.base import LABELS, Detection, label_map, validate_frame
from edge_agent.models_store import InstalledModel

logger = logging.getLogger(__name__)


def interpreter_class() -> Any:
    """The Interpreter class of whichever TFLite runtime this box has."""
    for module in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
        try:
            return importlib.import_module(module).Interpreter
        except ImportError:
            continue
    raise ImportError(
        "thiếu runtime TFLite / no TFLite runtime: pip install 'trafficwatch[edge]' "
        "(ai-edge-litert), or tflite-runtime where ai-edge-litert has no wheel"
    )


def thresholds_for(model: InstalledModel, score_threshold: float | None) -> dict[str, float]:
    """Per-label score thresholds: one value for all, or the manifest's tuned defaults."""
    if score_threshold is not None:
        return dict.fromkeys(LABELS, score_threshold)
    defaults = model.entry.score_thresholds
    missing = [label for label in LABELS if label not in defaults]
    if missing:
        raise ValueError(f"{model.entry.name}: score_thresholds lacks {missing}")
    return {label: defaults[label] for label in LABELS}


class TFLiteDetector:
    """The shared half of a TFLite detector; `detect` = postprocess(infer(preprocess(frame)))."""

    def __init__(
        self, model: InstalledModel, *, threads: int, score_threshold: float | None
    ) -> None:
        entry = model.entry
        self.name: str = entry.name
        self.version: str = entry.version
        self.sha256: str = model.sha256
        self.input_size: tuple[int, int] = (entry.input.width, entry.input.height)
        self.model = model
        self.thresholds = thresholds_for(model, score_threshold)
        self.labels = label_map(model.labels)  # model class id -> our label
        self.nms_iou = entry.nms_iou
        # The bytes that were hashed, not the path: what runs is exactly what was verified.
        self._interpreter: Any = interpreter_class()(
            model_content=model.content, num_threads=threads
        )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["name"])
        self._lock = threading.Lock()
        logger.info("detector %s %s loaded, %d threads", self.name, self.version, threads)

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run the network on one input tensor; copies of its output tensors (sorted by name)."""
        with self._lock:  # an interpreter is not thread-safe
            if self._interpreter is None:
                raise RuntimeError(f"detector {self.name} is closed")
            self._interpreter.set_tensor(self._input["index"], tensor)
            self._interpreter.invoke()
            return [np.array(self._interpreter.get_tensor(d["index"])) for d in self._outputs]

    def preprocess(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, Any]:
        """The model's input tensor and the geometry to map boxes back."""
        raise NotImplementedError

    def postprocess(self, raw: list[np.ndarray], meta: Any) -> list[Detection]:
        """Detections in frame pixels from the raw outputs."""
        raise NotImplementedError

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Objects in one H×W×3 uint8 BGR frame."""
        validate_frame(frame_bgr)
        tensor, meta = self.preprocess(frame_bgr)
        return self.postprocess(self.infer(tensor), meta)

    def close(self) -> None:
        """Drop the interpreter (its memory goes with it)."""
        with self._lock:
            self._interpreter = None
