"""The traffic-light phase: a debounced timeline from a classifier, the controller or a plan."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge_agent.signal.classifier import (
    ClassifierParams,
    ClassifierSignal,
    LampHue,
    LightClassifier,
    LightReading,
)
from edge_agent.signal.controller import (
    ControllerSignal,
    LineReader,
    SerialLineReader,
    open_line,
    parse_token,
)
from edge_agent.signal.fixed_plan import FixedPlanTimeline
from edge_agent.signal.timeline import PhaseInterval, PhaseTimeline, PhaseTimelineView
from protocol.config import Calibration, SignalSection
from protocol.enums import SignalSource

__all__ = [
    "ClassifierParams",
    "ClassifierSignal",
    "ControllerSignal",
    "FixedPlanSignal",
    "FixedPlanTimeline",
    "LampHue",
    "LightClassifier",
    "LightReading",
    "LineReader",
    "PhaseInterval",
    "PhaseTimeline",
    "PhaseTimelineView",
    "SerialLineReader",
    "SignalInput",
    "create_signal",
    "parse_token",
]


class SignalInput(Protocol):
    """A running phase source: frames go in (the classifier reads them), a timeline comes out."""

    @property
    def timeline(self) -> PhaseTimelineView:
        """The phase timeline the rules read."""
        ...

    def observe_frame(self, image: npt.NDArray[np.uint8], captured_at: datetime) -> object:
        """Look at one frame (only the classifier does)."""
        ...

    def close(self) -> None:
        """Stop and release."""
        ...


class FixedPlanSignal:
    """A fixed plan as a signal input: nothing to observe, nothing to release."""

    def __init__(self, timeline: FixedPlanTimeline) -> None:
        self.timeline = timeline

    def observe_frame(self, image: npt.NDArray[np.uint8], captured_at: datetime) -> None:
        """Frames carry nothing for this source."""

    def close(self) -> None:
        """Nothing to release."""


def create_signal(section: SignalSection, calibration: Calibration) -> SignalInput:
    """The signal input the config asks for (the controller's thread already started)."""
    if section.source is SignalSource.fixed_plan:
        assert section.fixed_plan is not None  # the config's validator guarantees it
        return FixedPlanSignal(FixedPlanTimeline(section.fixed_plan))
    if section.source is SignalSource.controller:
        assert section.controller is not None
        controller = ControllerSignal(
            open_line(section.controller), active_high=section.controller.active_high
        )
        controller.start()
        return controller
    if calibration.light_region is None:
        raise ValueError("calibration.light_region: cần cho nguồn classifier (classifier needs it)")
    return ClassifierSignal(calibration.light_region)
