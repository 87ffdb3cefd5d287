"""Where a vehicle's ground point is over time: straight runs, stops and right turns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Path:
    """A densely sampled path of the ground point: seconds from the vehicle's start, x, y."""

    t: Array
    x: Array
    y: Array

    @property
    def duration(self) -> float:
        """Seconds from the first to the last sample."""
        return float(self.t[-1])

    def at(self, seconds: float) -> tuple[float, float]:
        """The ground point `seconds` after the start."""
        return (
            float(np.interp(seconds, self.t, self.x)),
            float(np.interp(seconds, self.t, self.y)),
        )

    def heading(self, seconds: float) -> float:
        """Direction of travel (image degrees) around `seconds`; 270 when it never moves."""
        for span in (0.1, 0.5, 2.0, 8.0):
            x0, y0 = self.at(seconds - span)
            x1, y1 = self.at(seconds + span)
            if math.hypot(x1 - x0, y1 - y0) >= 0.5:
                return math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360
        return 270.0

    def time_at_y(self, y: float) -> float:
        """The first time the path reaches height `y` going up (or down)."""
        for k in range(1, len(self.t)):
            if (self.y[k - 1] - y) * (self.y[k] - y) <= 0 and self.y[k - 1] != self.y[k]:
                f = (y - self.y[k - 1]) / (self.y[k] - self.y[k - 1])
                return float(self.t[k - 1] + f * (self.t[k] - self.t[k - 1]))
        raise ValueError(f"path never reaches y={y}")


class PathBuilder:
    """Builds a path piece by piece at a given speed (pixels per second)."""

    STEP_S = 0.02

    def __init__(self, x: float, y: float) -> None:
        self._t, self._x, self._y = [0.0], [x], [y]

    @property
    def point(self) -> tuple[float, float]:
        """Where the path is now."""
        return (self._x[-1], self._y[-1])

    def _add(self, seconds: float, x: float, y: float) -> None:
        self._t.append(self._t[-1] + seconds)
        self._x.append(x)
        self._y.append(y)

    def line_to(self, x: float, y: float, speed: float) -> PathBuilder:
        """Straight to (x, y) at `speed`."""
        x0, y0 = self.point
        length = math.hypot(x - x0, y - y0)
        steps = max(int(length / speed / self.STEP_S), 1)
        for k in range(1, steps + 1):
            self._add(length / speed / steps, x0 + (x - x0) * k / steps, y0 + (y - y0) * k / steps)
        return self

    def wait(self, seconds: float) -> PathBuilder:
        """Stand still."""
        if seconds > 0:
            self._add(seconds, *self.point)
        return self

    def turn_right(self, radius: float, speed: float) -> PathBuilder:
        """A quarter turn to the right, from travelling up the image to travelling right."""
        x0, y0 = self.point
        cx, cy = x0 + radius, y0
        steps = max(int(radius * math.pi / 2 / speed / self.STEP_S), 1)
        for k in range(1, steps + 1):
            phi = math.pi + (math.pi / 2) * k / steps
            self._add(
                radius * math.pi / 2 / speed / steps,
                cx + radius * math.cos(phi),
                cy + radius * math.sin(phi),
            )
        return self

    def build(self) -> Path:
        """The finished path."""
        return Path(np.asarray(self._t), np.asarray(self._x), np.asarray(self._y))
