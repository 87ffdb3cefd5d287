"""Read the signal head in a calibrated light region: which lamp is lit, and in which colour.

A hue vote over the crop is fooled by a blue sky or a red sign behind the head, and by the
washed-out amber that a camera renders almost white. Here each lamp is scored only where that lamp
sits (top, middle, bottom of a vertical head; left to right for a horizontal one) and only in its
own colour: a lit lamp is a saturated, bright spot of the right hue, stronger than its
surroundings (the local background is subtracted, so a uniform coloured panel scores nothing).
The lamp with the strongest score wins; when nothing is lit enough the reading is `unknown`
(a dark frame, the light hidden, a blinking amber's off half) and the timeline bridges it.

Hues are OpenCV's (0..180). The defaults were measured on the shared traffic-light crops;
`scripts/bench/rules.py` re-selects them inside each fold of a 5-fold cross-validation, so the
accuracy it reports is held-out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.signal.timeline import PhaseTimeline
from protocol.config import LightRegion
from protocol.enums import LampLayout, SignalPhase, SignalSource

logger = logging.getLogger(__name__)

FloatImage = npt.NDArray[np.float32]
LAMP_ORDER = (SignalPhase.red, SignalPhase.amber, SignalPhase.green)  # top (left) to bottom


@dataclass(frozen=True)
class LampHue:
    """A lamp's hue band: a triangle of `width` either side of `centre` (OpenCV hue units)."""

    centre: float
    width: float


@dataclass(frozen=True)
class ClassifierParams:
    """Tuning of the light classifier."""

    red: LampHue = LampHue(172.0, 16.0)
    amber: LampHue = LampHue(20.0, 18.0)
    green: LampHue = LampHue(88.0, 16.0)
    size: tuple[int, int] = (24, 72)  # crop resized to (width, height), lamps stacked vertically
    top_k: int = 20  # a lamp's score: mean of its this many strongest pixels
    lamp_reach: float = 0.34  # how far (share of the head's length) a lamp's weight reaches
    min_lit: float = 0.004  # below this no lamp counts as lit: the reading is unknown

    def hues(self) -> tuple[LampHue, LampHue, LampHue]:
        """Hue bands in lamp order (red, amber, green)."""
        return (self.red, self.amber, self.green)


@dataclass(frozen=True)
class LightReading:
    """One crop's verdict: the phase, a confidence 0..1 and each lamp's raw score."""

    phase: SignalPhase
    confidence: float
    scores: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))


def _hue_membership(hue: FloatImage, band: LampHue) -> FloatImage:
    distance = np.abs(((hue - band.centre + 90.0) % 180.0) - 90.0)  # hue is circular
    membership: FloatImage = np.clip(1.0 - distance / band.width, 0.0, 1.0).astype(np.float32)
    return membership


class LightClassifier:
    """Classifies a crop of one signal head (BGR, as OpenCV decodes it)."""

    def __init__(
        self, layout: LampLayout = LampLayout.vertical, params: ClassifierParams | None = None
    ) -> None:
        self.layout = layout
        self.params = params or ClassifierParams()
        width, height = self.params.size
        centres = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / height
        reach = self.params.lamp_reach
        self._weights = [
            np.clip(1.0 - np.abs(centres - (2 * i + 1) / 6) / reach, 0.0, 1.0) for i in range(3)
        ]

    def scores(self, crop_bgr: npt.NDArray[np.uint8]) -> tuple[float, float, float]:
        """Each lamp's lit score (red, amber, green), 0 for a dark lamp."""
        if crop_bgr.ndim != 3 or crop_bgr.shape[0] < 2 or crop_bgr.shape[1] < 2:
            return (0.0, 0.0, 0.0)
        if self.layout is LampLayout.horizontal:
            crop_bgr = np.ascontiguousarray(crop_bgr.transpose(1, 0, 2))  # left lamp on top
        small = cv2.resize(crop_bgr, self.params.size, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV).astype(np.float32)
        hue, lit = hsv[..., 0], (hsv[..., 1] / 255.0) * (hsv[..., 2] / 255.0)
        k = self.params.top_k
        out = []
        for band, weight in zip(self.params.hues(), self._weights, strict=True):
            colour = cv2.GaussianBlur(_hue_membership(hue, band) * lit, (5, 5), 0)
            # Subtract the surroundings: a lamp is a spot, a coloured panel or sky is not.
            spot = np.maximum(colour - cv2.GaussianBlur(colour, (0, 0), 8), 0.0)
            values = (spot * weight).ravel()
            out.append(float(np.partition(values, values.size - k)[-k:].mean()))
        return (out[0], out[1], out[2])

    def classify(self, crop_bgr: npt.NDArray[np.uint8]) -> LightReading:
        """The lit lamp's phase, or `unknown` when no lamp is lit enough."""
        scores = self.scores(crop_bgr)
        best = int(np.argmax(scores))
        top = scores[best]
        if top < self.params.min_lit:
            return LightReading(SignalPhase.unknown, 0.0, scores)
        second = sorted(scores)[-2]
        return LightReading(LAMP_ORDER[best], float(1.0 - second / top), scores)


def crop_region(image: npt.NDArray[np.uint8], region: LightRegion) -> npt.NDArray[np.uint8]:
    """The light region's pixels (clipped to the frame)."""
    x1, y1, x2, y2 = (int(round(v)) for v in region.box)
    height, width = image.shape[:2]
    x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
    y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
    return image[y1:y2, x1:x2]


class ClassifierSignal:
    """The classifier as a signal source: reads each frame's light region into a timeline."""

    def __init__(
        self,
        region: LightRegion,
        *,
        classifier: LightClassifier | None = None,
        timeline: PhaseTimeline | None = None,
        min_confidence: float = 0.2,
    ) -> None:
        self.region = region
        self.classifier = classifier or LightClassifier(region.layout)
        self.timeline = timeline or PhaseTimeline(SignalSource.classifier)
        self.min_confidence = min_confidence

    def observe_frame(self, image: npt.NDArray[np.uint8], captured_at: datetime) -> LightReading:
        """Classify the frame's light region and feed the timeline; returns the raw reading."""
        reading = self.classifier.classify(crop_region(image, self.region))
        # An ambiguous reading (two lamps nearly as strong) is treated as unreadable.
        phase = reading.phase if reading.confidence >= self.min_confidence else SignalPhase.unknown
        self.timeline.observe(captured_at, phase, reading.confidence)
        return reading

    def close(self) -> None:
        """Nothing to release."""
