"""The stages' work: capture a frame, detect, track, hand the tracks to the rules.

The rule stage is a pluggable consumer of tracked frames. The violation rules are issue 5's; until
they exist `NoRules` receives every tracked frame, makes no evidence, and says so in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import numpy as np

from edge_agent.agent.messages import DetectedFrame, TrackedFrame
from edge_agent.agent.motion import MotionGate
from edge_agent.agent.stats import DetectCounters
from edge_agent.capture.base import Frame, StreamInfo
from edge_agent.capture.monitor import CameraMonitor
from edge_agent.capture.reconnect import ReconnectingSource
from edge_agent.tracking.bytetrack import ByteTracker, DetectionLike
from edge_agent.tracking.riders import RiderLinker

logger = logging.getLogger(__name__)


class DetectorLike(Protocol):
    """What the detect stage needs (`edge_agent.detect.base.Detector` fits)."""

    name: str
    version: str
    sha256: str

    def detect(self, frame_bgr: np.ndarray) -> Sequence[DetectionLike]:
        """Objects in one BGR frame."""
        ...

    def close(self) -> None:
        """Release the runtime."""
        ...


class RuleConsumer(Protocol):
    """The rule stage's plug: receives every tracked frame in order."""

    name: str

    def consume(self, tracked: TrackedFrame) -> None:
        """Judge one frame's tracks (pure logic; evidence goes through the outbox)."""
        ...

    def close(self) -> None:
        """Flush and release."""
        ...


FrameTap = Callable[[Frame], None]
"""Sees every frame capture delivers, before it goes downstream (the evidence buffer): cheap."""
OpenTap = Callable[[StreamInfo], None]
"""Told the stream's parameters whenever the source (re)opens, before that opening's frames."""
_T = TypeVar("_T")


class CaptureWorker:
    """Reads frames from a (reconnecting) source, watches the camera's health, feeds the taps."""

    def __init__(
        self,
        source: ReconnectingSource,
        monitor: CameraMonitor,
        taps: Sequence[FrameTap] = (),
        open_taps: Sequence[OpenTap] = (),
    ) -> None:
        self.source = source
        self.monitor = monitor
        self.taps = tuple(taps)
        self.open_taps = tuple(open_taps)
        self.tap_errors = 0
        self._opened: StreamInfo | None = None

    def handle(self, item: None) -> Sequence[Frame]:
        """One frame, or none while the camera is away; `EndOfStream` at a file's end."""
        frame = self.source.read()
        if frame is None:
            return ()
        self.monitor.observe(frame)
        info = self.source.info
        if info is not None and info is not self._opened:  # each (re)open makes a new info
            self._opened = info
            for open_tap in self.open_taps:
                self._tap(open_tap, info)
        for tap in self.taps:
            self._tap(tap, frame)
        return (frame,)

    def _tap(self, tap: Callable[[_T], None], arg: _T) -> None:
        """A tap that raises is logged and counted, never fatal to capture."""
        try:
            tap(arg)
        except Exception:
            self.tap_errors += 1
            if self.tap_errors == 1 or self.tap_errors % 1000 == 0:
                logger.exception("capture tap %r failed (%d failures)", tap, self.tap_errors)

    def close(self) -> None:
        """Close the camera."""
        self.source.close()


class DetectWorker:
    """Runs the detector on every Nth frame, and on those only when something moved."""

    def __init__(
        self,
        detector: DetectorLike,
        counters: DetectCounters,
        *,
        every_nth: int = 1,
        motion_gate: MotionGate | None = None,
        refresh_frames: int = 15,
    ) -> None:
        self.detector = detector
        self.counters = counters
        self.every_nth = every_nth
        self.gate = motion_gate
        # Even in a still scene detect now and then, so parked tracks stay alive for the tracker.
        self.refresh_frames = max(refresh_frames, every_nth)
        self._since = every_nth  # frames since the last detection: detect the first frame

    def handle(self, frame: Frame) -> Sequence[DetectedFrame]:
        """The frame with its detections, or with None when detection was skipped."""
        self._since += 1
        if not self._due(frame):
            self.counters.skip()
            return (DetectedFrame(frame, None),)
        self._since = 0
        if self.gate is not None:
            self.gate.seen(frame.image)
        started = time.perf_counter()
        detections = self.detector.detect(frame.image)
        ms = 1000 * (time.perf_counter() - started)
        self.counters.ran(ms, len(detections))
        return (DetectedFrame(frame, tuple(detections), ms),)

    def _due(self, frame: Frame) -> bool:
        if self._since < self.every_nth:
            return False
        if self.gate is None:
            return True
        return self.gate.moved(frame.image) or self._since >= self.refresh_frames

    def close(self) -> None:
        """Release the detector."""
        self.detector.close()


class TrackWorker:
    """Follows every object across frames and links riders to their motorbikes."""

    def __init__(self, tracker: ByteTracker, linker: RiderLinker | None = None) -> None:
        self.tracker = tracker
        self.linker = linker or RiderLinker()

    def handle(self, detected: DetectedFrame) -> Sequence[TrackedFrame]:
        """The frame's tracked objects and rider links."""
        objects = tuple(self.tracker.step(detected.frame.seq, detected.detections))
        riders = self.linker.update(objects)
        return (TrackedFrame(detected.frame, objects, riders, detected.detections is not None),)

    def close(self) -> None:
        """Nothing to release."""


class RuleWorker:
    """Hands every tracked frame to the rule consumer."""

    def __init__(self, consumer: RuleConsumer) -> None:
        self.consumer = consumer

    def handle(self, tracked: TrackedFrame) -> Sequence[None]:
        """Judge one frame; nothing goes further down the pipeline."""
        self.consumer.consume(tracked)
        return ()

    def close(self) -> None:
        """Close the consumer."""
        self.consumer.close()


class NoRules:
    """The rule stage before the rules exist: counts what it receives and emits nothing."""

    name = "none"

    def __init__(self, enabled: Sequence[str] = ()) -> None:
        self.frames = 0
        self.objects = 0
        logger.warning(
            "rule stage: no violation rules are implemented yet (issue 5); tracked objects are "
            "received and discarded, no evidence is made (rules enabled in the config: %s)",
            ", ".join(enabled) or "none",
        )

    def consume(self, tracked: TrackedFrame) -> None:
        """Count the frame and its objects."""
        self.frames += 1
        self.objects += len(tracked.objects)

    def close(self) -> None:
        """Log what was received."""
        logger.info(
            "rule stage (none): received %d frames, %d tracked objects", self.frames, self.objects
        )


RuleFactory = Callable[[], RuleConsumer]
