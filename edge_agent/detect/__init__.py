"""Object detection on the box: the detector interface and its TFLite backends."""

from edge_agent.detect.base import (
    LABELS,
    VEHICLE_LABELS,
    Detection,
    Detector,
    StagedDetector,
)
from edge_agent.detect.factory import create_detector

__all__ = [
    "LABELS",
    "VEHICLE_LABELS",
    "Detection",
    "Detector",
    "StagedDetector",
    "create_detector",
]
