"""Camera faults a person should hear about: no frames, a frozen picture, a dark picture.

Checks look at a sparse grid of raw pixels (every 8th row and column), sampled a few times a
second: cheap on a Pi, and raw pixels keep the sensor noise that tells a live camera from a
frozen one (a smoothed thumbnail of a static scene could look frozen when it is not).
"""

from __future__ import annotations

import time

import numpy as np

from edge_agent.capture.base import Frame, Image
from protocol.enums import CameraProblem

_GRID = 8


class CameraMonitor:
    """Watches frames and reports the camera's current problems."""

    def __init__(
        self,
        *,
        no_frames_s: float = 5.0,
        frozen_s: float = 10.0,
        dark_s: float = 5.0,
        dark_level: float = 16.0,
        sample_every_s: float = 0.25,
    ) -> None:
        self.no_frames_s = no_frames_s
        self.frozen_s = frozen_s
        self.dark_s = dark_s
        self.dark_level = dark_level
        self.sample_every_s = sample_every_s
        self._started = time.monotonic()
        self._last_frame_at: float | None = None
        self._last_sample_at = -1e9
        self._last_grid: Image | None = None
        self._same_since: float | None = None
        self._dark_since: float | None = None
        self.last_brightness: float | None = None

    def observe(self, frame: Frame) -> None:
        """Note a frame (cheap: most frames only update a timestamp)."""
        now = frame.monotonic
        self._last_frame_at = now
        if now - self._last_sample_at < self.sample_every_s:
            return
        self._last_sample_at = now
        grid = frame.image[::_GRID, ::_GRID]
        brightness = float(grid.mean())
        self.last_brightness = brightness
        if brightness < self.dark_level:
            self._dark_since = self._dark_since if self._dark_since is not None else now
        else:
            self._dark_since = None
        same = self._last_grid is not None and np.array_equal(grid, self._last_grid)
        if not same:
            self._same_since = None
        elif self._same_since is None:
            self._same_since = now
        self._last_grid = grid.copy()

    def problems(self, *, connected: bool, now: float | None = None) -> list[CameraProblem]:
        """The camera's problems now, given whether its stream is connected."""
        now = time.monotonic() if now is None else now
        found: list[CameraProblem] = []
        if not connected:
            found.append(CameraProblem.disconnected)
        last = self._last_frame_at if self._last_frame_at is not None else self._started
        if now - last > self.no_frames_s:
            found.append(CameraProblem.no_frames)
            return found  # frozen or dark describe frames; with none coming they are stale
        if self._same_since is not None and now - self._same_since >= self.frozen_s:
            found.append(CameraProblem.frozen)
        if self._dark_since is not None and now - self._dark_since >= self.dark_s:
            found.append(CameraProblem.dark)
        return found
