"""The detector interface: what a TFLite, Coral, Hailo or TensorRT backend must provide.

A detector takes a camera frame (H×W×3 uint8 BGR, as OpenCV decodes it) and returns boxes in that
frame's pixels with one of `LABELS`. Every backend names the exact weights it ran (`sha256`), which
each evidence packet records. One detector serves one thread at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

LABELS: tuple[str, ...] = (
    "car",
    "motorbike",
    "bus",
    "truck",
    "bicycle",
    "person",
    "traffic_light",
)
VEHICLE_LABELS: frozenset[str] = frozenset({"car", "motorbike", "bus", "truck"})

# COCO class names as the labels files spell them (darknet's and TF's spellings) -> our label.
# Every other COCO class is dropped at decoding.
COCO_NAME_TO_LABEL: dict[str, str] = {
    "person": "person",
    "bicycle": "bicycle",
    "car": "car",
    "motorbike": "motorbike",
    "motorcycle": "motorbike",
    "bus": "bus",
    "truck": "truck",
    "traffic light": "traffic_light",
    "traffic_light": "traffic_light",
}


@dataclass(frozen=True)
class Detection:
    """One detected object."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    score: float
    label: str  # one of LABELS


class Detector(Protocol):
    """What the agent needs from any detection backend."""

    name: str
    version: str
    sha256: str
    input_size: tuple[int, int]  # network input (width, height)

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Objects in one H×W×3 uint8 BGR frame."""
        ...

    def close(self) -> None:
        """Release the runtime; `detect` fails afterwards."""
        ...


class StagedDetector(Detector, Protocol):
    """A detector whose stages can be timed apart (the benchmark's baseline uses them)."""

    def preprocess(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, Any]:
        """The network's input tensor, and what `postprocess` needs to map boxes back."""
        ...

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run the network; its raw output tensors."""
        ...

    def postprocess(self, raw: list[np.ndarray], meta: Any) -> list[Detection]:
        """Decode, threshold, suppress and map classes; boxes in frame pixels."""
        ...


def label_map(class_names: dict[int, str]) -> dict[int, str]:
    """Model class id -> our label, for the classes we keep."""
    return {
        class_id: COCO_NAME_TO_LABEL[name.strip().lower()]
        for class_id, name in class_names.items()
        if name.strip().lower() in COCO_NAME_TO_LABEL
    }


def validate_frame(frame_bgr: np.ndarray) -> None:
    """Refuse anything but an H×W×3 uint8 image (a bad frame is the caller's to count)."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise ValueError(
            f"khung hình sai / bad frame: shape {frame_bgr.shape}, dtype {frame_bgr.dtype}"
        )
    if frame_bgr.shape[0] == 0 or frame_bgr.shape[1] == 0:
        raise ValueError("khung hình rỗng / empty frame")
