"""Stand-ins for the detector where the test is about the pipeline, not about detection."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FakeDetection:
    """A detection in `edge_agent.detect.base.Detection`'s shape."""

    box: tuple[float, float, float, float]
    score: float
    label: str


class BrightBoxDetector:
    """Finds the bright square of the synthetic clips: a real, if tiny, detector."""

    name = "bright-box"
    version = "1"
    sha256 = "0" * 64

    def __init__(self, delay_s: float = 0.0, fail_every: int = 0) -> None:
        self.delay_s = delay_s  # a slow device
        self.fail_every = fail_every  # every Nth call raises (a bad frame)
        self.calls = 0
        self.closed = False

    def detect(self, frame_bgr: np.ndarray) -> list[FakeDetection]:
        """The bounding box of pixels brighter than 200, labelled a car."""
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise ValueError("khung hình hỏng / corrupt frame")
        if self.delay_s:
            time.sleep(self.delay_s)
        ys, xs = np.nonzero(frame_bgr[:, :, 0] > 200)
        if len(xs) == 0:
            return []
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        return [FakeDetection(box, 0.9, "car")]

    def close(self) -> None:
        """Note the close."""
        self.closed = True


class HangingWorker:
    """A stage worker whose first call hangs until released (a wedged driver, say)."""

    def __init__(self, release: threading.Event, hang: bool) -> None:
        self.release = release
        self.hang = hang
        self.closed = False

    def handle(self, item: object) -> list[object]:
        """Echo the item; hang first if told to."""
        if self.hang:
            self.release.wait(30)
        return [item]

    def close(self) -> None:
        """Note the close."""
        self.closed = True
