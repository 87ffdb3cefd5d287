"""What travels between the pipeline's stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edge_agent.capture.base import Frame
from edge_agent.tracking.bytetrack import DetectionLike, TrackedObject


@dataclass(frozen=True, eq=False)
class DetectedFrame:
    """A frame after the detect stage; `detections` is None when detection was skipped."""

    frame: Frame
    detections: Sequence[DetectionLike] | None
    detect_ms: float = 0.0


@dataclass(frozen=True, eq=False)
class TrackedFrame:
    """A frame with every tracked object and the riders of each motorbike: the rules' input."""

    frame: Frame
    objects: tuple[TrackedObject, ...]
    riders: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # bike id → person ids
    detected: bool = False  # whether the detector ran on this frame
