"""A cheap motion gate: skip detection on still frames, as the best NVRs do.

Looks at a sparse grid of pixels (every 8th row and column, grey), so a 1080p frame costs a
fraction of a millisecond. It compares a frame with the last frame the detector saw, not with the
previous frame: slow motion (a queue creeping towards the stop line) adds up until it counts.
Motion is a share of grid pixels whose brightness changed by more than a noise margin.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.capture.base import Image

_GRID = 8


def _grid(image: Image) -> npt.NDArray[np.uint8]:
    sparse = np.ascontiguousarray(image[::_GRID, ::_GRID])
    return np.asarray(cv2.cvtColor(sparse, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


class MotionGate:
    """Says whether a frame differs from the last one the detector was shown."""

    def __init__(self, *, pixel_delta: int = 15, min_share: float = 0.002) -> None:
        self.pixel_delta = pixel_delta
        self.min_share = min_share
        self._seen: npt.NDArray[np.uint8] | None = None

    def moved(self, image: Image) -> bool:
        """True when `image` differs from the last seen one (nothing seen yet counts as motion)."""
        if self._seen is None:
            return True
        grey = _grid(image)
        if grey.shape != self._seen.shape:
            return True
        changed = cv2.absdiff(grey, self._seen) > self.pixel_delta
        return bool(np.count_nonzero(changed) >= self.min_share * changed.size)

    def seen(self, image: Image) -> None:
        """Remember the frame the detector just ran on."""
        self._seen = _grid(image)
